/**
 * A clone without ../shared: the CRD tests skip with a message instead of crashing, and
 * the presence of ../shared is part of turbo's cache key for the test task.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pkg = join(import.meta.dirname, '..');
const repo = join(pkg, '../..');
const work = mkdtempSync(join(tmpdir(), 'topoforge-no-shared-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('without ../shared', () => {
  it('the CRD suite skips with the message, and fails nothing', () => {
    const r = spawnSync(process.execPath, [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', 'test/crd.test.ts', '--reporter=default'], {
      cwd: pkg,
      encoding: 'utf8',
      env: { ...process.env, TOPOFORGE_SHARED_DIR: join(work, 'absent') },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toContain('skipped: ../shared (upstream CRDs, beside the checkout) is absent');
    const plain = (r.stdout + r.stderr).replace(/\u001b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/Tests\s+4 skipped \(4\)/);
    expect(plain).not.toMatch(/failed/);
  }, 120_000);

  it("the test task's turbo hash depends on whether ../shared is present", () => {
    const hash = (present: string): string => {
      const r = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', '--dry=json', '--filter=@topoforge/crd-validate'], {
        cwd: repo,
        encoding: 'utf8',
        env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TOPOFORGE_SHARED_PRESENT: present },
      });
      const tasks = (JSON.parse(r.stdout) as { tasks: { taskId: string; hash: string }[] }).tasks;
      return tasks.find((t) => t.taskId === '@topoforge/crd-validate#test')!.hash;
    };
    expect(hash('0')).not.toBe(hash('1'));
    // and scripts/test.mjs sets it from the directory
    expect(readFileSync(join(repo, 'scripts/test.mjs'), 'utf8')).toContain('TOPOFORGE_SHARED_PRESENT: sharedPresent');
  }, 120_000);
});
