/**
 * A render keeps V8's young generation at the size it has when the render starts (io.ts): the
 * semi-spaces would otherwise double up to 16 MB each, ~60 MB of a large render's peak RSS. Run
 * in a real process (the real process io), with a preload that reports the new space's size as
 * the process exits.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The new space's size (both semi-spaces) as a render of the bundled environments exits. */
function newSpaceAfterRender(nodeFlags: string[], out: string): number {
  const r = spawnSync(process.execPath, [...nodeFlags, bin, 'render', '--environments', join(work, 'environments'), '--out', join(work, out)], {
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

  it('grows as V8 grows it when the user gives node a semi-space flag: theirs is kept', () => {
    // The same render with V8's own growth factor, given to node: it grows past the cap above.
    expect(newSpaceAfterRender(['--semi-space-growth-factor=2'], 'out-b')).toBeGreaterThan(4 * MB);
  }, 60_000);
});
