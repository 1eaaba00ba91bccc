export { parseConfig, ConfigError, ConfigSchema, type Config } from './config.js';
export { Decider, FAILOVER_ALERTS, FAILBACK_ALERT, MAX_BACKOFF, type Decision, type Evidence, type WebhookAlert, type WebhookPayload } from './decider.js';
export { DryRunActuator, KubeActuator, type GslbActuator, type GslbRef, type GslbState } from './gslb.js';
export { BACKOFF_ANNOTATION, FUTURE_TOLERANCE_MS, decodeBackoff, encodeBackoff, type BackoffRecord, type CellBackoff, type Decoded } from './backoff.js';
export { Orchestrator, type AuditEntry, type Clock, type Leadership } from './orchestrator.js';
export { startServer, type ServerOptions } from './server.js';
export { WebhookAuth, TokenFileError, parseTokenFile, MAX_TOKEN_FILE_BYTES, type AuthResult } from './webhook-auth.js';
export {
  QuorumLease,
  type LeaseApi,
  type LeaseSpec,
  type StoredLease,
  type LeaseResult,
  type LeaseError,
  type LeaseErrorCode,
  type ElectionTiming,
  type ElectionView,
  type ClusterLeaseView,
  type LeadershipChange,
  type MonotonicClock,
} from './election.js';
export { KubeLeaseApi } from './kube-lease.js';
