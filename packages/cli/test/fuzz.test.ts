/**
 * Fuzz: mutated environment files through the real CLI and a real plugin. Bounded and
 * seeded (same cases every run). Whatever the input: exit 0 or 2, never a stack trace;
 * on 2 the output tree is exactly as before; on 0 every written file matches its index.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/index.js';

const BASE = `kind: Base
policies:
  backup:
    nightly:
      full: { everyDays: 1 }
      window: { start: "00:00", end: "00:30" }
      retentionDays: 7
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0", policies: { backup: nightly } }
  stock: { kind: warehouse, image: r/stock, version: "1.0.0" }
plugins:
  namespaces: {}
`;
const STAGING = `kind: Environment
name: staging
stage: staging
extends: base.yaml
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [warehouses] }
  south: { timeZone: Europe/Rome, businessUnits: [] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
  s1: { region: south, rotation: 2, cluster: { context: s1 }, backupStorage: { provider: aws, bucket: s1-backups } }
services:
  web: { kind: front-application, image: r/web, version: "2.0.0", placement: { dataCenters: [n1, s1] } }
`;

const OTHER = `kind: Environment
name: other
stage: production
regions:
  east: { timeZone: Asia/Tokyo, businessUnits: [] }
  west: { timeZone: America/New_York, businessUnits: [] }
dataCenters:
  e1: { region: east, rotation: 1, cluster: { context: e1 }, backupStorage: { provider: aws, bucket: e1-backups } }
  w1: { region: west, rotation: 2, cluster: { context: w1 }, backupStorage: { provider: aws, bucket: w1-backups } }
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0" }
plugins:
  namespaces: {}
`;

const HOSTILE = [
  "'",
  '"',
  '\n',
  '\u007f',
  '\t',
  '{',
  '}',
  '[',
  ']',
  ': ',
  '- ',
  '#',
  '&a',
  '*a',
  '&a [*a]',
  '!!binary',
  '---',
  '...',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  '~',
  'null',
  'true',
  '0x10',
  '1e999',
  '-1',
  '.inf',
  'Environment',
  '"Environment"',
  'Base',
  'Enviroment',
  '../../../../etc/passwd',
  '/dev/zero',
  'base.yaml',
  'AKIAIOSFODNN7EXAMPLE',
  'https://u:p4ssw0rd-x@h/x',
  '$(reboot)',
  '`id`',
  "'; rm -rf / #",
  'x'.repeat(300),
  '\u0000',
  '\ufeff',
];

type Mutation =
  | { op: 'delete'; line: number }
  | { op: 'duplicate'; line: number }
  | { op: 'insert'; line: number; col: number; text: string }
  | { op: 'replaceValue'; line: number; text: string }
  | { op: 'indent'; line: number; by: number }
  | { op: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), line: fc.nat(40) }),
  fc.record({ op: fc.constant('duplicate' as const), line: fc.nat(40) }),
  fc.record({
    op: fc.constant('insert' as const),
    line: fc.nat(40),
    col: fc.nat(60),
    text: fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 6 })),
  }),
  fc.record({ op: fc.constant('replaceValue' as const), line: fc.nat(40), text: fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 8 })) }),
  fc.record({ op: fc.constant('indent' as const), line: fc.nat(40), by: fc.integer({ min: -2, max: 2 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(800) }),
);

function apply(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const i = 'line' in m ? m.line % Math.max(lines.length, 1) : 0;
  switch (m.op) {
    case 'delete':
      lines.splice(i, 1);
      break;
    case 'duplicate':
      lines.splice(i, 0, lines[i] ?? '');
      break;
    case 'insert': {
      const l = lines[i] ?? '';
      const c = Math.min(m.col, l.length);
      lines[i] = l.slice(0, c) + m.text + l.slice(c);
      break;
    }
    case 'replaceValue':
      lines[i] = (lines[i] ?? '').replace(/:\s.*$/, `: ${m.text}`);
      break;
    case 'indent':
      lines[i] = m.by >= 0 ? ' '.repeat(m.by) + (lines[i] ?? '') : (lines[i] ?? '').replace(new RegExp(`^ {0,${-m.by}}`), '');
      break;
    case 'truncate':
      return text.slice(0, m.at);
  }
  return lines.join('\n');
}

const work = mkdtempSync(join(tmpdir(), 'topoforge-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        out.set(`${rel}${n}`, readFileSync(p, 'utf8'));
      } catch {
        walk(p, `${rel}${n}/`);
      }
    }
  };
  walk(dir, '');
  return out;
}

function assertMatchesIndex(out: Map<string, string>): void {
  // .topoforge-state holds topoforge's local records, one per environment, each naming its index.
  const envs = new Set([...out.keys()].map((k) => k.split('/')[0]!).filter((d) => d !== '.topoforge-state'));
  for (const env of envs) {
    const indexText = out.get(`${env}/topoforge-index.json`)!;
    const state = JSON.parse(out.get(`.topoforge-state/${env}.json`)!) as { index: string };
    expect(state.index).toBe(createHash('sha256').update(indexText, 'utf8').digest('hex'));
    const index = JSON.parse(indexText) as { files: { path: string; sha256: string }[] };
    const listed = new Set(index.files.map((f) => `${env}/${f.path}`));
    for (const f of index.files)
      expect(
        createHash('sha256')
          .update(out.get(`${env}/${f.path}`)!, 'utf8')
          .digest('hex'),
      ).toBe(f.sha256);
    for (const k of out.keys()) if (k.startsWith(`${env}/`) && k !== `${env}/topoforge-index.json`) expect(listed.has(k), k).toBe(true);
  }
}

const STACK = /\n\s+at .+:\d+:\d+|internal error|TypeError|RangeError|ReferenceError/;

describe('fuzzed environment files through `topoforge render`', () => {
  it('exit 0 or 2, no stack trace, nothing written on failure, every written file matches the index', async () => {
    const envDir = join(work, 'environments');
    mkdirSync(envDir);
    writeFileSync(join(envDir, 'base.yaml'), BASE);
    writeFileSync(join(envDir, 'staging.yaml'), STAGING);
    writeFileSync(join(envDir, 'other.yaml'), OTHER);
    const render = async (): Promise<{ code: number; text: string }> => {
      let text = '';
      const code = await main(['render'], { cwd: work, out: (t) => (text += t), err: (t) => (text += t) });
      return { code, text };
    };
    const first = await render();
    expect(first.code, first.text).toBe(0);
    let tree = snapshot(join(work, 'out'));
    const counts = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('staging.yaml', 'base.yaml'), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (file, ms) => {
        const original = file === 'base.yaml' ? BASE : STAGING;
        writeFileSync(join(envDir, 'base.yaml'), BASE);
        writeFileSync(join(envDir, 'staging.yaml'), STAGING);
        writeFileSync(join(envDir, file), ms.reduce(apply, original));
        const r = await render();
        expect([0, 2], r.text).toContain(r.code);
        expect(r.text).not.toMatch(STACK);
        const now = snapshot(join(work, 'out'));
        if (r.code === 2) {
          counts.refused++;
          expect(r.text).toMatch(/error [A-Z_]+: /);
          expect(now).toEqual(tree);
        } else {
          counts.ok++;
          assertMatchesIndex(now);
        }
        tree = now;
      }),
      { seed: 18, numRuns: 150, endOnFailure: true },
    );
    console.log(`fuzz: 150 cases, ${counts.ok} rendered, ${counts.refused} refused with a coded error`);
    // the mutations reach both outcomes
    expect(counts.ok).toBeGreaterThan(5);
    expect(counts.refused).toBeGreaterThan(5);
  }, 180_000);
});
