/** DNS-1123 label: what Kubernetes accepts as a name, and safe in YAML keys and file paths. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_LABEL_PATTERN = DNS_LABEL.source;

export function isDnsLabel(s: string): boolean {
  return DNS_LABEL.test(s);
}
