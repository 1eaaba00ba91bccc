/** The index is streamed in pieces; it must stay byte for byte what JSON.stringify writes. */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexDigest, indexText, sha256, writeIndex, type IndexEntry } from '../src/tree.js';

/** Odd names: what JSON escapes (a quote, a backslash, control characters, a lone surrogate) and what it does not (DEL, U+2028, a pair). */
const ODD = ['', 'say "q"', 'back\\slash', '\u0001\u001f\n', '\ud800', '\udfff-\ud83d\ude00', '\u007f\u2028é'];
const entries = (n: number): IndexEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    // unsorted, some names plain (quoted as they are), some with characters JSON escapes
    path: `clusters/dc${String((i * 7919) % n).padStart(4, '0')}/p/${ODD[i % ODD.length]}-${i}.yaml`,
    // a hash from a hand-edited index (read as JSON) may be any string
    sha256: i % 5 === 4 ? ODD[i % ODD.length]! : sha256(String(i)),
    plugin: ['velero', 'workloads', 'a "quoted" \\ plugin \u0002'][i % 3]!,
  }));

const expected = (environment: string, source: string | undefined, es: IndexEntry[]): string =>
  JSON.stringify(
    {
      generator: 'topoforge',
      environment,
      ...(source !== undefined ? { source } : {}),
      files: [...es].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    },
    null,
    2,
  ) + '\n';

describe('the index file', () => {
  it.each([
    [0, undefined],
    [0, 'environments'],
    [1, 'environments'],
    [511, undefined],
    [512, 'a "quoted" source'],
    [1300, 'environments'],
  ])('%i entries, source %s: the streamed text, its file and its digest equal JSON.stringify', (n, source) => {
    const want = expected('production', source, entries(n));
    expect(indexText('production', source, entries(n))).toBe(want);
    const dir = mkdtempSync(join(tmpdir(), 'topoforge-index-'));
    try {
      const w = writeIndex(join(dir, 'i.json'), 'production', source, entries(n));
      expect(readFileSync(join(dir, 'i.json'), 'utf8')).toBe(want);
      expect(w).toEqual({ sha: sha256(want), size: Buffer.byteLength(want) });
      expect(indexDigest('production', source, entries(n))).toEqual(w);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sha256', () => {
  it('is the SHA-256 of the text as UTF-8, in hex (the FIPS 180-2 vectors, and non-ASCII text as createHash reads it)', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (const text of ['é', 'ünïcødé 名前\n', 'a'.repeat(100_000)])
      expect(sha256(text)).toBe(createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex'));
  });
});
