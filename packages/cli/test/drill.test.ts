import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'packages/cli/bin/topoforge.js');
const work = mkdtempSync(join(tmpdir(), 'topoforge-drill-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
};
const tools = ['promtool', 'prometheus-alertmanager'].every(
  (t) => spawnSync('sh', ['-c', 'command -v "$1" || command -v alertmanager', 'sh', t], { stdio: 'ignore' }).status === 0,
);

describe('topoforge drill failover', () => {
  it('refuses a bad scenario with a coded error naming file, line and field (exit 2)', () => {
    const file = join(work, 'bad.yaml');
    writeFileSync(file, 'name: x\nstart: "10:00"\nduration: 10m\ntraffic: { peakRps: -1 }\n');
    const r = cli('drill', 'failover', '--env', 'staging', '--scenario', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error DRILL_SCENARIO_INVALID: .*bad\.yaml:4:\d+: field traffic\.peakRps/);
    expect(r.out).toBe('');
  });

  it('refuses a sandbox directory without a kubeconfig (exit 2)', () => {
    const r = cli('drill', 'failover', '--env', 'staging', '--scenario', 'packages/drill/scenarios/holiday-dip.yaml', '--sandbox', work);
    expect(r.code).toBe(2);
    expect(r.err).toContain('DRILL_SANDBOX_MISSING');
  });

  it.runIf(tools)(
    '--json prints events, final weights and checks (canary split: no action, exit 0)',
    () => {
      const r = cli('drill', 'failover', '--env', 'staging', '--scenario', 'packages/drill/scenarios/canary-split.yaml', '--json');
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out) as { mode: string; finalWeights: Record<string, Record<string, number>>; checks: { ok: boolean }[]; events: unknown[] };
      expect(j.mode).toBe('dry-run');
      expect(j.finalWeights['social-network']).toEqual({ stg01: 10, stg02: 10 });
      expect(j.checks.every((c) => c.ok)).toBe(true);
    },
    1_800_000,
  );
});
