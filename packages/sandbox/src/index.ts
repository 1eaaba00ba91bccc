export { SandboxError, type SandboxErrorCode } from './errors.js';
export {
  collectCrds,
  envExports,
  kubectlSync,
  liveProcesses,
  readState,
  shQuote,
  startSandbox,
  stopSandbox,
  toolsAvailable,
  PREREQUISITE_NAMESPACES,
  type SandboxCluster,
  type SandboxClusterSpec,
  type SandboxOptions,
  type SandboxProcess,
  type SandboxState,
} from './sandbox.js';
export { lookupTool, requireTool, toolsCacheBinDir, toolsPathDir, SETUP_HINT, type ToolName } from './tools.js';
export { clustersOfEnvironment } from './environment.js';
export { httpExchange } from './http.js';
