/** Plugin loading lives in @topoforge/plugin-host; re-exported for the engine's users. */
export { loadPlugins, type PluginLoadOptions } from '@topoforge/plugin-host';
