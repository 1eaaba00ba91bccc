export * from './types.js';
export { definePlugin } from './define.js';
export { runPlugins, runPlanHooks, checkDefinition, type LoadedPlugin, type RunOptions } from './runner.js';
export { orderPlugins } from './order.js';
export { pathProblem, defaultObjectPath, INDEX_FILE } from './paths.js';
export { renderTemplate } from './templates.js';
export * from './labels.js';
export { Type, type Static, type TSchema } from '@sinclair/typebox';
