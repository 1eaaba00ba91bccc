/**
 * The diff as markdown for a pull-request comment, and as plain text for a commit message.
 * Risk flags come first; then per environment and plugin a table of object changes.
 * Output is deterministic and bounded (GitHub rejects comments over 65536 characters).
 */
import type { DiffReport, EnvironmentDiff, FileChange, ObjectChange } from './diff.js';
import { RISK_TITLES, type RiskFlag } from './risks.js';
import { redactSecrets } from '@topoforge/secret-scan';

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

export function countsText(e: EnvironmentDiff): string {
  if (e.status === 'unchanged') return 'no changes';
  const parts = (['added', 'changed', 'removed'] as const).filter((t) => e.counts[t] > 0).map((t) => `${e.counts[t]} ${t}`);
  const prefix = e.status === 'added' ? 'new environment: ' : e.status === 'removed' ? 'environment removed: ' : '';
  return prefix + parts.join(', ');
}

export function flagLine(f: RiskFlag): string {
  const where = f.where.length > 0 ? ` in ${listWhere(f.where)}` : '';
  return `${RISK_TITLES[f.rule]} · ${f.environment} · ${f.subject}${where}: ${f.detail}`;
}

function fieldsText(c: ObjectChange, max: number): string {
  const shown = c.fields.slice(0, max).map((f) => `${code(f.path)}: ${f.before} → ${f.after}`);
  if (c.fields.length > max) shown.push(`… ${c.fields.length - max} more`);
  return shown.join('<br>');
}

function pluginSection(plugin: string, objects: readonly ObjectChange[], files: readonly FileChange[], maxFields: number): string[] {
  const rows: string[] = [`#### ${plugin}`, '', '| | object | where | changed fields |', '|---|---|---|---|'];
  for (const c of objects) rows.push(`| ${SYMBOL[c.type]} | ${cell(objectName(c))} | ${cell(listWhere(c.where))} | ${cell(fieldsText(c, maxFields))} |`);
  for (const f of files) rows.push(`| ${SYMBOL[f.type]} | ${cell(code(f.path))} | | +${f.linesAdded} −${f.linesRemoved} lines |`);
  rows.push('');
  return rows;
}

export function formatMarkdown(report: DiffReport, options: MarkdownOptions = {}): string {
  const maxChars = options.maxChars ?? 60_000;
  const maxFields = options.maxFields ?? 8;
  const changed = report.environments.filter((e) => e.status !== 'unchanged');
  const head: string[] = [COMMENT_MARKER];
  const verdict = report.flags.length > 0 ? `⚠️ ${report.flags.length} risk flag${report.flags.length === 1 ? '' : 's'}` : changed.length > 0 ? 'changes, no risk flags' : 'no changes';
  head.push(`## topoforge diff: ${verdict}`, '');
  if (options.beforeLabel || options.afterLabel) head.push(`Compared ${code(options.beforeLabel ?? 'before')} → ${code(options.afterLabel ?? 'after')}.`, '');
  head.push(...report.environments.map((e) => `- **${e.name}**: ${countsText(e)}`), '');
  if (report.flags.length > 0) {
    head.push('### Risk flags', '', 'A reviewer must confirm each of these:', '');
    for (const f of report.flags) {
      const where = f.where.length > 0 ? ` in ${listWhere(f.where)}` : '';
      head.push(`- [ ] **${RISK_TITLES[f.rule]}** · ${f.environment} · ${f.subject}${where}: ${f.detail}`);
    }
    head.push('');
  }
  const sections: string[][] = [];
  for (const e of changed) {
    const body: string[] = [`### ${e.name}: ${countsText(e)}`, ''];
    const plugins = [...new Set([...e.objects.map((o) => o.plugin), ...e.files.map((f) => f.plugin)])].sort();
    for (const p of plugins) body.push(...pluginSection(p, e.objects.filter((o) => o.plugin === p), e.files.filter((f) => f.plugin === p), maxFields));
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
  const summary = report.environments.filter((e) => e.status !== 'unchanged').map((e) => `${e.name} ${countsText(e)}`).join('; ');
  const first = subject ?? `topoforge: ${summary || 'update'}`;
  const body: string[] = [];
  if (subject && summary) body.push(summary, '');
  if (report.flags.length > 0) {
    body.push('Risk flags:');
    for (const f of report.flags) body.push(`- ${flagLine(f)}`);
    body.push('');
  }
  for (const e of report.environments.filter((x) => x.status !== 'unchanged')) {
    body.push(`${e.name}:`);
    for (const c of e.objects) {
      const where = listWhere(c.where);
      const fields = c.fields.slice(0, 4).map((f) => `${f.path}: ${f.before} -> ${f.after}`).join('; ');
      body.push(`  ${SYMBOL[c.type] === '−' ? '-' : SYMBOL[c.type]} [${c.plugin}] ${objectName(c)}${where ? ` (${where})` : ''}${fields ? `: ${fields}${c.fields.length > 4 ? '; …' : ''}` : ''}`);
    }
    for (const f of e.files) body.push(`  ${SYMBOL[f.type] === '−' ? '-' : SYMBOL[f.type]} [${f.plugin}] ${f.path} (+${f.linesAdded} -${f.linesRemoved} lines)`);
    body.push('');
  }
  // Bounded: a commit message is read in `git log`, not scrolled through.
  const lines = body.length > 200 ? [...body.slice(0, 200), `… ${body.length - 200} more lines`] : body;
  return redactSecrets([first, '', ...lines].join('\n').trimEnd()) + '\n';
}
