// The engine's API, named: engine.ts also exports what check.ts imports when it renders.
export { check } from './check.js';
export { sourceId, sourceIdentity, unitSalt } from './recorded.js';
export {
  plan,
  render,
  renderInMemory,
  unsafeOutput,
  type PlanReport,
  type RenderedEnvironment,
  type RenderRequest,
  type RenderSummary,
  type StreamedRendering,
  type WriteRequest,
} from './engine.js';
export { loadPlugins, type PluginLoadOptions } from './plugins.js';
export {
  writeTree,
  recover,
  readIndex,
  interruptedWork,
  LOCK_FILE,
  listTree,
  renderedEnvironments,
  sha256,
  PreviousTree,
  STATE_DIR,
  type EnvironmentChange,
  type EnvironmentIndex,
  type IndexEntry,
  type WriteOptions,
} from './tree.js';
export { prescanOutput, type Prescan } from './scan.js';
export { formatPlan } from './plan-format.js';
export { environmentSchema, schemaForEnvironments, type JsonSchema } from './schema.js';
