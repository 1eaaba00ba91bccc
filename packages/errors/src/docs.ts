/** docs/errors.md, generated from the catalog (a test compares the file with this). */
import { ERRORS } from './errors-data.js';

const AREAS: readonly (readonly [readonly string[], string])[] = [
  [['TOPOLOGY_'], 'Topology files'],
  [['PLUGIN_', 'TRAFFIC_', 'VELERO_'], 'Plugins'],
  [['RENDER_'], 'Render'],
  [['GITOPS_'], 'GitOps (diff, publish)'],
  [['PROMOTE_'], 'Promotion (verify, promote)'],
  [['DRILL_'], 'Drills (topoforge drill)'],
  [['SANDBOX_'], 'Sandbox clusters (topoforge sandbox)'],
  [['GATE_', 'ORCHESTRATOR_', 'WEBHOOK_', 'CLOCK_', 'SESSION_CACHE_'], 'Services topoforge ships (promotion gate, failover orchestrator, session cache)'],
  [['CRON_', 'YAML_EMIT_'], 'Libraries'],
];

/** The area prefixes a code may start with. */
export const AREA_PREFIXES: readonly string[] = AREAS.flatMap(([prefixes]) => prefixes);

export function errorsMarkdown(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- generated from packages/errors/src/errors-data.ts by `pnpm --filter @topoforge/errors docs`; do not edit -->',
    '',
    'Every problem topoforge reports has a permanent code. The message printed with it names',
    'the file, line, column, field, plugin and object; this page says what each code means in',
    'general and what to do. A command that reports one exits non-zero; render, check, diff and',
    'publish write nothing when they do.',
    '',
  ];
  for (const [prefixes, heading] of AREAS) {
    lines.push(`## ${heading}`, '');
    for (const [code, e] of Object.entries(ERRORS).filter(([c]) => prefixes.some((p) => c.startsWith(p)))) {
      lines.push(`### \`${code}\` — ${e.title}`, '', e.message, '', `**What to do:** ${e.hint}`, '');
    }
  }
  return lines.join('\n');
}
