export * from './engine.js';
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
