/**
 * Field-level comparison of two versions of an object. Lists of objects that carry a
 * unique `name` (containers, metrics, rule groups), `alert` or `record` are matched by
 * that key, so inserting one entry reports one change rather than a shift of every
 * following index. Values are shown short, and never when they may be a credential.
 */
import { credentialReason } from './secrets.js';
import { isObj, type Json, type JsonObject } from './objects.js';

export interface FieldChange {
  /** `spec.template.ttl`, `spec.groups[name=traffic].rules[alert=TrafficDrop].for`. */
  readonly path: string;
  /** Display text; `(none)` when absent, `(redacted)` when it may be a secret. */
  readonly before: string;
  readonly after: string;
  /**
   * In a row folding several objects that changed this field differently (each Schedule of a
   * rotation its own days): how many different changes; `before`/`after` show the first.
   */
  readonly variants?: number;
}

const KEYS = ['name', 'alert', 'record'] as const;

function listKey(a: readonly Json[], b: readonly Json[]): (typeof KEYS)[number] | undefined {
  const all = [...a, ...b];
  if (all.length === 0 || !all.every(isObj)) return undefined;
  for (const k of KEYS) {
    const unique = (xs: readonly Json[]) => {
      const vals = xs.map((x) => (x as JsonObject)[k]);
      return vals.every((v) => typeof v === 'string') && new Set(vals).size === vals.length;
    };
    if (unique(a) && unique(b)) return k;
  }
  return undefined;
}

/**
 * Deep equality of two JSON values; object keys in any order (YAML mappings have none that
 * matters), lists in order. Not JSON.stringify of both: visit() asks at every level, and
 * stringifying each subtree again made a diff of 100k objects spend seconds here (issue 19).
 */
function equal(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !equal((a as JsonObject)[k], (b as JsonObject)[k])) return false;
  return true;
}

function containsCredential(v: Json | undefined, key: string | undefined): boolean {
  if (typeof v === 'string') return credentialReason(key, v) !== undefined;
  if (Array.isArray(v)) return v.some((x) => containsCredential(x, key));
  if (isObj(v)) return Object.entries(v).some(([k, x]) => containsCredential(x, k));
  return false;
}

const MAX = 80;

/** A short display of a value; `redact` hides it entirely. */
export function show(v: Json | undefined, key?: string, redact = false): string {
  if (v === undefined) return '(none)';
  if (redact || containsCredential(v, key)) return '(redacted)';
  if (typeof v === 'string') {
    if (v.includes('\n')) return `(text, ${v.replace(/\n$/, '').split('\n').length} lines)`;
    return v.length > MAX ? `${v.slice(0, MAX - 1)}…` : v;
  }
  const s = JSON.stringify(v);
  if (s.length <= MAX) return s;
  return Array.isArray(v) ? `[${v.length} items]` : `{${Object.keys(v as JsonObject).length} keys}`;
}

/**
 * Changed fields between two objects. `secretPaths` are top-level keys whose values are
 * never shown (a Secret's `data` and `stringData`).
 */
export function fieldChanges(before: Json | undefined, after: Json | undefined, secretPaths: ReadonlySet<string> = new Set()): FieldChange[] {
  const out: FieldChange[] = [];
  const visit = (a: Json | undefined, b: Json | undefined, path: string, key: string | undefined, redact: boolean): void => {
    if (equal(a, b)) return;
    if (isObj(a) && isObj(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const k of keys) visit(a[k], b[k], path ? `${path}.${k}` : k, k, redact || (path === '' && secretPaths.has(k)));
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const k = listKey(a, b);
      if (k) {
        const byKey = (xs: readonly Json[]) => new Map(xs.map((x) => [(x as JsonObject)[k] as string, x]));
        const ma = byKey(a);
        const mb = byKey(b);
        const names = [...new Set([...mb.keys(), ...ma.keys()])];
        for (const n of names) visit(ma.get(n), mb.get(n), `${path}[${k}=${n}]`, key, redact);
        // a pure reordering is a change too (rule order, step order)
        if (names.every((n) => equal(ma.get(n), mb.get(n))))
          out.push({ path: `${path} (order)`, before: [...ma.keys()].join(', '), after: [...mb.keys()].join(', ') });
        return;
      }
      if (a.length === b.length && a.some((x) => isObj(x) || Array.isArray(x))) {
        a.forEach((x, i) => visit(x, b[i], `${path}[${i}]`, key, redact));
        return;
      }
    }
    out.push({ path, before: show(a, key, redact), after: show(b, key, redact) });
  };
  visit(before, after, '', undefined, false);
  return out;
}
