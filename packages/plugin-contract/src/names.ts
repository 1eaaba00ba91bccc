import { Type } from '@topoforge/bundled-deps/typebox';
import { DNS_LABEL_PATTERN } from '@topoforge/model/core';
import type { CheckContext } from './types.js';

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

/**
 * An option of labels for the objects a Prometheus selects (PrometheusRule `ruleSelector`,
 * ServiceMonitor `serviceMonitorSelector`): a default kube-prometheus-stack selects only those
 * labelled `release: <its release>` and silently ignores the others.
 */
export function SelectorLabels(description: string) {
  return Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_./-]*$' }), Type.String(), { default: {}, description });
}

/** `{ labels }` for an object's metadata, or nothing when there are none (no empty `labels: {}` rendered). */
export const labelsIfAny = (labels: Readonly<Record<string, string>>): { labels?: Record<string, string> } =>
  Object.keys(labels).length > 0 ? { labels: { ...labels } } : {};

/** A namespace a plugin puts its own objects in, and the option that configures it. */
export interface PluginNamespace {
  readonly namespace: string;
  /**
   * The option's field in the environment, e.g. `plugins.velero.options.namespace`; absent
   * for a namespace the plugin fixes (session-cache's `session-cache`).
   */
  readonly option?: string;
  /** Who uses it, as the subject of "… uses": `Velero`, `the failover orchestrator`. */
  readonly what: string;
}

/**
 * Reports every service whose namespace is one of the plugin's own (as configured, so the check
 * follows the option). The namespaces plugin would emit that Namespace as the service's: topoforge
 * would own a namespace it does not own, and removing the service would delete it with everything
 * the plugin (or the platform under it) keeps there. The error is at the service's `namespace`, or
 * at its name when the namespace is the name.
 */
export function checkNamespaceCollisions(ctx: Pick<CheckContext<unknown>, 'env' | 'error'>, own: Iterable<PluginNamespace>): void {
  const byNamespace = new Map<string, PluginNamespace>();
  for (const o of own) if (!byNamespace.has(o.namespace)) byNamespace.set(o.namespace, o);
  const services = (ctx.env.input?.['services'] ?? {}) as Readonly<Record<string, unknown>>;
  for (const s of ctx.env.services) {
    const o = byNamespace.get(s.namespace);
    if (!o) continue;
    const input = services[s.name];
    const explicit = typeof input === 'object' && input !== null && Object.hasOwn(input, 'namespace');
    ctx.error(
      `service "${s.name}" would run in namespace "${s.namespace}", which ${o.what} uses${o.option ? ` (${o.option})` : ''}: topoforge would emit it as the service's Namespace, and removing the service would delete it`,
      {
        field: explicit ? `services.${s.name}.namespace` : `services.${s.name}`,
        code: 'TOPOLOGY_NAME_COLLISION',
        at: explicit ? 'value' : 'key',
        hint: `${explicit ? 'set another namespace' : 'rename the service or set its namespace'}${o.option ? `, or set ${o.option} to another namespace` : ''}`,
      },
    );
  }
}
