/**
 * Plugin order is decided once, here: a plugin runs after the enabled plugins it names
 * in `after` (`'*'` = after all others; `name?` = only when that plugin is enabled); ties
 * are broken by name. A name that is not enabled (a typo, or a plugin switched off) is an
 * error, so a dependency is never dropped silently.
 */
import { suggest, type Diagnostic } from '@topoforge/model';
import type { PluginDefinition } from '@topoforge/plugin-contract';
import { byString } from './freeze.js';

interface Orderable {
  readonly definition: PluginDefinition<never>;
}

export function orderPlugins<P extends Orderable>(plugins: readonly P[]): { ordered: P[]; diagnostics: Diagnostic[] } {
  const names = plugins.map((p) => p.definition.name);
  const diagnostics: Diagnostic[] = [];
  const deps = new Map<string, Set<string>>();
  for (const p of plugins) {
    const after = p.definition.after;
    if (after === '*') {
      deps.set(p.definition.name, new Set(plugins.filter((q) => q !== p && q.definition.after !== '*').map((q) => q.definition.name)));
      continue;
    }
    const set = new Set<string>();
    for (const raw of after) {
      const optional = raw.endsWith('?');
      const name = optional ? raw.slice(0, -1) : raw;
      if (names.includes(name)) set.add(name);
      else if (!optional) {
        const guess = suggest(name, names);
        diagnostics.push({
          code: 'PLUGIN_UNKNOWN_DEPENDENCY',
          plugin: p.definition.name,
          message: `runs after "${name}", which is not an enabled plugin`,
          hint: guess ? `did you mean "${guess}"?` : `enabled: ${names.join(', ')}; write "${name}?" to run after it only when it is enabled`,
        });
      }
    }
    deps.set(p.definition.name, set);
  }
  const ordered: P[] = [];
  const done = new Set<string>();
  const remaining = [...plugins].sort((a, b) => byString(a.definition.name, b.definition.name));
  while (remaining.length > 0) {
    const i = remaining.findIndex((p) => [...deps.get(p.definition.name)!].every((d) => done.has(d)));
    if (i < 0) {
      diagnostics.push({
        code: 'PLUGIN_ORDER_CYCLE',
        message: `plugins wait for each other: ${remaining.map((p) => `${p.definition.name} (after ${[...deps.get(p.definition.name)!].join(', ')})`).join('; ')}`,
        hint: 'remove one of the "after" declarations',
      });
      break;
    }
    const [p] = remaining.splice(i, 1);
    done.add(p!.definition.name);
    ordered.push(p!);
  }
  return { ordered, diagnostics };
}
