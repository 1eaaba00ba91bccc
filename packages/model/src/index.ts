export * from './diagnostics.js';
export * from './names.js';
export * from './model.js';
export { loadEnvironment, loadEnvironments, readTopologyFile, TopologyReadError, type LoadOptions } from './load.js';
export { BUILTIN_KINDS, maxWeekdayGap } from './resolve.js';
export { checkSchema, suggest, type SchemaCheckOptions } from './validate-schema.js';
export { locate, pointerToField, escapePointer, parseYamlSource, YAML_LIMITS, type SourceMap, type Located } from './source.js';
export * from './schema.js';
