/** Human-readable text of `topoforge plan`: placement, recovery order, plugin sections. */
import type { Environment } from '@topoforge/model';
import type { PlanReport } from './engine.js';

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function placementTable(env: Environment): string {
  const header = ['service', 'prio', ...env.dataCenters.map((d) => d.name)];
  const rows = env.services.map((s) => [s.name, String(s.recoveryPriority), ...env.dataCenters.map((d) => (s.dataCenters.includes(d.name) ? 'x' : '.'))]);
  const regions = ['region', '', ...env.dataCenters.map((d) => d.region)];
  return table(header, [regions, ...rows]);
}

export function formatPlan(reports: readonly PlanReport[]): string {
  const parts: string[] = [];
  for (const { env, sections } of reports) {
    parts.push(`# ${env.name} (${env.stage}): ${env.dataCenters.length} DCs, ${env.regions.length} regions, ${env.services.length} services`);
    parts.push(`\n## Placement (x = runs there)\n\n${placementTable(env)}`);
    parts.push(`\n## Recovery order\n\n${env.recoveryOrder.map((t) => `${t.priority}. ${t.services.join(', ')}`).join('\n')}`);
    for (const { plugin, sections: ss } of sections) {
      for (const s of ss) parts.push(`\n## ${s.title} [${plugin}]\n\n${s.body.trimEnd()}`);
    }
    parts.push('');
  }
  return parts.join('\n').trimEnd() + '\n';
}
