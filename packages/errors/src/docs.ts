/** docs/errors.md, generated from the catalog (a test compares the file with this). */
import { ERRORS } from './errors-data.js';

const AREAS: readonly (readonly [string, string])[] = [
  ['TOPOLOGY_', 'Topology files'],
  ['PLUGIN_', 'Plugins'],
  ['RENDER_', 'Render'],
  ['GITOPS_', 'GitOps (diff, publish)'],
  ['PROMOTE_', 'Promotion (verify, promote)'],
];

export function errorsMarkdown(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- generated from packages/errors/src/errors-data.ts by `pnpm --filter @topoforge/errors docs`; do not edit -->',
    '',
    'Every problem topoforge reports has a permanent code. The message printed with it names',
    'the file, line, column, field, plugin and object; this page says what each code means in',
    'general and what to do. Exit code 2 for all of them (nothing was written).',
    '',
  ];
  for (const [prefix, heading] of AREAS) {
    lines.push(`## ${heading}`, '');
    for (const [code, e] of Object.entries(ERRORS).filter(([c]) => c.startsWith(prefix))) {
      lines.push(`### \`${code}\` — ${e.title}`, '', e.message, '', `**What to do:** ${e.hint}`, '');
    }
  }
  return lines.join('\n');
}
