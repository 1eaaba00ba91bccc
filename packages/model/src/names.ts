/** DNS-1123 label: what Kubernetes accepts as a name, and safe in YAML keys and file paths. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_LABEL_PATTERN = DNS_LABEL.source;

export function isDnsLabel(s: string): boolean {
  return DNS_LABEL.test(s);
}

/*
 * Patterns of the model's values that are not its own names but end up where another system
 * has rules: a Kubernetes object name or data key, a bucket, a Velero provider, a database name
 * in a pgBackRest stanza directory and a psql connection, a kubeconfig context in argv. Each is
 * the tightest pattern that is still correct where the value goes (JSON Schema patterns: strings).
 */

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

/** DNS-1123 subdomain (Secret and ConfigMap names): labels joined by dots, at most 253 characters. */
export const DNS_SUBDOMAIN_PATTERN = `^${LABEL}(\\.${LABEL})*$`;
export const DNS_SUBDOMAIN_MAX = 253;

/** A key of a Secret's or ConfigMap's data (Kubernetes' IsConfigMapKey): not `.`, not starting with `..`. */
export const DATA_KEY_PATTERN = '^(?!\\.$)(?!\\.\\.)[-._a-zA-Z0-9]+$';
export const DATA_KEY_MAX = 253;

/**
 * A bucket (or container) name of the object stores Velero's providers write to: lower-case
 * letters, digits, ".", "-" and "_", starting and ending with a letter or digit, 3-222
 * characters. The union of their rules, not the strictest: S3 and Azure refuse "_" and more
 * than 63 characters, GCS takes both (222 with dots), and refusing a GCS bucket would leave its
 * users no way round; a name the store refuses is reported by Velero's BackupStorageLocation.
 * Never "/", a space, a quote or upper case: none of the stores takes them.
 */
export const BUCKET_PATTERN = '^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$';

/** A Velero object store provider: `aws`, or a plugin's `<DNS subdomain>/<name>` such as `velero.io/aws`. */
export const OBJECT_STORE_PROVIDER_PATTERN = `^(${LABEL}(\\.${LABEL})*/)?${LABEL}$`;

/**
 * A database name: the pgBackRest stanza (a directory of the backup repository), the name psql
 * connects to, and a MySQL or MongoDB database: a letter or "_", then letters, digits, "_" and
 * "-", at most 63 characters (PostgreSQL's limit). No "/", ".", quotes, "=" or spaces.
 */
export const DATABASE_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]{0,62}$';

/**
 * A kubeconfig context name: whatever kubeconfig allows (`arn:aws:eks:eu-west-1:1:cluster/x`,
 * `admin@prod`), except what is unsafe in argv and on a terminal: whitespace, control and bidi
 * characters, and a leading "-" (`kubectl --context -x` reads like an option).
 */
const NOT_IN_CONTEXT = '\\s\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff';
export const KUBE_CONTEXT_PATTERN = `^[^-${NOT_IN_CONTEXT}][^${NOT_IN_CONTEXT}]*$`;
export const KUBE_CONTEXT_MAX = 253;

/**
 * Namespaces Kubernetes owns: `default`, and the `kube-` prefix it reserves for its own
 * (`kube-system`, `kube-public`, `kube-node-lease`). A service there would make topoforge emit
 * the Namespace as the service's, and removing the service would prune it.
 */
export function isKubernetesNamespace(name: string): boolean {
  return name === 'default' || name.startsWith('kube-');
}
