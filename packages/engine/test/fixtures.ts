/** Inputs several engine test files share. */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** A staging environment of two DCs and two services (shop, stock), with the given `plugins:` entries. */
export const ENV = (name: string, plugins: string) => `kind: Environment
name: ${name}
stage: staging
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [warehouses] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
  n2: { region: north, rotation: 2, cluster: { context: n2 }, backupStorage: { provider: aws, bucket: n2-backups } }
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0" }
  stock: { kind: warehouse, image: r/stock, version: "1.0.0" }
plugins:
${plugins}
`;

/** mulberry32: a small seeded PRNG for the differential tests (a failure names its seed, and replays by it). */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every entry below `dir` that is not a directory, by relative path: a file's bytes (latin1),
 * or a link's target. `topDots`: whether dot entries directly in `dir` count (an output's root
 * holds topoforge's own state and lock there). Empty when `dir` is missing.
 */
export function treeOf(dir: string, topDots = true): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, prefix: string): void => {
    for (const n of readdirSync(d).sort()) {
      if (!prefix && !topDots && n.startsWith('.')) continue;
      const p = join(d, n);
      const rel = prefix ? `${prefix}/${n}` : n;
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p, rel);
      else out.set(rel, st.isSymbolicLink() ? `link:${readlinkSync(p)}` : `file:${readFileSync(p, 'latin1')}`);
    }
  };
  if (lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) walk(dir, '');
  return out;
}

/** Every directory below `dir`, by relative path, sorted: what treeOf leaves out (an empty one left behind shows here). */
export function directoriesOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const n of readdirSync(d).sort()) {
      const rel = prefix ? `${prefix}/${n}` : n;
      if (!lstatSync(join(d, n)).isDirectory()) continue;
      out.push(rel);
      walk(join(d, n), rel);
    }
  };
  if (lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) walk(dir, '');
  return out;
}
