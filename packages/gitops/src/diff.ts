/**
 * The semantic diff of two rendered trees: per environment and plugin, the objects added,
 * changed (with their changed fields) and removed, files compared as text, and the risk
 * flags. The same change made in several DCs is grouped into one entry listing the DCs.
 */
import { diffLines } from 'diff';
import { fieldChanges, type FieldChange } from './fields.js';
import { parseEnvironment, type ObjectRecord, type ParsedEnvironment } from './objects.js';
import { riskFlags, type RiskFlag } from './risks.js';
import type { RenderedTree } from './tree.js';

export type ChangeType = 'added' | 'changed' | 'removed';

export interface ObjectChange {
  readonly type: ChangeType;
  readonly plugin: string;
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace?: string;
  readonly name: string;
  /** DCs (or top-level directories) where this same change happens; sorted. */
  readonly where: readonly string[];
  /** One of the paths, for orientation. */
  readonly path: string;
  readonly fields: readonly FieldChange[];
}

export interface FileChange {
  readonly type: ChangeType;
  readonly plugin: string;
  readonly path: string;
  readonly linesAdded: number;
  readonly linesRemoved: number;
}

export interface EnvironmentDiff {
  readonly name: string;
  /** `added`/`removed`: the whole environment is new or gone. */
  readonly status: 'added' | 'removed' | 'changed' | 'unchanged';
  readonly objects: readonly ObjectChange[];
  readonly files: readonly FileChange[];
  /** Objects counted one per DC (the grouped entries expanded). */
  readonly counts: { readonly added: number; readonly changed: number; readonly removed: number };
}

export interface DiffReport {
  readonly environments: readonly EnvironmentDiff[];
  readonly flags: readonly RiskFlag[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function lineCounts(a: string, b: string): { linesAdded: number; linesRemoved: number } {
  let linesAdded = 0;
  let linesRemoved = 0;
  for (const part of diffLines(a, b)) {
    if (part.added) linesAdded += part.count ?? 0;
    else if (part.removed) linesRemoved += part.count ?? 0;
  }
  return { linesAdded, linesRemoved };
}

function objectChanges(a: ParsedEnvironment, b: ParsedEnvironment): ObjectChange[] {
  const raw: (Omit<ObjectChange, 'where'> & { where: string })[] = [];
  const push = (type: ChangeType, o: ObjectRecord, fields: FieldChange[]) =>
    raw.push({ type, plugin: o.plugin, kind: o.kind, apiVersion: o.apiVersion, ...(o.namespace ? { namespace: o.namespace } : {}), name: o.name, where: o.scope, path: o.path, fields });
  for (const [id, o] of b.objects) {
    const before = a.objects.get(id);
    const secret = new Set(o.kind === 'Secret' ? ['data', 'stringData'] : []);
    if (!before) push('added', o, []);
    else {
      const fields = fieldChanges(before.object, o.object, secret);
      if (fields.length > 0) push('changed', o, fields);
    }
  }
  for (const [id, o] of a.objects) if (!b.objects.has(id)) push('removed', o, []);
  const groups = new Map<string, { change: Omit<ObjectChange, 'where'>; where: Set<string> }>();
  for (const c of raw) {
    // Labels carry the DC name, so they differ per DC by design; group on the rest.
    const sig = JSON.stringify([c.type, c.plugin, c.kind, c.apiVersion, c.namespace ?? '', c.name, c.fields.filter((f) => !f.path.startsWith('metadata.labels.topoforge.io/dc'))]);
    const g = groups.get(sig) ?? { change: c, where: new Set<string>() };
    g.where.add(c.where);
    if (c.path < g.change.path) g.change = { ...g.change, path: c.path };
    groups.set(sig, g);
  }
  const order: Record<ChangeType, number> = { removed: 0, changed: 1, added: 2 };
  return [...groups.values()]
    .map(({ change, where }) => ({ ...change, where: [...where].sort() }))
    .sort((x, y) => cmp(x.plugin, y.plugin) || order[x.type] - order[y.type] || cmp(x.kind, y.kind) || cmp(x.namespace ?? '', y.namespace ?? '') || cmp(x.name, y.name) || cmp(x.where.join(), y.where.join()));
}

function fileChanges(a: ParsedEnvironment, b: ParsedEnvironment): FileChange[] {
  const out: FileChange[] = [];
  for (const [path, f] of b.files) {
    const before = a.files.get(path);
    if (!before) out.push({ type: 'added', plugin: f.plugin, path, ...lineCounts('', f.content) });
    else if (before.content !== f.content) out.push({ type: 'changed', plugin: f.plugin, path, ...lineCounts(before.content, f.content) });
  }
  for (const [path, f] of a.files) if (!b.files.has(path)) out.push({ type: 'removed', plugin: f.plugin, path, ...lineCounts(f.content, '') });
  return out.sort((x, y) => cmp(x.plugin, y.plugin) || cmp(x.path, y.path));
}

const EMPTY: ParsedEnvironment = { name: '', objects: new Map(), files: new Map(), duplicates: [] };

/** Compares two rendered trees; environments present on either side are compared. */
export function diffTrees(before: RenderedTree, after: RenderedTree): DiffReport {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const environments: EnvironmentDiff[] = [];
  const flags: RiskFlag[] = [];
  for (const name of names) {
    const ta = before.get(name);
    const tb = after.get(name);
    const a = ta ? parseEnvironment(ta) : EMPTY;
    const b = tb ? parseEnvironment(tb) : EMPTY;
    const objects = objectChanges(a, b);
    const files = fileChanges(a, b);
    const count = (t: ChangeType) => objects.filter((o) => o.type === t).reduce((n, o) => n + o.where.length, 0) + files.filter((f) => f.type === t).length;
    const counts = { added: count('added'), changed: count('changed'), removed: count('removed') };
    const status = !ta ? 'added' : !tb ? 'removed' : objects.length + files.length > 0 ? 'changed' : 'unchanged';
    environments.push({ name, status, objects, files, counts });
    const tiers = ta?.tiers || tb?.tiers ? new Map([...(ta?.tiers ?? []), ...(tb?.tiers ?? [])]) : undefined;
    flags.push(...riskFlags(name, ta ? a : undefined, tb ? b : undefined, tiers));
  }
  return { environments, flags };
}

/** 0 no change, 1 changes, 3 risky changes (the CLI's exit codes). */
export function diffExitCode(report: DiffReport): 0 | 1 | 3 {
  if (report.flags.length > 0) return 3;
  return report.environments.some((e) => e.status !== 'unchanged') ? 1 : 0;
}
