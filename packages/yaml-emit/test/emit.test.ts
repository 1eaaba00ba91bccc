import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, parseDocument, type Scalar, type YAMLMap } from 'yaml';
import { compareKeys, inEmissionOrder, toYaml, toYamlDocuments, YamlEmitError, sortKeysDeep } from '../src/index.js';

const TRICKY = [
  '',
  ' ',
  'true',
  'True',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'n',
  'null',
  'Null',
  '~',
  '0',
  '007',
  '0o17',
  '0x1F',
  '1e3',
  '-1',
  '+1',
  '.5',
  '.inf',
  '-.Inf',
  '.NaN',
  '1_000',
  '12:30',
  '1:20:30',
  '2024-01-01',
  '2024-01-01T00:00:00Z',
  'a: b',
  'a:b',
  'a:',
  'a #b',
  'a#b',
  '#x',
  '- x',
  '-x',
  '? x',
  '*ref',
  '&anchor',
  '!tag',
  '%dir',
  '@at',
  '`tick',
  '"dq"',
  "'sq'",
  '[x]',
  '{x}',
  'x, y',
  '|',
  '>',
  'a\tb',
  'trailing ',
  ' leading',
  'multi\nline',
  'multi\nline\n',
  'multi\n\nline\n\n\n',
  '\nstarts with newline',
  'ends\n  \n',
  'cr\r\nlf',
  'unicode ✓ ünïcödé',
  'emoji 🚀',
  'ctl\u0001',
  'bom\ufeff',
  'nel\u0085',
  '0 0 * * *',
  'CRON_TZ=Europe/Paris 0 0 * * 2,5',
  '168h0m0s',
  'http://example.com/a?b=c#d',
  'app.kubernetes.io/name',
  'sum(rate(x[5m])) by (dc)',
  '=',
  '---',
  '...',
  'a ... b',
  '- ',
  'x\n- y',
  '  indented\nlines',
  'line\n  indented continuation\n',
  'key: value\nother: value\n',
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(r: () => number, depth: number): unknown {
  const pick = r();
  if (depth > 3 || pick < 0.45) {
    const k = r();
    if (k < 0.55) return TRICKY[Math.floor(r() * TRICKY.length)];
    if (k < 0.7) return Math.floor(r() * 2e6) - 1e6;
    if (k < 0.8) return r() * 1000;
    if (k < 0.9) return r() < 0.5;
    return null;
  }
  if (pick < 0.7) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  const obj: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) obj[TRICKY[Math.floor(r() * TRICKY.length)]!] = randomValue(r, depth + 1);
  return obj;
}

describe('toYaml', () => {
  it('returns a flat string: documents held unread cost about their text, not the rope of their pieces', () => {
    // check and diff hold every document of a render; a rope is ~3x its text in cells.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const doc = (i: number) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `app-${i}`, namespace: 'shop', labels: { app: 'app', part: `p${i}` } },
      spec: {
        replicas: 2,
        template: { spec: { containers: [{ name: 'app', image: `registry/app:${i}`, args: ['--a=1', '--b=2'], env: [{ name: 'N', value: String(i) }] }] } },
      },
    });
    const held: string[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    let chars = 0;
    for (let i = 0; i < 20_000; i++) {
      const y = toYaml(doc(i));
      chars += y.length;
      held.push(y);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(held).toHaveLength(20_000);
    expect(held[7]).toContain('name: app-7');
    // Flat one-byte strings: their text and a header each (and the array's slot).
    expect(grown).toBeLessThan(chars * 1.6);
  });

  it.each(TRICKY)('round-trips the string %j under YAML 1.2 and 1.1', (s) => {
    const doc = { value: s, list: [s], [s]: 'as key' };
    const text = toYaml(doc);
    expect(parse(text, { version: '1.2' })).toEqual(doc);
    expect(parse(text, { version: '1.1' })).toEqual(doc);
  });

  it('round-trips 2000 random nested values exactly', () => {
    const r = rng(42);
    for (let i = 0; i < 2000; i++) {
      const v = { root: randomValue(r, 0) };
      const text = toYaml(v);
      expect(parse(text, { version: '1.1', uniqueKeys: true }), text).toEqual(v);
    }
  });

  it('orders Kubernetes keys conventionally and the rest by code point', () => {
    const text = toYaml({ spec: { b: 1, a: 2 }, metadata: { labels: { z: 'z', a: 'a' }, name: 'demo' }, kind: 'K', apiVersion: 'v1', data: {} });
    expect(text).toBe('apiVersion: v1\nkind: K\nmetadata:\n  name: demo\n  labels:\n    a: a\n    z: z\ndata: {}\nspec:\n  a: 2\n  b: 1\n');
  });

  it('uses block style with literal blocks for multi-line strings', () => {
    const text = toYaml({ items: [{ name: 'a', script: 'echo 1\necho 2\n' }, [1, [2]]], empty: [] });
    expect(text).toBe('empty: []\nitems:\n  - name: a\n    script: |\n      echo 1\n      echo 2\n  - - 1\n    - - 2\n');
  });

  it('skips undefined object fields but rejects undefined array items and non-finite numbers with the path', () => {
    expect(toYaml({ a: undefined, b: 1 })).toBe('b: 1\n');
    expect(() => toYaml({ a: [1, undefined] })).toThrow(YamlEmitError);
    expect(() => toYaml({ a: { b: Number.NaN } })).toThrow(/\.a\.b/);
    expect(() => toYaml({ a: () => 1 })).toThrow(/type function/);
  });

  it('writes a string plain exactly when the reference expression allows it (50,000 random strings)', () => {
    // The rule isPlainSafe implements in one pass, as it was written before (issue 19).
    const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+\-=,()%$^*!&:]*(?: [A-Za-z0-9_./@+\-=,()%$^*!&]+)*$/;
    const RESERVED = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', '~', '']);
    const reference = (s: string): boolean => s.length <= 200 && PLAIN.test(s) && !RESERVED.has(s.toLowerCase()) && !s.endsWith(':') && !s.includes(': ');
    const alphabet = 'aZ_/09.:@ -#=,()%$^*!&+?"\'|>~\tüé✓';
    const r = rng(3);
    const samples = [
      ...TRICKY,
      'a'.repeat(200),
      'a'.repeat(201),
      'a: ',
      'a :b',
      'a:b c',
      'a b:',
      'a  b',
      'a b ',
      'Yes',
      'NULL',
      'offx',
      'false',
      'FALSE',
      'False',
      'falsey',
    ];
    for (let i = 0; i < 50_000; i++) {
      const n = 1 + Math.floor(r() * 8);
      let t = '';
      for (let j = 0; j < n; j++) t += alphabet[Math.floor(r() * alphabet.length)];
      samples.push(t);
    }
    for (const t of samples) {
      if (t.includes('\n')) continue;
      expect(toYaml({ v: t }) === `v: ${t}\n`, JSON.stringify(t)).toBe(reference(t));
    }
  });

  it('orders the leading Kubernetes keys first, then every other key by code unit, near misses included', () => {
    const keys = [
      'zeta',
      'namespace',
      'Kind',
      'apiVersions',
      'name',
      'kind',
      'metadata',
      'apiVersion',
      'names',
      'n',
      'kinds',
      'metadat',
      'a',
      '',
      'mETADATA',
      'namespac',
      'ápi',
    ];
    expect([...keys].sort(compareKeys)).toEqual([
      'apiVersion',
      'kind',
      'metadata',
      'name',
      'namespace',
      '',
      'Kind',
      'a',
      'apiVersions',
      'kinds',
      'mETADATA',
      'metadat',
      'n',
      'names',
      'namespac',
      'zeta',
      'ápi',
    ]);
    expect(toYaml({ b: 1, namespace: 'x', name: 'yy', kind: 'K', metadata: { name: 'm', a: 1 }, apiVersion: 'v1' })).toBe(
      'apiVersion: v1\nkind: K\nmetadata:\n  name: m\n  a: 1\nname: yy\nnamespace: x\nb: 1\n',
    );
  });

  it('writes keys in compareKeys order, for mappings of few keys and of many (over 64)', () => {
    const r = rng(11);
    for (let i = 0; i < 300; i++) {
      const n = i % 3 === 0 ? 65 + Math.floor(r() * 100) : Math.floor(r() * 12);
      const obj: Record<string, unknown> = {};
      for (let j = 0; j < n; j++) obj[i % 2 === 0 ? TRICKY[Math.floor(r() * TRICKY.length)]! : `k${Math.floor(r() * 1000)}`] = j;
      // Nested too: each level sorts its own keys while the enclosing level's wait.
      const doc = { outer: obj, z: { ...obj }, a: 1 };
      // Keys as the document has them (a parsed object would list integer-like keys first).
      const root = parseDocument(toYaml(doc), { version: '1.1' }).contents as YAMLMap;
      const keysOf = (m: YAMLMap): unknown[] => m.items.map((p) => (p.key as Scalar).value);
      const want = Object.keys(obj).sort(compareKeys);
      expect(keysOf(root)).toEqual(['a', 'outer', 'z']);
      expect(keysOf(root.get('outer', true) as unknown as YAMLMap)).toEqual(want);
      expect(keysOf(root.get('z', true) as unknown as YAMLMap)).toEqual(want);
    }
  });

  it('emits each document on its own: in any order, and after one that failed, each text is the same', () => {
    const r = rng(5);
    const values = Array.from({ length: 400 }, (_, i) =>
      i % 50 === 0 ? { big: Array.from({ length: 500 }, (_, j) => ({ j })) } : { root: randomValue(r, 0) },
    );
    const forward = values.map((v) => toYaml(v));
    const backward = [...values].reverse().map((v) => toYaml(v));
    expect(backward.reverse()).toEqual(forward);
    for (let i = 0; i < values.length; i += 7) {
      expect(() => toYaml({ deep: { list: [1, 2, { x: [3, Number.POSITIVE_INFINITY] }] }, after: 'x' })).toThrow(YamlEmitError);
      expect(toYaml(values[i])).toBe(forward[i]);
    }
  });

  it('names the path of a failing value through mappings and sequences', () => {
    expect(() => toYaml({ a: [{ b: [1, Number.NaN] }] })).toThrow('non-finite number NaN at .a[0].b[1]');
    expect(() => toYaml([[1], [2, undefined]])).toThrow('undefined in an array at [1][1]');
    expect(() => toYaml(Number.NaN)).toThrow('at <root>');
  });

  it('joins documents with --- and parses back as separate documents', () => {
    const text = toYamlDocuments([{ a: 1 }, { b: 'x' }]);
    expect(parseAllDocuments(text).map((d) => d.toJS())).toEqual([{ a: 1 }, { b: 'x' }]);
  });

  it('sortKeysDeep gives the emission order for JSON', () => {
    expect(Object.keys(sortKeysDeep({ spec: 1, kind: 'x', apiVersion: 'v' }))).toEqual(['apiVersion', 'kind', 'spec']);
  });

  it('inEmissionOrder gives what sortKeysDeep gives, key order included, on 2000 random values (some with undefined members)', () => {
    const r = rng(7);
    const keyOrder = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(keyOrder) : v !== null && typeof v === 'object' ? Object.entries(v).map(([k, x]) => [k, keyOrder(x)]) : v;
    for (let i = 0; i < 2000; i++) {
      const v = { root: randomValue(r, 0), ...(r() < 0.3 ? { gone: undefined } : {}) };
      expect(keyOrder(inEmissionOrder(v))).toEqual(keyOrder(sortKeysDeep(v)));
    }
  });

  it('inEmissionOrder keeps every subtree already in order, and copies only the path to one that is not', () => {
    const ordered = { apiVersion: 'v1', kind: 'ConfigMap', data: { a: '1', b: ['x', { c: 1 }] } };
    expect(inEmissionOrder(ordered)).toBe(ordered);
    const spec = { containers: [{ name: 'n', image: 'i' }] }; // name leads (Kubernetes' leading keys)
    const unordered = { kind: 'Deployment', apiVersion: 'apps/v1', spec };
    const o = inEmissionOrder(unordered);
    expect(o).not.toBe(unordered);
    expect(Object.keys(o)).toEqual(['apiVersion', 'kind', 'spec']);
    expect(o.spec).toBe(spec);
    const nested = { a: { z: 1, b: 2 }, list: [{ x: 1 }] };
    const n = inEmissionOrder(nested);
    expect(Object.keys(n.a)).toEqual(['b', 'z']);
    expect(n.list).toBe(nested.list);
    expect(inEmissionOrder({ a: 1, b: undefined })).toEqual({ a: 1 });
    expect(Object.keys(inEmissionOrder({ a: 1, b: undefined }))).toEqual(['a']);
  });
});
