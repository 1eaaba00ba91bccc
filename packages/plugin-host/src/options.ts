/**
 * Options: every plugin's options are validated against its schema before anything runs
 * (all problems at once, with positions), defaults filled in, then frozen.
 */
import { checkSchema, type Diagnostic, type Environment } from '@topoforge/model';
import { deepFreeze } from './freeze.js';
import type { LoadedPlugin } from './loaded.js';

export function resolveOptions(env: Environment, plugins: readonly LoadedPlugin[]): { options: Map<string, unknown>; diagnostics: Diagnostic[] } {
  const options = new Map<string, unknown>();
  const diagnostics: Diagnostic[] = [];
  for (const p of plugins) {
    const data = structuredClone(p.use.options) as unknown;
    diagnostics.push(
      ...checkSchema(p.definition.options, data, env.sourceMap, {
        basePointer: `/plugins/${p.use.name}/options`,
        code: 'PLUGIN_INVALID_OPTIONS',
        plugin: p.definition.name,
        useDefaults: true,
      }),
    );
    options.set(p.definition.name, deepFreeze(data));
  }
  return { options, diagnostics };
}
