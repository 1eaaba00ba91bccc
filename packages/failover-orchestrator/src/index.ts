export { parseConfig, ConfigError, ConfigSchema, type Config } from './config.js';
export { Decider, FAILOVER_ALERTS, FAILBACK_ALERT, type Decision, type Evidence, type WebhookAlert, type WebhookPayload } from './decider.js';
export { DryRunActuator, KubeActuator, type GslbActuator, type GslbRef } from './gslb.js';
export { Orchestrator, type AuditEntry, type Clock } from './orchestrator.js';
export { startServer } from './server.js';
