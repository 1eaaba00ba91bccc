/**
 * The streaming index reader (issue 19) against JSON.parse: for every text indexChunks writes it
 * lists the same files, source and hash; for any other text it answers undefined, so that the
 * caller parses it as JSON as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexText, sha256, type IndexEntry } from '../src/tree.js';
import { readCanonicalIndex } from '../src/index-read.js';

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

function file(text: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'topoforge-index-read-'));
  tmp.push(dir);
  writeFileSync(join(dir, 'topoforge-index.json'), text);
  return join(dir, 'topoforge-index.json');
}

function read(path: string, environment = 'alpha') {
  const files: IndexEntry[] = [];
  const r = readCanonicalIndex(path, environment, (p, sha, plugin) => files.push({ path: p, sha256: sha, plugin }));
  return r && { ...r, files };
}

/** What JSON.parse makes of the same text. */
function parsed(text: string) {
  const j = JSON.parse(text) as { environment: string; source?: string; files: IndexEntry[] };
  return { environment: j.environment, ...(j.source !== undefined ? { source: j.source } : {}), listed: j.files.length, sha: sha256(text), files: j.files };
}

const TRICKY = [
  'a "quoted" name',
  'back\\slash',
  'tab\there',
  'new\nline',
  'ünïcödé ✓ 🚀',
  'lone \ud800 surrogate',
  '\u2028 separator',
  'ctrl \u0001',
  'x'.repeat(300),
];

describe('readCanonicalIndex', () => {
  it('reads what indexChunks writes exactly as JSON.parse does: files, source and hash', () => {
    const entries = (n: number): IndexEntry[] =>
      Array.from({ length: n }, (_, i) => ({
        path: `clusters/dc${i % 7}/svc/${TRICKY[i % TRICKY.length]}-${i}.yaml`,
        sha256: sha256(String(i)),
        plugin: i % 3 ? 'workloads' : TRICKY[i % TRICKY.length]!,
      }));
    for (const [n, source] of [
      [0, undefined],
      [0, 'environments'],
      [1, undefined],
      [7, 'envs/"odd"\\dir ✓'],
      [25_000, 'environments'], // ~5 MB: lines cross the 1 MB buffer's ends
    ] as const) {
      const text = indexText('alpha', source, entries(n));
      expect(read(file(text))).toEqual(parsed(text));
    }
    expect(read(file(indexText('a "b" ✓', undefined, entries(3))), 'a "b" ✓')).toEqual(parsed(indexText('a "b" ✓', undefined, entries(3))));
  });

  it('reads entries in their usual form (one pass each) exactly as JSON.parse does, plugins changing from entry to entry', () => {
    // Plain ASCII paths and plugins, hex hashes: every entry takes the one-pass reader, which
    // reuses the last entry's plugin string when the bytes are the same.
    const plugins = ['a', 'ab', 'b', 'workloads', 'workload', 'workloadz', 'a'];
    const entries = (n: number): IndexEntry[] =>
      Array.from({ length: n }, (_, i) => ({
        path: `clusters/dc${i % 5}/p${i % 3}/f-${i}.yaml`,
        sha256: sha256(String(i)),
        plugin: plugins[(i * 7 + (i >> 2)) % plugins.length]!,
      }));
    for (const n of [1, 2, 9, 12_000]) {
      const text = indexText('alpha', 'environments', entries(n));
      expect(read(file(text))).toEqual(parsed(text));
    }
    // A hash of other digits, and one of capital hex, are read line by line, as before; so is one
    // whose text is 64 characters with an escape in it.
    const odd = [
      { path: 'a.yaml', sha256: 'not-a-hash', plugin: 'p' },
      { path: 'a2.yaml', sha256: 'a'.repeat(58) + '\u0001', plugin: 'p' },
      { path: 'b.yaml', sha256: sha256('b').toUpperCase(), plugin: 'p' },
      { path: 'c.yaml', sha256: sha256('c'), plugin: 'p' },
    ];
    const text = indexText('alpha', undefined, odd);
    expect(read(file(text))).toEqual(parsed(text));
  });

  it('answers undefined for any other text: other spacing, order or line ends, a BOM, extra content, another environment, a cut file', () => {
    const idx = { generator: 'topoforge', environment: 'alpha', files: [{ path: 'a.yaml', sha256: sha256('a'), plugin: 'p' }] };
    const canonical = indexText('alpha', undefined, [...idx.files]);
    expect(canonical).toBe(JSON.stringify(idx, null, 2) + '\n');
    expect(read(file(canonical))).toBeDefined();
    const two = indexText('alpha', undefined, [...idx.files, { path: 'b.yaml', sha256: sha256('b'), plugin: 'p' }]);
    expect(read(file(two))).toBeDefined();
    const others = [
      JSON.stringify(idx), // one line
      JSON.stringify(idx, null, 4) + '\n',
      JSON.stringify(idx, null, 2), // no final newline
      JSON.stringify({ environment: 'alpha', generator: 'topoforge', files: idx.files }, null, 2) + '\n',
      JSON.stringify({ ...idx, files: [{ sha256: sha256('a'), path: 'a.yaml', plugin: 'p' }] }, null, 2) + '\n',
      JSON.stringify({ ...idx, files: [{ ...idx.files[0], extra: 1 }] }, null, 2) + '\n',
      JSON.stringify({ ...idx, extra: true }, null, 2) + '\n',
      canonical.replace(/\n/g, '\r\n'),
      '\ufeff' + canonical,
      canonical + '\n',
      canonical + '{}\n',
      canonical.slice(0, -4),
      canonical.slice(0, -2), // cut after a whole line
      canonical.replace('"a.yaml"', '"a.yaml" '),
      canonical.replace('"a.yaml"', '"a" + "b"'),
      canonical.replace('"p"', '7'),
      indexText('beta', undefined, [...idx.files]),
      // Bytes where an entry's line ends, each read in one pass otherwise:
      two.replace('    },\n    {', '    },X    {'),
      two.replace('    }\n  ]', '    }X  ]'),
      two.replace('"b.yaml",\n', '"b.yaml", \n'),
      two.replace('"p"\n    },', '"p" \n    },'),
      JSON.stringify({ ...idx, files: Array.from({ length: 30_000 }, () => idx.files[0]) }), // one line over the buffer
    ];
    for (const text of others) expect(read(file(text)), JSON.stringify(text.slice(0, 80))).toBeUndefined();
    expect(read(file(Buffer.from([0xff, 0xfe, 0x7b, 0x0a])))).toBeUndefined();
  });
});
