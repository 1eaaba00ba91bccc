/**
 * The plugin host: everything between an environment and the files a render produces.
 * Plugins import @topoforge/plugin-contract only; the engine and the test harness use this.
 */
export { runPlugins, streamPlugins, type RunOptions, type StreamedEnvironment } from './run.js';
export { OutputPipeline, type FileSink, type OutputFile, type OutputValidator } from './output.js';
export { runPlanHooks } from './plan.js';
export { loadPlugins, resolvePlugin, type PluginLoadOptions } from './load.js';
export { checkDefinition } from './envelope.js';
export { orderPlugins } from './order.js';
export { resolveOptions } from './options.js';
export { checkPolicies, type PolicyCheckOptions } from './policies.js';
export { runChecks } from './check.js';
export { Claims } from './claims.js';
export { deepFreeze, frozenCopy } from './freeze.js';
export { Layout, layoutProblems, objectName } from './validate.js';
export { pathProblem, defaultObjectPath, INDEX_FILE } from './paths.js';
export { renderTemplate } from './templates.js';
export type { LoadedPlugin } from './loaded.js';
export {
  fingerprintDirectory,
  pluginFingerprint,
  serviceView,
  type FingerprintCache,
  unitKey,
  type CarriedFile,
  type CarriedUnit,
  type LayoutNote,
  type UnitStore,
  type UnitTag,
} from './units.js';
