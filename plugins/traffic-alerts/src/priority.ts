// PriorityClass names and values, shared by the tiers, the platform class and the orchestrator.
/** PriorityClass per recovery tier: 1 gets capacity first in a degraded cluster. */
export const priorityClassName = (priority: number): string => `topoforge-recovery-p${priority}`;
export const priorityClassValue = (priority: number): number => 1_000_000 - priority * 10_000;
/**
 * Above every recovery tier: what failover itself depends on (ingress, monitoring, the
 * session cache, the promotion gate, the failover orchestrator) gets capacity before any app.
 */
export const PLATFORM_PRIORITY_CLASS = 'topoforge-platform';
export const PLATFORM_PRIORITY_VALUE = 1_000_000;
