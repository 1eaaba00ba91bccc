/**
 * Plugin order is decided once, here: a plugin runs after the enabled plugins it names
 * in `after` (`'*'` = after all others); ties are broken by name.
 */
import type { Diagnostic } from '@topoforge/model';
import type { PluginDefinition } from './types.js';

export function orderPlugins<P extends { definition: PluginDefinition<never> }>(plugins: readonly P[]): { ordered: P[]; diagnostics: Diagnostic[] } {
  const names = plugins.map((p) => p.definition.name);
  const deps = new Map<string, Set<string>>();
  for (const p of plugins) {
    const after = p.definition.after;
    const set = new Set<string>(after === '*' ? names.filter((n) => n !== p.definition.name && plugins.find((q) => q.definition.name === n)!.definition.after !== '*') : after.filter((n) => names.includes(n)));
    deps.set(p.definition.name, set);
  }
  const ordered: P[] = [];
  const done = new Set<string>();
  const remaining = [...plugins].sort((a, b) => (a.definition.name < b.definition.name ? -1 : 1));
  while (remaining.length > 0) {
    const i = remaining.findIndex((p) => [...deps.get(p.definition.name)!].every((d) => done.has(d)));
    if (i < 0) {
      return {
        ordered,
        diagnostics: [
          {
            code: 'PLUGIN_ORDER_CYCLE',
            message: `plugins wait for each other: ${remaining.map((p) => `${p.definition.name} (after ${[...deps.get(p.definition.name)!].join(', ')})`).join('; ')}`,
            hint: 'remove one of the "after" declarations',
          },
        ],
      };
    }
    const [p] = remaining.splice(i, 1);
    done.add(p!.definition.name);
    ordered.push(p!);
  }
  return { ordered, diagnostics: [] };
}
