import { Type } from '@topoforge/bundled-deps/typebox';
import { DNS_LABEL_PATTERN } from '@topoforge/model/core';

/**
 * An option that names a namespace or an object: a DNS-1123 label, as Kubernetes requires. It
 * becomes a segment of output paths and a name the cluster must accept, so a wrong one
 * ("Flagger System", "..") is PLUGIN_INVALID_OPTIONS at the option, instead of an error without
 * a position for every DC about the path it produced.
 */
export function KubernetesName(description: string, def?: string) {
  return Type.String({
    ...(def === undefined ? {} : { default: def }),
    pattern: DNS_LABEL_PATTERN,
    description: `${description} (a DNS-1123 label: lower-case letters, digits and "-")`,
  });
}
