/** The labels topoforge sets on every emitted object; one place, read by host, review rules and plugins. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_ENVIRONMENT = 'topoforge.io/environment';
export const LABEL_SERVICE = 'topoforge.io/service';
export const LABEL_DC = 'topoforge.io/dc';
/** On pods and workloads (plugins/workloads): the service's tier, `client-facing` or `regional`. */
export const LABEL_TIER = 'topoforge.io/tier';
/** On pods, workloads and namespaces: the service's recovery priority (1 recovers first). */
export const LABEL_RECOVERY_PRIORITY = 'topoforge.io/recovery-priority';
export const MANAGED_BY = 'topoforge';
