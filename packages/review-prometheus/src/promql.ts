/**
 * A conservative look at how an alert expression changed. PromQL is not parsed fully
 * (promtool and the operator check syntax); we only need to know whether two versions
 * differ in nothing but numeric literals, and for each changed literal whether the alert
 * now fires less often (looser), more often (tighter), or we cannot tell.
 *
 * The direction is known only in the plain case: the literal is the whole operand of a
 * comparison (`X > 5`, `0.5 > X`) that is not nested in a function or aggregation call,
 * and whose enclosing parentheses only combine filters with `and`/`or`. A comparison used
 * that way is a filter: raising N in `X > N` lets fewer series through, so the alert fires
 * less. Anything that can invert that (`unless`, `absent`, `bool`, unary minus, `==`)
 * makes every literal's direction unknown — the reviewer gets "check direction".
 */

export type Direction = 'looser' | 'tighter' | 'unknown';

export interface LiteralChange {
  readonly before: number;
  readonly after: number;
  readonly direction: Direction;
}

export type ExprChange = { readonly kind: 'same' } | { readonly kind: 'rewritten' } | { readonly kind: 'literals'; readonly changes: readonly LiteralChange[] };

interface Token {
  readonly t: 'num' | 'ident' | 'op' | 'open' | 'close' | 'comma' | 'opaque';
  readonly v: string;
}

const COMPARE = new Set(['>', '<', '>=', '<=']);
const SET_OPS = new Set(['and', 'or']);
const INVERTING = new Set(['unless', 'absent', 'absent_over_time', 'bool', '==', '!=']);

export function tokenize(expr: string): Token[] | undefined {
  const out: Token[] = [];
  let i = 0;
  const s = expr;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      // comment to end of line
      while (i < s.length && s[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const end = scanString(s, i);
      if (end < 0) return undefined;
      out.push({ t: 'opaque', v: s.slice(i, end) });
      i = end;
      continue;
    }
    if (c === '{' || c === '[') {
      // label matchers and range/subquery selectors: compared as opaque text
      const close = c === '{' ? '}' : ']';
      let j = i + 1;
      while (j < s.length && s[j] !== close) {
        if (s[j] === '"' || s[j] === "'" || s[j] === '`') {
          j = scanString(s, j);
          if (j < 0) return undefined;
        } else j++;
      }
      if (j >= s.length) return undefined;
      out.push({ t: 'opaque', v: s.slice(i, j + 1).replace(/\s+/g, '') });
      i = j + 1;
      continue;
    }
    const dur = /^\d+(ms|s|m|h|d|w|y)(\d+(ms|s|m|h|d|w|y))*(?![A-Za-z0-9_.])/.exec(s.slice(i));
    if (dur && out.at(-1)?.v === 'offset') {
      out.push({ t: 'opaque', v: dur[0] });
      i += dur[0].length;
      continue;
    }
    const num = /^(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/.exec(s.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(s.slice(i));
    if (id) {
      out.push({ t: 'ident', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = /^(==|!=|>=|<=|=~|!~|[-+*/%^<>=])/.exec(s.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[0] });
      i += op[0].length;
      continue;
    }
    if (c === '(') out.push({ t: 'open', v: c });
    else if (c === ')') out.push({ t: 'close', v: c });
    else if (c === ',') out.push({ t: 'comma', v: c });
    else return undefined;
    i++;
  }
  return out;
}

function scanString(s: string, start: number): number {
  const q = s[start]!;
  let j = start + 1;
  while (j < s.length) {
    if (s[j] === '\\' && q !== '`') j += 2;
    else if (s[j] === q) return j + 1;
    else j++;
  }
  return -1;
}

const skeleton = (ts: readonly Token[]): string => ts.map((t) => (t.t === 'num' ? '#' : t.v)).join(' ');

function isUnaryMinus(ts: readonly Token[], i: number): boolean {
  if (ts[i]!.v !== '-' || ts[i]!.t !== 'op') return false;
  const prev = ts[i - 1];
  return !prev || prev.t === 'op' || prev.t === 'open' || prev.t === 'comma' || (prev.t === 'ident' && (SET_OPS.has(prev.v) || prev.v === 'unless'));
}

/** The comparison operator a literal is the plain operand of, as `X op N`; undefined otherwise. */
function plainComparison(ts: readonly Token[], i: number): string | undefined {
  const prev = ts[i - 1];
  const next = ts[i + 1];
  const nextIsBoundary = !next || next.t === 'close' || (next.t === 'ident' && SET_OPS.has(next.v));
  const prevIsBoundary = !prev || prev.t === 'open' || (prev.t === 'ident' && SET_OPS.has(prev.v));
  let op: string | undefined;
  if (prev?.t === 'op' && COMPARE.has(prev.v) && nextIsBoundary) op = prev.v;
  else if (next?.t === 'op' && COMPARE.has(next.v) && prevIsBoundary) {
    // N op X  ≡  X op' N
    op = { '>': '<', '<': '>', '>=': '<=', '<=': '>=' }[next.v];
  }
  if (!op) return undefined;
  // Every enclosing parenthesis must be a plain group that is itself a filter operand.
  let depth = 0;
  for (let j = i - 1; j >= 0; j--) {
    const t = ts[j]!;
    if (t.t === 'close') depth++;
    else if (t.t === 'open') {
      if (depth > 0) {
        depth--;
        continue;
      }
      const before = ts[j - 1];
      if (before && !(before.t === 'open' || (before.t === 'ident' && SET_OPS.has(before.v)))) return undefined;
      const close = matchingClose(ts, j);
      if (close < 0) return undefined;
      const after = ts[close + 1];
      if (after && !(after.t === 'close' || (after.t === 'ident' && SET_OPS.has(after.v)))) {
        // a group compared as a whole, e.g. `(a / b) < 0.5`, is fine only when the literal is not inside it
        return undefined;
      }
    }
  }
  return op;
}

function matchingClose(ts: readonly Token[], open: number): number {
  let depth = 0;
  for (let j = open; j < ts.length; j++) {
    if (ts[j]!.t === 'open') depth++;
    else if (ts[j]!.t === 'close' && --depth === 0) return j;
  }
  return -1;
}

export function compareExpr(before: string, after: string): ExprChange {
  const a = tokenize(before);
  const b = tokenize(after);
  if (!a || !b) return before.trim() === after.trim() ? { kind: 'same' } : { kind: 'rewritten' };
  if (skeleton(a) !== skeleton(b)) return { kind: 'rewritten' };
  const inverting = b.some((t, i) => INVERTING.has(t.v) || isUnaryMinus(b, i));
  const changes: LiteralChange[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i]!.t !== 'num') continue;
    const x = Number(a[i]!.v);
    const y = Number(b[i]!.v);
    if (x === y) continue;
    let direction: Direction = 'unknown';
    const op = inverting ? undefined : plainComparison(b, i);
    if (op === '>' || op === '>=') direction = y > x ? 'looser' : 'tighter';
    else if (op === '<' || op === '<=') direction = y < x ? 'looser' : 'tighter';
    changes.push({ before: x, after: y, direction });
  }
  return changes.length === 0 ? { kind: 'same' } : { kind: 'literals', changes };
}
