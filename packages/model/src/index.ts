export * from './diagnostics.js';
export { byName, byString, isObject } from './compare.js';
export * from './names.js';
export * from './model.js';
export { loadEnvironment, loadEnvironments, readTopologyFile, TopologyReadError, type LoadOptions } from './load.js';
export { BUILTIN_KINDS } from './resolve.js';
export { checkSchema, suggest, type SchemaCheckOptions } from './validate-schema.js';
export { locate, pointerToField, escapePointer, parseYamlSource, YAML_LIMITS, type SourceMap, type Located } from './source.js';
export * from './schema.js';
export {
  parseLedger,
  ledgerRefusal,
  passedVersions,
  recordedImages,
  testStandOf,
  unverifiedVersions,
  untestedImages,
  EMPTY_LEDGER,
  type Ledger,
} from './ledger.js';
export { inputValues, provenancePointers, withinPointers, type InputValue, type ProvenanceScope } from './provenance.js';
