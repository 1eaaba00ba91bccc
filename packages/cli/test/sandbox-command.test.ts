import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'packages/cli/bin/topoforge.js');
const work = mkdtempSync(join(tmpdir(), 'topoforge-cli-sandbox-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(env: NodeJS.ProcessEnv, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: 'utf8', env });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

// Each CLI start loads every plugin: slow on a busy 2-core machine, hence the timeouts.
// The sandbox itself runs on real servers in packages/sandbox and test/e2e; these are the
// command's own refusals, which must not start anything.
describe('topoforge sandbox', () => {
  it('up names the unknown environment file and starts nothing', () => {
    const r = cli(process.env, 'sandbox', 'up', '--env', 'nope', '--dir', join(work, 'a'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('nope.yaml');
  }, 300_000);

  it('up without the binaries says to run setup:tools (exit 2)', () => {
    const empty = join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    const env = { ...process.env, PATH: `${empty}:${join(process.execPath, '..')}`, TOPOFORGE_TOOLS_BIN: empty, KUBEBUILDER_ASSETS: '' };
    const r = cli(env, 'sandbox', 'up', '--env', 'staging', '--dir', join(work, 'b'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error \[SANDBOX_TOOL_MISSING\] (etcd|kube-apiserver) not found/);
    expect(r.err).toMatch(/hint: .*(pnpm run setup:tools|etcd-server)/);
  }, 300_000);

  it('env and down on a directory without a sandbox are refused (exit 2)', () => {
    for (const cmd of [['env'], ['down']]) {
      const r = cli(process.env, 'sandbox', ...cmd, '--dir', join(work, 'none'));
      expect(r.code, cmd.join(' ')).toBe(2);
      expect(r.err).toContain('SANDBOX_NOT_RUNNING');
    }
  }, 300_000);
});
