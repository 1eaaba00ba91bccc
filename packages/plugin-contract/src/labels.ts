/** The labels topoforge sets on every emitted object; one place, read by host, review rules and plugins. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_ENVIRONMENT = 'topoforge.io/environment';
export const LABEL_SERVICE = 'topoforge.io/service';
export const LABEL_DC = 'topoforge.io/dc';
export const MANAGED_BY = 'topoforge';
