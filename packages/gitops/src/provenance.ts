/**
 * Provenance in the diff: which `environments/` value produced a changed object. A tree
 * rendered from environment files carries the input values (with their file and line)
 * and, per emitted file, the input subtrees it draws on (model/provenance.ts). A changed
 * object is explained by the input values under its subtrees that differ between the two
 * sides, e.g. "`environments/production.yaml:42` changed `policies.backup.daily.retentionDays` 14 → 7".
 */
import { withinPointers, type InputValue, type SourceMap, type SourcePosition } from '@topoforge/model';
import { credentialReason } from './secrets.js';

export interface TreeSource {
  /** Every leaf value of the merged input, by JSON pointer. */
  readonly inputs: ReadonlyMap<string, InputValue>;
  /** Emitted file → the input subtrees it is drawn from. */
  readonly provenance: ReadonlyMap<string, readonly string[]>;
  /** Positions of every key of the input (for a whole subtree added or removed). */
  readonly positions: SourceMap;
}

export interface InputChange {
  /** Dotted field path in the environment, e.g. `policies.backup.daily.retentionDays`. */
  readonly field: string;
  readonly pointer: string;
  readonly type: 'changed' | 'added' | 'removed';
  readonly before?: string;
  readonly after?: string;
  /** Where the value is (after) or was (before, for a removal). */
  readonly position?: SourcePosition;
}

/** A value as the report may show it: never one that may be a credential. */
const shown = (pointer: string, value: string): string =>
  credentialReason(
    pointer
      .slice(pointer.lastIndexOf('/') + 1)
      .replace(/~1/g, '/')
      .replace(/~0/g, '~'),
    value,
  ) !== undefined
    ? '(redacted)'
    : value;

const pointerField = (p: string) =>
  p
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');

/**
 * Every input value that differs between two sides, a wholly added or removed subtree
 * (a DC, a service) reported once at its key.
 */
export function inputChanges(before: TreeSource, after: TreeSource): InputChange[] {
  const out: InputChange[] = [];
  const present = (src: TreeSource, p: string) => src.positions.has(p);
  const seen = new Set<string>();
  // the highest ancestor that the other side lacks entirely
  const top = (p: string, other: TreeSource, own: TreeSource): string => {
    let best = p;
    for (let q = p.slice(0, p.lastIndexOf('/')); q.split('/').length > 2; q = q.slice(0, q.lastIndexOf('/'))) {
      if (present(other, q)) break;
      best = q;
    }
    // A subtree with a single value is shown as that value.
    const leaves = [...own.inputs.keys()].filter((k) => k === best || k.startsWith(`${best}/`));
    return leaves.length === 1 ? p : best;
  };
  for (const [p, b] of after.inputs) {
    const a = before.inputs.get(p);
    if (a && a.value === b.value) continue;
    if (a) {
      out.push({
        field: b.field,
        pointer: p,
        type: 'changed',
        before: shown(p, a.value),
        after: shown(p, b.value),
        ...(b.position ? { position: b.position } : {}),
      });
      continue;
    }
    const q = top(p, before, after);
    if (seen.has(`+${q}`)) continue;
    seen.add(`+${q}`);
    const position = q === p ? b.position : after.positions.get(q)?.key;
    out.push({ field: pointerField(q), pointer: q, type: 'added', ...(q === p ? { after: shown(p, b.value) } : {}), ...(position ? { position } : {}) });
  }
  for (const [p, a] of before.inputs) {
    if (after.inputs.has(p)) continue;
    const q = top(p, after, before);
    if (seen.has(`-${q}`)) continue;
    seen.add(`-${q}`);
    const position = q === p ? a.position : before.positions.get(q)?.key;
    out.push({ field: pointerField(q), pointer: q, type: 'removed', ...(q === p ? { before: shown(p, a.value) } : {}), ...(position ? { position } : {}) });
  }
  return out.sort((x, y) => (x.pointer < y.pointer ? -1 : x.pointer > y.pointer ? 1 : 0));
}

/** Before/after texts of what changed in an object (its fields) or a flag (`a → b` in its detail). */
export type Evidence = readonly (readonly [string, string])[];

const firstNumber = (s: string): number | undefined => {
  const m = /-?\d+(?:\.\d+)?/.exec(s);
  return m ? Number(m[0]) : undefined;
};

/** Whether an input change reads in an output change: the same values, or numbers scaled alike (7 days → 168h). */
function explains(c: InputChange, [fb, fa]: readonly [string, string]): boolean {
  if (c.type !== 'changed' || c.before === undefined || c.after === undefined || c.before === '(redacted)') return false;
  if (c.before !== '' && c.after !== '' && fb.includes(c.before) && fa.includes(c.after) && !(fb.includes(c.after) && fa.includes(c.before))) return true;
  const [x, y, u, v] = [firstNumber(c.before), firstNumber(c.after), firstNumber(fb), firstNumber(fa)];
  if (x === undefined || y === undefined || u === undefined || v === undefined || y === 0 || v === 0 || x === y) return false;
  return Math.abs(x / y - u / v) < 1e-9;
}

/** `a → b` pairs of a flag's detail. */
export function detailEvidence(detail: string): Evidence {
  return [...detail.matchAll(/(\S+) → (\S+)/g)].map((m) => [m[1]!.replace(/^\(/, ''), m[2]!.replace(/\)$/, '')] as const);
}

/**
 * The input changes that produced an object (or a flag): among those inside the input
 * subtrees its files draw on (on either side), the ones whose values read in what changed;
 * else the structural ones (a DC, a service, a policy added or removed); else the only
 * candidate. Several candidates and no evidence give none: better silent than misleading.
 */
export function causesOf(
  all: readonly InputChange[],
  paths: readonly string[],
  extra: readonly string[],
  before?: TreeSource,
  after?: TreeSource,
  evidence: Evidence = [],
): InputChange[] {
  const subtrees = new Set<string>(extra);
  for (const path of paths) {
    for (const p of before?.provenance.get(path) ?? []) subtrees.add(p);
    for (const p of after?.provenance.get(path) ?? []) subtrees.add(p);
  }
  const list = [...subtrees];
  // A subtree added or removed as a whole explains what lies inside it, and a change inside explains its container.
  const candidates = all.filter((c) => withinPointers(c.pointer, list) || list.some((s) => s.startsWith(`${c.pointer}/`)));
  const matched = candidates.filter((c) => evidence.some((e) => explains(c, e)));
  if (matched.length > 0) return matched;
  const structural = candidates.filter((c) => c.type !== 'changed');
  if (structural.length > 0) return structural;
  return candidates.length === 1 ? candidates : [];
}

/** "`environments/base.yaml:42` changed `policies.backup.daily.retentionDays` 7 → 5". */
export function causeText(c: InputChange): string {
  const at = c.position ? `\`${c.position.file}:${c.position.line}\` ` : '';
  if (c.type === 'changed') return `${at}changed \`${c.field}\` ${c.before} → ${c.after}`;
  if (c.type === 'added') return `${at}added \`${c.field}\`${c.after !== undefined ? ` = ${c.after}` : ''}`;
  return `${at}removed \`${c.field}\`${c.before !== undefined ? ` (was ${c.before})` : ''}`;
}
