export { parseGateConfig, readGateConfig, ConfigError, GateConfig, GateEntry } from './config.js';
export { parsePayload, HOOK_TYPES, PHASES, WebhookPayload, type HookType } from './payload.js';
export { parseImage, type ImageRef } from './image.js';
export { kubeDeploymentReader, kubeConfig, type DeploymentReader, type DeploymentRead, type ReadFailure, type KubeReaderOptions } from './kube.js';
export { decide, undecided, type Decision, type DecideContext } from './decide.js';
export { EvidenceStore, type Evidence } from './evidence.js';
export { createGateServer, type GateServer, type GateServerOptions } from './server.js';
