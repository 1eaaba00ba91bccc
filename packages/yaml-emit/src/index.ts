/**
 * A block-style YAML emitter for JSON-shaped data (objects, arrays, strings, finite
 * numbers, booleans, null) — the shape of every Kubernetes object topoforge writes.
 *
 * Why not a library: `yaml`'s stringify measured ~9x and `js-yaml` ~3.7x the floor of
 * `JSON.stringify` + write at 100k objects; the render target is 2x (docs/benchmarks.md).
 * Because the input is JSON-shaped, the emitter needs no anchors, tags or flow styles,
 * which keeps it small enough to test exhaustively against the `yaml` parser
 * (round-trip tests under YAML 1.1 and 1.2 rules).
 *
 * Output rules, chosen for reviewable GitOps diffs:
 * - block style everywhere; `{}` / `[]` only for empty collections;
 * - keys sorted: `apiVersion, kind, metadata, name, namespace` first, then by code point,
 *   so output never depends on the order in which a plugin built an object;
 * - strings plain only when no YAML 1.1 or 1.2 resolver could read them as anything else,
 *   otherwise double-quoted; multi-line strings as literal blocks (`|`, `|-`, `|+`).
 */

export class YamlEmitError extends Error {
  readonly code = 'YAML_EMIT_UNSUPPORTED_VALUE';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${message} at ${path || '<root>'}`);
    this.name = 'YamlEmitError';
  }
}

/**
 * A key's place among the leading keys (`apiVersion, kind, metadata, name, namespace`), -1 for
 * any other: by its first character, then one comparison (every key of every mapping is ranked
 * while sorting; two lookups in a Map per comparison were ~4 % of a render's serialization).
 */
function leadingRank(k: string): number {
  switch (k.charCodeAt(0)) {
    case 97: // a
      return k === 'apiVersion' ? 0 : -1;
    case 107: // k
      return k === 'kind' ? 1 : -1;
    case 109: // m
      return k === 'metadata' ? 2 : -1;
    case 110: // n
      return k === 'name' ? 3 : k === 'namespace' ? 4 : -1;
    default:
      return -1;
  }
}

/** Orders keys: conventional Kubernetes leading keys, then by UTF-16 code unit (locale-free). */
export function compareKeys(a: string, b: string): number {
  const ra = leadingRank(a);
  const rb = leadingRank(b);
  if (ra !== -1 || rb !== -1) {
    if (ra === -1) return 1;
    if (rb === -1) return -1;
    return ra - rb;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

// Words that YAML 1.1 (go-yaml, used by Kubernetes tooling) or 1.2 would resolve to a
// boolean or null; compared lower-cased.
const RESERVED = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', '~', '']);
// Plain-safe: starts with a letter, `_` or `/`; continues with characters that carry no
// YAML meaning in block context; single spaces between words; no `: ` and no ` #`. As a
// regular expression (the reference the tests hold isPlainSafe to):
//   ^[A-Za-z_/][A-Za-z0-9_./@+\-=,()%$^*!&:]*(?: [A-Za-z0-9_./@+\-=,()%$^*!&]+)*$
// plus: at most 200 characters, not a RESERVED word, no `:` at the end, no `: ` inside.
// Written as one pass over the characters: most values of a render are plain, each is
// tested once, and the pass allocates nothing (the expression and its lower-casing were a
// tenth of the emitter's time at 100k objects).
const WORD = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./@+-=,()%$^*!&') WORD[c.charCodeAt(0)] = 1;
const COLON = 58;
const SPACE = 32;

function isPlainSafe(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 200) return false;
  const c0 = s.charCodeAt(0);
  if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122) || c0 === 95 || c0 === 47)) return false;
  // The first word may hold `:` (not before a space, not at the end: checked below).
  let i = 1;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === SPACE) break;
    if (c !== COLON && (c >= 128 || WORD[c] === 0)) return false;
  }
  if (i < n && s.charCodeAt(i - 1) === COLON) return false;
  // Then words of one or more characters, each after a single space, without `:`.
  while (i < n) {
    const start = ++i;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === SPACE) break;
      if (c >= 128 || WORD[c] === 0) return false;
    }
    if (i === start) return false;
  }
  if (s.charCodeAt(n - 1) === COLON) return false;
  // Every RESERVED word is at most 5 characters long.
  if (n <= 5 && RESERVED.has(s.toLowerCase())) return false;
  return true;
}

// Literal blocks keep multi-line strings readable in diffs. They are used only when the
// text survives the block scalar exactly: no CR or other control characters, no
// whitespace-only lines (indentation would swallow them), no leading space on the first
// line (it would need an indentation indicator).
const LITERAL_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff]/;
function literalBlock(s: string, indent: string): string | undefined {
  if (LITERAL_UNSAFE.test(s)) return undefined;
  if (s.startsWith(' ') || s.startsWith('\t') || s.startsWith('\n')) return undefined;
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 10) end--;
  const trailingNewlines = s.length - end;
  const header = trailingNewlines === 0 ? '|-' : trailingNewlines === 1 ? '|' : '|+';
  const out = [header];
  for (const line of s.slice(0, end).split('\n')) {
    if (line.length > 0 && line.trim() === '') return undefined;
    out.push(line === '' ? '' : indent + line);
  }
  // keep-chomping: the extra newlines are content, written as empty lines
  for (let i = 1; i < trailingNewlines; i++) out.push('');
  return out.join('\n');
}

function quote(s: string): string {
  // A JSON string is a valid YAML double-quoted scalar.
  return JSON.stringify(s);
}

// A plain string is written as it is; a quoted one (rarer: numbers, booleans and words YAML
// would resolve as a string) is remembered, bounded so a huge render cannot grow it.
const QUOTED_CACHE = new Map<string, string>();
const QUOTED_CACHE_MAX = 50_000;
function inlineString(s: string): string {
  if (isPlainSafe(s)) return s;
  let v = QUOTED_CACHE.get(s);
  if (v === undefined) {
    v = quote(s);
    if (QUOTED_CACHE.size < QUOTED_CACHE_MAX) QUOTED_CACHE.set(s, v);
  }
  return v;
}

function scalarKey(key: string): string {
  return inlineString(key);
}

/**
 * The start of a key's line at a level, `<indent><key>: ` (or `<indent><key>:\n` before a
 * nested collection), made once per key and level: one piece instead of three, for a join
 * that does a third of the work. Bounded per level like QUOTED_CACHE.
 */
const HEADS: Map<string, string>[] = [];
const BLOCK_HEADS: Map<string, string>[] = [];
// Kubernetes objects share a few hundred keys; unique keys (a ConfigMap's data) are not worth keeping.
const HEADS_MAX = 2_000;
function headOf(cache: Map<string, string>[], level: number, key: string, end: string): string {
  const byKey = (cache[level] ??= new Map());
  let h = byKey.get(key);
  if (h === undefined) {
    h = indentOf(level) + scalarKey(key) + end;
    if (byKey.size < HEADS_MAX) byKey.set(key, h);
  }
  return h;
}

const INDENTS: string[] = [''];
function indentOf(level: number): string {
  let s = INDENTS[level];
  if (s === undefined) {
    s = '  '.repeat(level);
    INDENTS[level] = s;
  }
  return s;
}

function isCollection(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** Writes `value` as the value part that follows `key:` or `- `; returns the text. */
function scalar(value: unknown, level: number): string {
  switch (typeof value) {
    case 'string':
      if (value.includes('\n')) {
        const lit = literalBlock(value, indentOf(level));
        if (lit !== undefined) return lit;
        return quote(value);
      }
      return inlineString(value);
    case 'number':
      if (!Number.isFinite(value)) throw emitError(`non-finite number ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      break;
    default:
      break;
  }
  throw emitError(`cannot emit a value of type ${typeof value}`);
}

/**
 * Sorts `keys[from..to)` in place by compareKeys: insertion sort, which allocates nothing
 * (Array.prototype.sort allocated a work array per call: ~3 KB of garbage per Kubernetes
 * object, a tenth of a render's allocation at 100k objects). Objects have few keys; a large
 * one is sorted by the builtin.
 */
function sortRange(keys: string[], from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    if (compareKeys(keys[i - 1]!, keys[i]!) <= 0) continue;
    if (to - from > 64) {
      const sorted = keys.slice(from, to).sort(compareKeys);
      for (let j = 0; j < sorted.length; j++) keys[from + j] = sorted[j]!;
      return;
    }
    const k = keys[i]!;
    let j = i - 1;
    while (j >= from && compareKeys(keys[j]!, k) > 0) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
}

function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const k in obj) if (obj[k] !== undefined) keys.push(k);
  sortRange(keys, 0, keys.length);
  return keys;
}

function sortedEntries(obj: Record<string, unknown>): [string, unknown][] {
  return sortedKeys(obj).map((k) => [k, obj[k]]);
}

/*
 * The emitter appends a document's pieces (indent, key, `: `, value, newline: strings that
 * already exist, mostly cached) to one string, a V8 rope that is flattened once, when the
 * document is first read (hashed). Lines built by `+` and joined made three or four
 * intermediate strings per line, and a fresh array per document grew by copying: ~13 KB of
 * garbage per Kubernetes object of ~1 KB of YAML, which the render's small young generation
 * (see the CLI) collected ~2,000 times at 100k objects. Pieces kept in one long-lived array
 * and joined cost a write barrier per piece (a young string stored in an old array) and
 * the array's blanking after each document. The rope makes ~3 KB of short-lived cells per
 * object, flattened when toYaml returns, and is faster: making, serializing and hashing 112k Deployments took ~795 ms against
 * ~835 ms with the array (GC included, the render's young generation). The keys
 * of each mapping go into a stack of arrays reused the same way, and the path of a value (for
 * an error) is kept as a stack of keys, made a string only when an error is thrown.
 */
let OUT = '';
const KEY_STACK: string[] = [];
let keyTop = 0;
const PATH: (string | number)[] = [];
let pathTop = 0;

function piece(s: string): void {
  OUT += s;
}

function emitError(message: string): YamlEmitError {
  let path = '';
  for (let i = 0; i < pathTop; i++) path += typeof PATH[i] === 'number' ? `[${PATH[i]}]` : `.${PATH[i]}`;
  return new YamlEmitError(message, path);
}

/**
 * Pushes the keys of `obj` that have a value onto KEY_STACK; returns how many. A nested
 * mapping's keys are pushed once, before its key's line is written: none means it is written
 * as `{}` (one pass over its keys, not one to see it is empty and another to write it).
 */
function pushKeys(obj: object): number {
  const from = keyTop;
  for (const k in obj) if ((obj as Record<string, unknown>)[k] !== undefined) KEY_STACK[keyTop++] = k;
  return keyTop - from;
}

/**
 * Whether `v` is written as a block under its key or dash: a collection with something in it.
 * A mapping's keys are pushed (see pushKeys) for emitMapping; an empty one pushes none.
 */
function opensBlock(v: unknown): v is object {
  if (typeof v !== 'object' || v === null) return false;
  return Array.isArray(v) ? v.length > 0 : pushKeys(v) > 0;
}

/** Writes the mapping whose keys were pushed at KEY_STACK[from..keyTop) (see opensBlock); pops them. */
function emitMapping(obj: Record<string, unknown>, level: number, firstPrefix: string | null, from: number): void {
  // This mapping's keys occupy KEY_STACK[from..to); a nested mapping's go above them.
  const to = keyTop;
  sortRange(KEY_STACK, from, to);
  for (let i = from; i < to; i++) {
    const k = KEY_STACK[i]!;
    const v = obj[k];
    // The first key of a sequence's item goes on the item's dash line: no head of its own.
    const first = i === from && firstPrefix !== null;
    if (first) {
      piece(firstPrefix);
      piece(scalarKey(k));
    }
    PATH[pathTop++] = k;
    if (opensBlock(v)) {
      piece(first ? ':\n' : headOf(BLOCK_HEADS, level, k, ':\n'));
      if (Array.isArray(v)) emitSequence(v, level + 1, null);
      else emitMapping(v as Record<string, unknown>, level + 1, null, to);
    } else {
      piece(first ? ': ' : headOf(HEADS, level, k, ': '));
      piece(inlineValue(v, level + 1));
      piece('\n');
    }
    pathTop--;
  }
  keyTop = from;
}

/** The text of a value written on its key's line (or its dash's): a scalar or an empty collection. PATH names it. */
function inlineValue(v: unknown, level: number): string {
  if (typeof v === 'string' && !v.includes('\n')) return inlineString(v);
  if (isCollection(v)) {
    if (Array.isArray(v)) return '[]';
    if (v instanceof Date || v instanceof Map || v instanceof Set) throw emitError(`cannot emit a ${v.constructor.name}`);
    return '{}';
  }
  return scalar(v, level);
}

const DASH_PREFIXES: string[] = [];
function dashOf(level: number): string {
  let s = DASH_PREFIXES[level];
  if (s === undefined) {
    s = indentOf(level) + '- ';
    DASH_PREFIXES[level] = s;
  }
  return s;
}

function emitSequence(arr: unknown[], level: number, firstPrefix: string | null): void {
  const dash = dashOf(level);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    // The first item of a sequence nested in a sequence goes on its parent's dash line.
    const prefix = i === 0 && firstPrefix !== null ? firstPrefix + '- ' : dash;
    PATH[pathTop++] = i;
    if (v === undefined) throw emitError('undefined in an array');
    const from = keyTop;
    if (opensBlock(v)) {
      if (Array.isArray(v)) emitSequence(v, level + 1, prefix);
      else emitMapping(v as Record<string, unknown>, level + 1, prefix, from);
    } else {
      piece(prefix);
      piece(inlineValue(v, level + 1));
      piece('\n');
    }
    pathTop--;
  }
}

/** Emits one YAML document (no `---`), ending with a newline. */
export function toYaml(value: unknown): string {
  OUT = '';
  keyTop = 0;
  pathTop = 0;
  try {
    if (opensBlock(value)) {
      if (Array.isArray(value)) emitSequence(value, 0, null);
      else emitMapping(value as Record<string, unknown>, 0, null, 0);
    } else {
      piece(inlineValue(value, 0));
      piece('\n');
    }
    // Flat before it is returned: reading a character flattens a V8 rope in place. A caller
    // that holds the document unread (check and diff hold every one) would otherwise hold its
    // cells, ~3x the text (a test holds documents and measures the heap).
    OUT.charCodeAt(0);
    return OUT;
  } finally {
    // Not held past the document (its string belongs to the caller).
    OUT = '';
  }
}

/** Emits several documents separated by `---` lines. */
export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map(toYaml).join('---\n');
}

/**
 * `value` with keys in emission order, like sortKeysDeep, but every subtree already in that
 * order (and without undefined members) is the input's own: for read-only use, e.g. a diff
 * holding every object of a 100k-object render, where copying them all cost seconds of
 * allocation and collection (issue 19).
 */
export function inEmissionOrder<T>(value: T): T {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const o = inEmissionOrder(v);
      if (o !== v && !out) out = value.slice(0, i);
      if (out) out.push(o);
    }
    return (out ?? value) as T;
  }
  if (isCollection(value)) {
    const obj = value as Record<string, unknown>;
    const keys = sortedKeys(obj);
    let same = true;
    let i = 0;
    for (const k in obj) {
      if (keys[i++] !== k) {
        same = false;
        break;
      }
    }
    if (i !== keys.length) same = false;
    const children = keys.map((k) => {
      const v = obj[k];
      const o = inEmissionOrder(v);
      if (o !== v) same = false;
      return o;
    });
    if (same) return value;
    const res: Record<string, unknown> = {};
    keys.forEach((k, j) => (res[k] = children[j]));
    return res as T;
  }
  return value;
}

/** Deep-copies `value` with keys in emission order; handy for JSON output with the same order. */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeysDeep) as T;
  if (isCollection(value)) {
    const res: Record<string, unknown> = {};
    for (const [k, v] of sortedEntries(value as Record<string, unknown>)) res[k] = sortKeysDeep(v);
    return res as T;
  }
  return value;
}
