/**
 * The diff as markdown for a pull-request comment, and as plain text for a commit message.
 * Risk flags come first; then per environment and plugin a table of object changes.
 * Output is deterministic and bounded (GitHub rejects comments over 65536 characters).
 */
import type { DiffReport, EnvironmentDiff, FileChange, ObjectChange } from './diff.js';
import { SEVERITY_ORDER, type RiskFlag, type Severity } from './risks.js';
import { causeText, type InputChange } from './provenance.js';
import { redactSecrets } from '@topoforge/secret-scan';
import { pathNamesDc } from './fold.js';

/** Marks the comment so the CI job can update it instead of adding a new one. */
export const COMMENT_MARKER = '<!-- topoforge-diff -->';

export interface MarkdownOptions {
  /** Names of the two sides, e.g. `origin/main` and `this pull request`. */
  readonly beforeLabel?: string;
  readonly afterLabel?: string;
  /** Upper bound on the text length; rows beyond it are left out with a note. */
  readonly maxChars?: number;
  /** Changed fields shown per row. */
  readonly maxFields?: number;
}

const SYMBOL: Record<ObjectChange['type'], string> = { added: '+', changed: '~', removed: '−' };

const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const code = (s: string) => (s.includes('`') ? s : `\`${s}\``);

export function listWhere(where: readonly string[], max = 6): string {
  if (where.length === 0) return '';
  if (where.length <= max) return where.join(', ');
  return `${where.slice(0, max - 1).join(', ')} and ${where.length - max + 1} more (${where.length})`;
}

function objectName(c: Pick<ObjectChange, 'kind' | 'namespace' | 'name'>): string {
  return `${c.kind} ${c.namespace ? `${c.namespace}/` : ''}${c.name}`;
}

/** The object cell: the name, and how many objects a row folds when more than one per DC. */
const objectCell = (c: ObjectChange): string => `${objectName(c)}${c.paths.length > Math.max(1, c.where.length) ? ` (${c.paths.length} objects)` : ''}`;

export function countsText(e: EnvironmentDiff): string {
  if (e.status === 'unchanged') return 'no changes';
  const parts = (['added', 'changed', 'removed'] as const).filter((t) => e.counts[t] > 0).map((t) => `${e.counts[t]} ${t}`);
  const prefix = e.status === 'added' ? 'new environment: ' : e.status === 'removed' ? 'environment removed: ' : '';
  return prefix + parts.join(', ');
}

export function flagLine(f: RiskFlag): string {
  const where = f.where.length > 0 ? ` in ${listWhere(f.where)}` : '';
  return `${f.title} (${f.severity}) · ${f.environment} · ${f.subject}${where}: ${f.detail}`;
}

/** A shape and a word per severity: readable without colour. */
const SEVERITY_MARK: Readonly<Record<Severity, string>> = { critical: '⛔ critical', high: '🔺 high', medium: '🔸 medium', low: '▫️ low' };

/** Most severe first; stable within a severity. */
export function orderFlags(flags: readonly RiskFlag[]): RiskFlag[] {
  return flags
    .map((f, i) => [f, i] as const)
    .sort(([x, i], [y, j]) => SEVERITY_ORDER.indexOf(x.severity) - SEVERITY_ORDER.indexOf(y.severity) || i - j)
    .map(([f]) => f);
}

/** "because `environments/base.yaml:42` changed `…` 7 → 5" (at most `max` causes). */
export function becauseText(because: readonly InputChange[] | undefined, max = 3): string {
  if (!because || because.length === 0) return '';
  const shown = because.slice(0, max).map(causeText);
  return `because ${shown.join('; ')}${because.length > max ? `; and ${because.length - max} more` : ''}`;
}

function flagItem(f: RiskFlag): string[] {
  const where = f.where.length > 0 ? ` in ${listWhere(f.where)}` : '';
  const lines = [`- [ ] ${SEVERITY_MARK[f.severity]} · **${f.title}** · ${f.environment} · ${f.subject}${where}: ${f.detail}`, `  - why it matters: ${f.why}`];
  const because = becauseText(f.because);
  if (because) lines.push(`  - ${because}`);
  if (f.explains.length > 0) lines.push(`  - also explains (not flagged again): ${f.explains.join('; ')}`);
  return lines;
}

function fieldsText(c: ObjectChange, max: number): string {
  const shown = c.fields.slice(0, max).map((f) => `${code(f.path)}: ${f.before} → ${f.after}${f.variants ? ` (one of ${f.variants} different changes)` : ''}`);
  if (c.fields.length > max) shown.push(`… ${c.fields.length - max} more`);
  return shown.join('<br>');
}

function pluginSection(
  plugin: string,
  all: readonly ObjectChange[],
  allFiles: readonly FileChange[],
  maxFields: number,
  removedDcs: readonly string[],
): string[] {
  // What a removed DC loses is one row per DC: the DC removal is the change to review. That
  // includes objects elsewhere named after it (the Schedules storing there, its location).
  const gone = (c: ObjectChange) => c.type === 'removed' && c.paths.length > 0 && c.paths.every((p) => removedDcs.some((d) => pathNamesDc(p, d)));
  const fileGone = (f: FileChange) => f.type === 'removed' && removedDcs.some((d) => f.path.startsWith(`clusters/${d}/`) || f.path.split('/').includes(d));
  const objects = all.filter((c) => !gone(c));
  const files = allFiles.filter((f) => !fileGone(f));
  const withCauses = all.some((c) => c.because !== undefined);
  const rows: string[] = [
    `#### ${plugin}`,
    '',
    `| | object | where | changed fields |${withCauses ? ' because |' : ''}`,
    `|---|---|---|---|${withCauses ? '---|' : ''}`,
  ];
  for (const c of objects)
    rows.push(
      `| ${SYMBOL[c.type]} | ${cell(objectCell(c))} | ${cell(listWhere(c.where))} | ${cell(fieldsText(c, maxFields))} |${withCauses ? ` ${cell((c.because ?? []).slice(0, 2).map(causeText).join('<br>') + ((c.because?.length ?? 0) > 2 ? `<br>… ${c.because!.length - 2} more` : ''))} |` : ''}`,
    );
  for (const dc of removedDcs) {
    const objs = all.filter((c) => gone(c) && c.paths.some((p) => pathNamesDc(p, dc)));
    const fs = allFiles.filter((f) => fileGone(f) && (f.path.startsWith(`clusters/${dc}/`) || f.path.split('/').includes(dc)));
    if (objs.length + fs.length === 0) continue;
    const inside = new Map<string, number>();
    const outside = new Map<string, number>();
    for (const c of objs) {
      for (const p of c.paths.filter((x) => pathNamesDc(x, dc))) {
        const m = p.startsWith(`clusters/${dc}/`) ? inside : outside;
        m.set(c.kind, (m.get(c.kind) ?? 0) + 1);
      }
    }
    const kinds = (m: Map<string, number>) => [...m.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, n]) => `${n} ${k}`);
    const elsewhere = [...outside.values()].reduce((x, y) => x + y, 0);
    const own = [...kinds(inside), ...(fs.length ? [`${fs.length} files`] : [])];
    const named = elsewhere ? `${elsewhere} objects in other DCs named after ${dc} (${kinds(outside).join(', ')})` : '';
    const what = own.length ? `everything in ${dc}: ${own.join(', ')}${named ? `; and ${named}` : ''}` : named;
    const dcs = [...new Set([dc, ...objs.flatMap((c) => c.where)])].sort();
    const because = objs.find((c) => c.because?.length)?.because ?? [];
    rows.push(
      `| ${SYMBOL.removed} | ${cell(what)} | ${cell(listWhere(dcs))} | (the DC is removed) |${withCauses ? ` ${cell(because.slice(0, 2).map(causeText).join('<br>'))} |` : ''}`,
    );
  }
  for (const f of files)
    rows.push(
      `| ${SYMBOL[f.type]} | ${cell(code(f.path))} | ${cell(listWhere(f.where ?? []))} | +${f.linesAdded} −${f.linesRemoved} lines${f.count ? ' each' : ''} |${withCauses ? ' |' : ''}`,
    );
  rows.push('');
  return rows;
}

export function formatMarkdown(report: DiffReport, options: MarkdownOptions = {}): string {
  const maxChars = options.maxChars ?? 60_000;
  const maxFields = options.maxFields ?? 8;
  const changed = report.environments.filter((e) => e.status !== 'unchanged');
  const head: string[] = [COMMENT_MARKER];
  const verdict =
    report.flags.length > 0
      ? `⚠️ ${report.flags.length} risk flag${report.flags.length === 1 ? '' : 's'}`
      : changed.length > 0
        ? 'changes, no risk flags'
        : 'no changes';
  head.push(`## topoforge diff: ${verdict}`, '');
  if (options.beforeLabel || options.afterLabel) head.push(`Compared ${code(options.beforeLabel ?? 'before')} → ${code(options.afterLabel ?? 'after')}.`, '');
  head.push(...report.environments.map((e) => `- **${e.name}**: ${countsText(e)}`), '');
  if (report.flags.length > 0) {
    head.push('### Risk flags', '', 'A reviewer must confirm each of these (most severe first):', '');
    for (const f of orderFlags(report.flags)) head.push(...flagItem(f));
    head.push('');
  }
  const inputs = report.environments.flatMap((e) => (e.inputs ?? []).map((c) => [e.name, c] as const));
  if (inputs.length > 0) {
    head.push('### Changes in the environment files', '');
    for (const [env, c] of inputs.slice(0, 30)) head.push(`- ${env}: ${causeText(c)}`);
    if (inputs.length > 30) head.push(`- … and ${inputs.length - 30} more`);
    head.push('');
  }
  const sections: string[][] = [];
  for (const e of changed) {
    const body: string[] = [`### ${e.name}: ${countsText(e)}`, ''];
    const plugins = [...new Set([...e.objects.map((o) => o.plugin), ...e.files.map((f) => f.plugin)])].sort();
    for (const p of plugins)
      body.push(
        ...pluginSection(
          p,
          e.objects.filter((o) => o.plugin === p),
          e.files.filter((f) => f.plugin === p),
          maxFields,
          e.removedDcs ?? [],
        ),
      );
    sections.push(body);
  }
  let text = head.join('\n');
  const lines = sections.flat();
  let omitted = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (text.length + line.length + 200 > maxChars) {
      omitted = lines.slice(i).filter((l) => l.startsWith('| ') && !l.startsWith('| |')).length;
      break;
    }
    text += `\n${line}`;
  }
  if (omitted > 0) text += `\n\n_${omitted} more rows left out to fit a comment; run \`topoforge diff\` locally for the whole list._`;
  // Values are shown short and credential-looking ones hidden field by field; this is the net under that.
  return redactSecrets(text.trimEnd()) + '\n';
}

/** A commit message: subject line with counts, then risk flags and changes as plain text. */
export function commitMessage(report: DiffReport, subject?: string): string {
  const summary = report.environments
    .filter((e) => e.status !== 'unchanged')
    .map((e) => `${e.name} ${countsText(e)}`)
    .join('; ');
  const first = subject ?? `topoforge: ${summary || 'update'}`;
  const body: string[] = [];
  if (subject && summary) body.push(summary, '');
  if (report.flags.length > 0) {
    body.push('Risk flags:');
    for (const f of orderFlags(report.flags)) body.push(`- ${flagLine(f)}`);
    body.push('');
  }
  for (const e of report.environments.filter((x) => x.status !== 'unchanged')) {
    body.push(`${e.name}:`);
    for (const c of e.objects) {
      const where = listWhere(c.where);
      const fields = c.fields
        .slice(0, 4)
        .map((f) => `${f.path}: ${f.before} -> ${f.after}${f.variants ? ` (one of ${f.variants})` : ''}`)
        .join('; ');
      body.push(
        `  ${SYMBOL[c.type] === '−' ? '-' : SYMBOL[c.type]} [${c.plugin}] ${objectName(c)}${where ? ` (${where})` : ''}${fields ? `: ${fields}${c.fields.length > 4 ? '; …' : ''}` : ''}`,
      );
    }
    for (const f of e.files)
      body.push(`  ${SYMBOL[f.type] === '−' ? '-' : SYMBOL[f.type]} [${f.plugin}] ${f.path} (+${f.linesAdded} -${f.linesRemoved} lines)`);
    body.push('');
  }
  // Bounded: a commit message is read in `git log`, not scrolled through.
  const lines = body.length > 200 ? [...body.slice(0, 200), `… ${body.length - 200} more lines`] : body;
  return redactSecrets([first, '', ...lines].join('\n').trimEnd()) + '\n';
}
