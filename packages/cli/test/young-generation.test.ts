/**
 * A render keeps V8's young generation at the size it has when the render starts (io.ts): the
 * semi-spaces would otherwise double up to 16 MB each, ~60 MB of a large render's peak RSS. Run
 * in a real process (the real process io), with a preload that reports the new space's size as
 * the process exits. A render large enough to write on a second thread is checked too: that
 * thread's isolate resets V8's flags at run time (engine WriteBehind), and render sets them again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/topoforge.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'topoforge-young-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MB = 2 ** 20;
const preload = join(work, 'report-new-space.cjs');
writeFileSync(
  preload,
  `process.on('exit', () => {
  const s = require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  process.stderr.write('NEWSPACE ' + s.space_size + '\\n');
});
`,
);

/** The new space's size (both semi-spaces) as a render of the bundled environments (or another directory) exits. */
function newSpaceAfterRender(nodeFlags: string[], out: string, environments = join(work, 'environments')): number {
  const r = spawnSync(process.execPath, [...nodeFlags, bin, 'render', '--environments', environments, '--out', join(work, out)], {
    env: { ...process.env, NODE_OPTIONS: `--require ${preload}` },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const line = r.stderr.split('\n').find((l) => l.startsWith('NEWSPACE '));
  expect(line, r.stderr).toBeDefined();
  return Number(line!.slice('NEWSPACE '.length));
}

describe('the young generation during a render', () => {
  cpSync(join(repo, 'environments'), join(work, 'environments'), { recursive: true });

  it('stays at the size it had when the render started (2 MB semi-spaces)', () => {
    expect(newSpaceAfterRender([], 'out-a')).toBeLessThanOrEqual(4 * MB);
  }, 60_000);

  /**
   * V8's own trace of each young-generation collection of a render: the time helper threads
   * worked in it. The first ones run while node loads, before render sets the flag: the second
   * half is returned.
   */
  function helperTimes(nodeFlags: string[], out: string): number[] {
    const r = spawnSync(
      process.execPath,
      ['--trace-gc-nvp', ...nodeFlags, bin, 'render', '--environments', join(work, 'environments'), '--out', join(work, out)],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const helped = r.stdout
      .split('\n')
      .filter((l) => l.includes(' gc=s '))
      .map((l) => Number(/ background\.scavenge\.parallel=([\d.]+)/.exec(l)?.[1]));
    expect(helped.length).toBeGreaterThan(20);
    return helped.slice(helped.length / 2);
  }

  it("is collected on the render's thread alone, without helper threads (io.ts)", () => {
    expect(helperTimes([], 'out-p').filter((ms) => !(ms === 0))).toEqual([]);
  }, 60_000);

  it('is collected with helpers when the user asks node for them, in either spelling: theirs is kept', () => {
    // Node's platform has helper threads whatever the machine's cores: with them, most collections use one.
    for (const [flag, out] of [
      ['--parallel-scavenge', 'out-q'],
      ['-parallel_scavenge', 'out-r'],
    ] as const)
      expect(helperTimes([flag], out).filter((ms) => ms > 0).length, flag).toBeGreaterThan(0);
  }, 60_000);

  it('grows as V8 grows it when the user gives node a semi-space flag: theirs is kept', () => {
    // The same render with V8's own growth factor, given to node: it grows past the cap above.
    expect(newSpaceAfterRender(['--semi-space-growth-factor=2'], 'out-b')).toBeGreaterThan(4 * MB);
  }, 60_000);

  it('stays so in a render that writes on a second thread (over 4,096 files)', () => {
    // A plugin of its own emitting 6,000 small files: past the engine's write-behind threshold.
    const sdk = pathToFileURL(createRequire(import.meta.url).resolve('@topoforge/plugin-sdk')).href;
    const plugin = join(work, 'many-plugin.mjs');
    writeFileSync(
      plugin,
      `import { definePlugin, Type } from ${JSON.stringify(sdk)};
export default definePlugin({ name: 'many', description: 'many files', options: Type.Object({}), render(ctx) {
  for (let i = 0; i < 6000; i++) ctx.file('f/' + String(i % 50) + '/' + i + '.txt', 'file ' + i + ' ' + 'x'.repeat(i % 300) + '\\n');
} });
`,
    );
    const environments = join(work, 'many');
    mkdirSync(environments);
    writeFileSync(
      join(environments, 'big.yaml'),
      `kind: Environment
name: big
stage: staging
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0" }
plugins:
  many: { package: ${JSON.stringify(plugin)} }
`,
    );
    expect(newSpaceAfterRender([], 'out-c', environments)).toBeLessThanOrEqual(4 * MB);
    expect(readdirSync(join(work, 'out-c', 'big', 'f', '7'))).toHaveLength(120);
  }, 60_000);
});
