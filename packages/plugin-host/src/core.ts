/**
 * What recognises a rendered tree without loading a plugin: the index's name, plugin and
 * directory fingerprints, where a plugin specifier resolves to. It imports neither the
 * template engine nor the schema library, so `check` answering from its record loads neither
 * (issue 19: module loading off the hot path).
 */
export { INDEX_FILE } from './paths.js';
export { fingerprintDirectory, pluginFingerprint, type FingerprintCache } from './units.js';
export { resolvePlugin, type PluginLoadOptions } from './resolve.js';
