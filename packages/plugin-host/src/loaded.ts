import type { PluginUse } from '@topoforge/model';
import type { PluginDefinition } from '@topoforge/plugin-contract';

/** A plugin definition with the environment entry that enabled it. */
export interface LoadedPlugin {
  // The host treats every plugin alike; option types are checked by the schema at run time.
  readonly definition: PluginDefinition<never>;
  readonly use: PluginUse;
  /** A hash of the plugin's code when it was loaded from a file (see units.ts); plugins given in code have none, and are never carried. */
  readonly fingerprint?: string;
}
