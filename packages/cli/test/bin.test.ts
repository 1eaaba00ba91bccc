/**
 * The bin's `#!/usr/bin/env -S node <flags>` line sets V8 flags that only take effect at start-up
 * (the young generation's size: a render streams, and a 16 MB semi-space pair is a fifth of its
 * peak RSS at 100k objects, docs/benchmarks.md). A user reaches the bin two ways, and both must
 * start node with those flags: the kernel reading the line (npm links the bin on POSIX), and the
 * package manager's shim (pnpm and npm copy the line's flags into it). Each is run for real here,
 * with a preload that reports the process's own execArgv.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/topoforge.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'topoforge-bin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** execArgv of the node process that `file` ends up running, as a preload inside it sees it. */
function execArgvOf(file: string): string[] {
  const preload = join(work, 'report-exec-argv.cjs');
  writeFileSync(preload, `process.stderr.write('EXECARGV ' + JSON.stringify(process.execArgv) + '\\n');\n`);
  // NODE_OPTIONS' own flags are not in execArgv: what is there came from the shebang or the shim.
  const r = spawnSync(file, ['--help'], { env: { ...process.env, NODE_OPTIONS: `--require ${preload}` }, encoding: 'utf8', timeout: 20_000 });
  expect(r.status, r.stderr).toBe(0);
  const out = r.stderr;
  const line = out.split('\n').find((l) => l.startsWith('EXECARGV '));
  expect(line, `no report from the preload in: ${out}`).toBeDefined();
  return JSON.parse(line!.slice('EXECARGV '.length)) as string[];
}

describe('the bin starts node with its shebang flags', () => {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S node((?: --\S+)+)$/.exec(first);
  const flags = m?.[1]!.trim().split(' ') ?? [];

  it('names the young generation size in the shebang', () => {
    expect(m, first).not.toBeNull();
    expect(flags.some((f) => /^--max-semi-space-size=\d+$/.test(f))).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
  });

  it('run as a file: the kernel and env -S pass the flags', () => {
    expect(execArgvOf(bin)).toEqual(flags);
  }, 30_000);

  it("run through the workspace's pnpm shim: the shim passes them", () => {
    const shim = join(repo, 'node_modules', '.bin', 'topoforge');
    expect(existsSync(shim), `${shim} (pnpm install makes it)`).toBe(true);
    expect(execArgvOf(shim)).toEqual(flags);
  }, 30_000);
});
