import type { PluginUse } from '@topoforge/model';
import type { PluginDefinition } from '@topoforge/plugin-contract';

/** A plugin definition with the environment entry that enabled it. */
export interface LoadedPlugin {
  // The host treats every plugin alike; option types are checked by the schema at run time.
  readonly definition: PluginDefinition<never>;
  readonly use: PluginUse;
  /** The file it was imported from; plugins given in code have none, and their units are never carried. */
  readonly file?: string;
  /** A hash of the plugin's code (see units.ts); computed from `file` when a render first needs it. */
  readonly fingerprint?: string;
}
