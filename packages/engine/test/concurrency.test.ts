/**
 * Two renders into one output, as two CI jobs in one workspace or a watcher plus a person
 * would run them: real processes, 10k+ files each. One waits for the other's lock (or gives
 * up with RENDER_LOCKED), neither deletes the other's staging, and the tree on disk always
 * matches its own index.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listTree, readIndex, sha256 } from '../src/index.js';

const FILES = 10_500;
const require = createRequire(import.meta.url);
const engineUrl = pathToFileURL(join(import.meta.dirname, '../dist/index.js')).href;
const sdkUrl = pathToFileURL(require.resolve('@topoforge/plugin-sdk')).href;

const ENV = `kind: Environment
name: big
stage: staging
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0" }
plugins:
  many: {}
`;

// A render in its own process. argv: cwd, variant, hold (wait for a release file before the swap), lockTimeoutMs
const SCRIPT = `
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render } from ${JSON.stringify(engineUrl)};
import { definePlugin, Type } from ${JSON.stringify(sdkUrl)};
const [cwd, variant, hold, timeout] = process.argv.slice(2);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const many = definePlugin({ name: 'many', description: 'many files', options: Type.Object({}), render(ctx) {
  for (let i = 0; i < ${FILES}; i++) ctx.file('f/' + String(i % 100) + '/' + i + '.txt', variant + ' ' + i + '\\n');
} });
let waited = false;
const r = await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: [many], write: {
  lockTimeoutMs: Number(timeout),
  onWait: () => { waited = true; writeFileSync(join(cwd, 'waiting-' + variant), ''); },
  beforeSwap: () => {
    if (hold !== 'hold') return;
    writeFileSync(join(cwd, 'holding-' + variant), '');
    for (let i = 0; i < 4000 && !existsSync(join(cwd, 'release-' + variant)); i++) sleep(50);
  },
} });
process.stdout.write(JSON.stringify({ ok: r.ok, waited, codes: r.ok ? [] : r.diagnostics.map((d) => d.code), messages: r.ok ? [] : r.diagnostics.map((d) => d.message) }));
process.exitCode = r.ok ? 0 : 2;
`;

interface Run {
  readonly code: number;
  readonly ok: boolean;
  readonly waited: boolean;
  readonly codes: string[];
  readonly stderr: string;
}

const tmp: string[] = [];
// Removing 10k+ files takes long on a loaded CI machine.
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
}, 300_000);

function setup(): { cwd: string; script: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'topoforge-concurrent-'));
  tmp.push(cwd);
  mkdirSync(join(cwd, 'environments'));
  writeFileSync(join(cwd, 'environments/big.yaml'), ENV);
  writeFileSync(join(cwd, 'render.mjs'), SCRIPT);
  return { cwd, script: join(cwd, 'render.mjs') };
}

function run(script: string, cwd: string, variant: string, hold = false, lockTimeoutMs = 300_000): Promise<Run> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [script, cwd, variant, hold ? 'hold' : 'go', String(lockTimeoutMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => {
      const parsed = out ? (JSON.parse(out) as Omit<Run, 'code' | 'stderr'>) : { ok: false, waited: false, codes: [] };
      res({ code: code ?? 1, ...parsed, stderr: err });
    });
  });
}

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** The tree holds exactly what its index lists, with those hashes, and nothing of a render in flight. */
function treeMatchesIndex(out: string): string {
  expect(readdirSync(out).sort()).toEqual(['.topoforge-state', 'big']);
  const idx = readIndex(join(out, 'big'), 'big')!;
  expect(idx.files.length).toBe(FILES);
  expect(listTree(join(out, 'big'))).toEqual([...idx.files.map((f) => f.path), 'topoforge-index.json'].sort());
  const variants = new Set<string>();
  for (const f of idx.files) {
    const content = readFileSync(join(out, 'big', f.path), 'utf8');
    expect(sha256(content)).toBe(f.sha256);
    variants.add(content.split(' ')[0]!);
  }
  expect(variants.size).toBe(1);
  return [...variants][0]!;
}

describe(`two renders into one output (${FILES} files each)`, () => {
  it('the second waits for the first, then writes; a third with a short lock timeout fails clearly and changes nothing', async () => {
    const { cwd, script } = setup();
    const first = run(script, cwd, 'A', true);
    await until(() => existsSync(join(cwd, 'holding-A')), 240_000);
    // A holds the lock with its staging complete: C gives up, B waits.
    const third = await run(script, cwd, 'C', false, 200);
    expect(third).toMatchObject({ code: 2, codes: ['RENDER_LOCKED'] });
    const second = run(script, cwd, 'B');
    await until(() => existsSync(join(cwd, 'waiting-B')), 240_000);
    expect(readdirSync(join(cwd, 'out')).filter((n) => n.startsWith('.topoforge-staging-'))).toHaveLength(1); // A's, untouched
    writeFileSync(join(cwd, 'release-A'), '');
    expect(await first).toMatchObject({ code: 0, ok: true });
    expect(await second).toMatchObject({ code: 0, ok: true, waited: true });
    expect(treeMatchesIndex(join(cwd, 'out'))).toBe('B');
  }, 300_000);

  it('started together, both succeed one after the other and the tree is one of them, whole', async () => {
    const { cwd, script } = setup();
    const [a, b] = await Promise.all([run(script, cwd, 'A'), run(script, cwd, 'B')]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(['A', 'B']).toContain(treeMatchesIndex(join(cwd, 'out')));
  }, 300_000);
});
