/** Two plugins with one name would overwrite each other's options and output: refused. */
import type { Diagnostic } from '@topoforge/model';
import type { LoadedPlugin } from './loaded.js';

export function duplicateNames(plugins: readonly LoadedPlugin[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, LoadedPlugin>();
  for (const p of plugins) {
    const prev = seen.get(p.definition.name);
    if (prev)
      out.push({
        code: 'PLUGIN_DUPLICATE_NAME',
        plugin: p.definition.name,
        message: `two plugins are named "${p.definition.name}": ${prev.use.package} and ${p.use.package}`,
        hint: 'plugin names must be unique',
      });
    seen.set(p.definition.name, p);
  }
  return out;
}
