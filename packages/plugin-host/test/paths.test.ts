import { describe, expect, it } from 'vitest';
import { INDEX_FILE, pathProblem } from '../src/index.js';
import { whyNot } from '../src/paths.js';

// Characters that matter to the rules: separators, dots and dashes at a segment's start,
// characters outside the segment alphabet, a drive letter's colon, non-ASCII.
const ALPHABET = ['a', 'Z', '0', '_', '.', '-', '/', '\\', ':', ' ', '\t', '\n', 'é', '\u0000', '..', 'C:', '$', '~'];

function randomPath(rand: () => number): string {
  const n = Math.floor(rand() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

// A small deterministic generator (mulberry32): the test sees the same paths on every run.
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('pathProblem', () => {
  it('gives the reasons of the rules as written, for plain paths and every kind of bad one', () => {
    const cases = [
      '',
      '/etc/passwd',
      'C:/x',
      'a\\b',
      'a/../b',
      '..',
      'a//b',
      'a/',
      '/a',
      './a',
      'a/.',
      '.hidden/x',
      '-x/y',
      'a/-b',
      'a b/c',
      'é/x',
      INDEX_FILE,
      `sub/${INDEX_FILE}`,
      'clusters/dc-1/workloads/deployment-web.yaml',
      'environment/pulumi/Pulumi.yaml',
      '_a/b.c-d_e',
    ];
    for (const p of cases) expect(pathProblem(p), p).toBe(whyNot(p));
    expect(pathProblem('clusters/dc-1/x.yaml')).toBeUndefined();
    expect(pathProblem(INDEX_FILE)).toMatch(/engine's index/);
    expect(pathProblem('a/../b')).toMatch(/leaves the environment directory/);
    expect(pathProblem('a/-b')).toMatch(/segment "-b"/);
  });

  it('agrees with the rules as written on 200,000 random paths', () => {
    const rand = mulberry32(19);
    let bad = 0;
    for (let i = 0; i < 200_000; i++) {
      const p = randomPath(rand);
      const want = whyNot(p);
      if (want !== undefined) bad++;
      if (pathProblem(p) !== want) expect(pathProblem(p), JSON.stringify(p)).toBe(want);
    }
    // Both kinds are covered: the generator makes plain paths and bad ones.
    expect(bad).toBeGreaterThan(10_000);
    expect(bad).toBeLessThan(200_000 - 1_000);
  });
});
