/**
 * The semantic diff of two rendered trees: per environment and plugin, the objects added,
 * changed (with their changed fields) and removed, files compared as text, and the risk
 * flags. The same change made in several DCs is grouped into one entry listing the DCs.
 */
import { diffLines } from 'diff';
import { byString } from '@topoforge/model';
import { LABEL_DC } from '@topoforge/plugin-contract';
import { fieldChanges, type FieldChange } from './fields.js';
import { ordered, parseEnvironment, serviceOf, shareDocuments, type ObjectRecord, type ParsedEnvironment } from './objects.js';
import { riskFlags, SEVERITY_ORDER, type RiskFlag } from './risks.js';
import { dcMatcher, dcNames, foldAcrossEnvironments, pathNamesDc, type EnvironmentDcs } from './fold.js';
import { causesOf, detailEvidence, inputChanges, type InputChange } from './provenance.js';
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
  /** Every file of the folded change. */
  readonly paths: readonly string[];
  readonly fields: readonly FieldChange[];
  /** The input values whose change produced it (both sides rendered from environment files). */
  readonly because?: readonly InputChange[];
}

export interface FileChange {
  readonly type: ChangeType;
  readonly plugin: string;
  /** With ‹dc› for a change folded across DCs (see `where`). */
  readonly path: string;
  /** DCs of a folded change; absent for a single file. */
  readonly where?: readonly string[];
  readonly linesAdded: number;
  readonly linesRemoved: number;
  /** Files folded into this row (1 when absent). */
  readonly count?: number;
}

export interface EnvironmentDiff {
  readonly name: string;
  /** `added`/`removed`: the whole environment is new or gone. */
  readonly status: 'added' | 'removed' | 'changed' | 'unchanged';
  readonly objects: readonly ObjectChange[];
  readonly files: readonly FileChange[];
  /** Objects counted one per DC (the grouped entries expanded). */
  readonly counts: { readonly added: number; readonly changed: number; readonly removed: number };
  /** What changed in the environment files (both sides rendered from them). */
  readonly inputs?: readonly InputChange[];
  /** DCs whose whole cluster directory goes away. */
  readonly removedDcs?: readonly string[];
}

export interface DiffReport {
  readonly environments: readonly EnvironmentDiff[];
  readonly flags: readonly RiskFlag[];
}

const cmp = byString;

function lineCounts(a: string, b: string): { linesAdded: number; linesRemoved: number } {
  let linesAdded = 0;
  let linesRemoved = 0;
  for (const part of diffLines(a, b)) {
    if (part.added) linesAdded += part.count ?? 0;
    else if (part.removed) linesRemoved += part.count ?? 0;
  }
  return { linesAdded, linesRemoved };
}

/** A Secret's fields whose values a diff never shows. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['data', 'stringData']);
const NO_FIELDS: ReadonlySet<string> = new Set();

/**
 * `side`'s objects and duplicates (an object in two files: a stray copy beside it), where of the
 * files holding one object, the one at the path `other` has it at is the object: the others are
 * what a render removes (or adds), and are reported as such.
 */
function aligned(side: ParsedEnvironment, other: ParsedEnvironment): { objects: ReadonlyMap<string, ObjectRecord>; duplicates: readonly ObjectRecord[] } {
  // Most trees have none: their objects as they are (a copy of 100k would be for nothing).
  if (side.duplicates.length === 0) return side;
  const objects = new Map(side.objects);
  const duplicates = [...side.duplicates];
  for (let i = 0; i < duplicates.length; i++) {
    const d = duplicates[i]!;
    const there = other.objects.get(d.id)?.path;
    const kept = objects.get(d.id)!;
    if (there !== undefined && d.path === there && kept.path !== there) {
      duplicates[i] = kept;
      objects.set(d.id, d);
    }
  }
  return { objects, duplicates };
}

/** Duplicates of one side the other does not have (the same object in the same file). */
const extra = (side: readonly ObjectRecord[], other: readonly ObjectRecord[]): ObjectRecord[] =>
  side.filter((d) => !other.some((o) => o.id === d.id && o.path === d.path));

function objectChanges(a: ParsedEnvironment, b: ParsedEnvironment): ObjectChange[] {
  const raw: (Omit<ObjectChange, 'where' | 'paths'> & { where: string })[] = [];
  // The service of each changed object (by path), to fold a service's objects of a kind into one row.
  const services = new Map<string, string>();
  const push = (type: ChangeType, o: ObjectRecord, fields: FieldChange[]) => {
    raw.push({
      type,
      plugin: o.plugin,
      kind: o.kind,
      apiVersion: o.apiVersion,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      name: o.name,
      where: o.scope,
      path: o.path,
      fields,
    });
    const svc = serviceOf(o);
    if (svc) services.set(o.path, svc);
  };
  const was = aligned(a, b);
  const now = aligned(b, a);
  for (const d of extra(was.duplicates, now.duplicates)) push('removed', d, []);
  for (const d of extra(now.duplicates, was.duplicates)) push('added', d, []);
  for (const [id, o] of now.objects) {
    const before = was.objects.get(id);
    if (!before) push('added', o, []);
    // The same object on both sides (a file that did not change) has no changed field.
    else if (before.object !== o.object) {
      const fields = fieldChanges(ordered(before.object), ordered(o.object), o.kind === 'Secret' ? SECRET_FIELDS : NO_FIELDS);
      if (fields.length > 0) push('changed', o, fields);
    }
  }
  for (const [id, o] of was.objects) if (!now.objects.has(id)) push('removed', o, []);
  // The same change in several DCs is one row: objects named after their DC
  // (`traffic-drop-shop-dc03`) and values naming it (`dc="dc03"`) fold with the DC as ‹dc›.
  const norm = dcMatcher(dcNames(a, b));
  const dcLabel = `metadata.labels.${LABEL_DC}`;
  const fieldsKey = (c: (typeof raw)[number]) =>
    c.fields.filter((f) => !f.path.startsWith(dcLabel)).map((f) => ({ path: norm(f.path).text, before: norm(f.before).text, after: norm(f.after).text }));
  const groups = new Map<string, (typeof raw)[number][]>();
  for (const c of raw) {
    const sig = JSON.stringify([c.type, c.plugin, c.kind, c.apiVersion, c.namespace ?? '', norm(c.name).text, fieldsKey(c)]);
    groups.set(sig, [...(groups.get(sig) ?? []), c]);
  }
  const order: Record<ChangeType, number> = { removed: 0, changed: 1, added: 2 };
  const folded: ObjectChange[] = [];
  for (const members of groups.values()) {
    const first = members.reduce((x, y) => (y.path < x.path ? y : x));
    const sameName = members.every((m) => m.name === first.name);
    const sameFields = members.every(
      (m) => JSON.stringify(m.fields.filter((f) => !f.path.startsWith(dcLabel))) === JSON.stringify(first.fields.filter((f) => !f.path.startsWith(dcLabel))),
    );
    const where = new Set<string>();
    for (const m of members) {
      where.add(m.where);
      if (!sameName) for (const d of norm(m.name).found) where.add(d);
    }
    const fields = sameFields ? first.fields : fieldsKey(first);
    folded.push({ ...first, name: sameName ? first.name : norm(first.name).text, fields, where: [...where].sort(), paths: members.map((m) => m.path).sort() });
  }
  const kept = new Set(dcNames(b));
  const removedDcs = b.objects.size > 0 ? dcNames(a).filter((d) => !kept.has(d)) : [];
  return foldFamilies(folded, services, norm, removedDcs).sort(
    (x, y) =>
      cmp(x.plugin, y.plugin) ||
      order[x.type] - order[y.type] ||
      cmp(x.kind, y.kind) ||
      cmp(x.namespace ?? '', y.namespace ?? '') ||
      cmp(x.name, y.name) ||
      cmp(x.where.join(), y.where.join()),
  );
}

/**
 * A service's objects of one kind that changed the same fields are one row, even when
 * their names differ beyond the DC and their values differ per object: the per-instance
 * Velero Schedules of a service (`shop-dc01-dc03-full`), their paused fallbacks
 * (`…-for-dc02-…`) and standbys each re-spaced to their own days when the rotation
 * shrinks. A field changed alike in all of them shows that change; one changed
 * differently shows the first change and how many different ones there are. Removed
 * objects that name a removed DC stay apart from the others (the DC's removal row counts them).
 */
function foldFamilies(
  rows: readonly ObjectChange[],
  services: ReadonlyMap<string, string>,
  norm: (text: string) => { text: string; found: string[] },
  removedDcs: readonly string[],
): ObjectChange[] {
  const groups = new Map<string, ObjectChange[]>();
  rows.forEach((c, i) => {
    const svc = services.get(c.path);
    const gone = c.type === 'removed' && c.paths.every((p) => removedDcs.some((d) => pathNamesDc(p, d)));
    const key = svc
      ? JSON.stringify([c.type, c.plugin, c.kind, c.apiVersion, c.namespace ?? '', svc, gone, c.fields.map((f) => norm(f.path).text)])
      : String(i);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  });
  return [...groups.values()].map((members) => {
    if (members.length === 1) return members[0]!;
    const first = members.reduce((x, y) => (y.path < x.path ? y : x));
    const names = [...new Set(members.map((m) => norm(m.name).text))].sort();
    const fields = first.fields.map((f, i) => {
      const all = members.map((m) => m.fields[i]!);
      if (all.every((x) => x.before === f.before && x.after === f.after)) return f;
      const normalized = all.map((x) => ({ path: norm(x.path).text, before: norm(x.before).text, after: norm(x.after).text }));
      const variants = new Set(normalized.map((x) => JSON.stringify([x.before, x.after]))).size;
      return variants === 1 ? normalized[0]! : { ...normalized[members.indexOf(first)]!, variants };
    });
    return {
      ...first,
      name: names.length <= 3 ? names.join(', ') : `${names.slice(0, 2).join(', ')} and ${names.length - 2} more name patterns`,
      fields,
      where: [...new Set(members.flatMap((m) => m.where))].sort(),
      paths: members.flatMap((m) => m.paths).sort(),
    };
  });
}

function fileChanges(a: ParsedEnvironment, b: ParsedEnvironment): FileChange[] {
  const out: FileChange[] = [];
  for (const [path, f] of b.files) {
    const before = a.files.get(path);
    if (!before) out.push({ type: 'added', plugin: f.plugin, path, ...lineCounts('', f.content) });
    else if (before.content !== f.content) out.push({ type: 'changed', plugin: f.plugin, path, ...lineCounts(before.content, f.content) });
  }
  for (const [path, f] of a.files) if (!b.files.has(path)) out.push({ type: 'removed', plugin: f.plugin, path, ...lineCounts(f.content, '') });
  // Files per DC changed alike fold into one row.
  const norm = dcMatcher(dcNames(a, b));
  const groups = new Map<string, FileChange[]>();
  for (const f of out) {
    const key = JSON.stringify([f.type, f.plugin, norm(f.path).text, f.linesAdded, f.linesRemoved]);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const folded = [...groups.values()].map((members) =>
    members.length === 1
      ? members[0]!
      : { ...members[0]!, path: norm(members[0]!.path).text, where: [...new Set(members.flatMap((m) => norm(m.path).found))].sort(), count: members.length },
  );
  return folded.sort((x, y) => cmp(x.plugin, y.plugin) || cmp(x.path, y.path));
}

const EMPTY: ParsedEnvironment = { name: '', objects: new Map(), files: new Map(), duplicates: [] };

/** Compares two rendered trees; environments present on either side are compared. */
export function diffTrees(before: RenderedTree, after: RenderedTree): DiffReport {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const environments: EnvironmentDiff[] = [];
  const flags: RiskFlag[] = [];
  const dcs = new Map<string, EnvironmentDcs>();
  for (const name of names) {
    const ta = before.get(name);
    const tb = after.get(name);
    if (ta && tb) shareDocuments(ta, tb);
    const a = ta ? parseEnvironment(ta) : EMPTY;
    const b = tb ? parseEnvironment(tb) : EMPTY;
    let objects = objectChanges(a, b);
    const files = fileChanges(a, b);
    const count = (t: ChangeType) =>
      objects.filter((o) => o.type === t).reduce((n, o) => n + o.paths.length, 0) + files.filter((f) => f.type === t).reduce((n, f) => n + (f.count ?? 1), 0);
    const counts = { added: count('added'), changed: count('changed'), removed: count('removed') };
    const status = !ta ? 'added' : !tb ? 'removed' : objects.length + files.length > 0 ? 'changed' : 'unchanged';
    const tiers = ta?.tiers || tb?.tiers ? new Map([...(ta?.tiers ?? []), ...(tb?.tiers ?? [])]) : undefined;
    // The rules of the current plugins (the render side); a directory on disk has none.
    const review = tb?.review ?? ta?.review ?? [];
    let envFlags = riskFlags(name, ta ? a : undefined, tb ? b : undefined, tiers, review);
    // Provenance needs the input of both sides (a directory on disk has none).
    const inputs = ta?.source && tb?.source ? inputChanges(ta.source, tb.source) : undefined;
    if (inputs && ta?.source && tb?.source) {
      const [sa, sb] = [ta.source, tb.source];
      objects = objects.map((o) => ({
        ...o,
        because: causesOf(
          inputs,
          o.paths,
          [],
          sa,
          sb,
          o.fields.map((x) => [x.before, x.after] as const),
        ),
      }));
      envFlags = envFlags.map((f) => ({ ...f, because: causesOf(inputs, f.paths, f.inputs ?? [], sa, sb, detailEvidence(f.detail)) }));
    }
    const kept = new Set(dcNames(b));
    const removedDcs = tb && ta ? dcNames(a).filter((d) => !kept.has(d)) : [];
    environments.push({ name, status, objects, files, counts, ...(inputs ? { inputs } : {}), ...(removedDcs.length ? { removedDcs } : {}) });
    flags.push(...envFlags);
    dcs.set(name, { dcs: dcNames(a, b), removed: removedDcs });
  }
  // A DC removed in one environment explains what the others held of it (restore-drill locations).
  const folded = foldAcrossEnvironments(flags, dcs);
  // Most severe first across environments; stable within a severity.
  const rank = (f: RiskFlag) => SEVERITY_ORDER.indexOf(f.severity);
  return {
    environments,
    flags: folded
      .map((f, i) => [f, i] as const)
      .sort(([x, i], [y, j]) => rank(x) - rank(y) || i - j)
      .map(([f]) => f),
  };
}

/** 0 no change, 1 changes, 3 risky changes (the CLI's exit codes). */
export function diffExitCode(report: DiffReport): 0 | 1 | 3 {
  if (report.flags.length > 0) return 3;
  return report.environments.some((e) => e.status !== 'unchanged') ? 1 : 0;
}
