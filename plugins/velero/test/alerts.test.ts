/**
 * The per-instance backup alerts and the drill alerts, checked with the REAL promtool
 * (Debian `prometheus`): every emitted rule file passes `promtool check rules`, and the
 * emitted unit tests pass `promtool test rules` — and fail when a rule is loosened.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import velero from '../src/index.js';

const plugin = velero as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
const hasPromtool = spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'ignore' }).status === 0;
if (!hasPromtool) console.warn('promtool is not installed: run `pnpm run setup:tools` (Debian package prometheus)');
const work = mkdtempSync(join(tmpdir(), 'velero-promtool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    const c = spawn(cmd, args, { cwd });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code: code ?? 1, out }));
  });

async function writeTree(): Promise<string[]> {
  const prod = await synth(plugin, production);
  const stg = await synth(plugin, staging, { restoreDrill: { fromEnvironment: 'production' } }, [production]);
  const tests: string[] = [];
  for (const [env, out] of [
    ['production', prod],
    ['staging', stg],
  ] as const) {
    for (const [path, { content }] of out.files) {
      if (!path.startsWith('environment/velero/promtool/')) continue;
      const file = join(work, env, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      if (file.endsWith('.test.yaml')) tests.push(file);
    }
  }
  return tests;
}

describe.runIf(hasPromtool)('backup and drill alerts (real promtool)', () => {
  it('one rule file per database instance and one for the drills; all pass promtool check and their unit tests', async () => {
    const tests = await writeTree();
    expect(tests.filter((t) => t.includes('/production/') && !t.endsWith('/dc-loss.test.yaml'))).toHaveLength(13);
    // one DC-loss group per cluster that runs Schedules: 7 in production, both staging DCs
    expect(tests.filter((t) => t.includes('/production/') && t.endsWith('/dc-loss.test.yaml'))).toHaveLength(7);
    expect(tests.filter((t) => t.includes('/staging/') && t.endsWith('/dc-loss.test.yaml'))).toHaveLength(2);
    expect(tests.filter((t) => t.includes('/staging/') && t.includes('restore-drills-production'))).toHaveLength(1);
    const rules = tests.map((t) => t.replace(/\.test\.yaml$/, '.rules.yaml'));
    const check = spawnSync('promtool', ['check', 'rules', ...rules], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    // two at a time: the machine is shared
    const results: { code: number; out: string }[] = [];
    for (let i = 0; i < tests.length; i += 2)
      results.push(...(await Promise.all(tests.slice(i, i + 2).map((t) => run('promtool', ['test', 'rules', t.split('/').pop()!], dirname(t))))));
    for (const [i, r] of results.entries()) expect(r.code, `${tests[i]}\n${r.out}`).toBe(0);
  }, 900_000);

  it('the tests are not vacuous: a rule that waits a day longer, or ignores failures, fails them', async () => {
    const tests = await writeTree();
    const store = tests.find((t) => t.endsWith('/online-store.test.yaml'))!;
    const rulesFile = store.replace(/\.test\.yaml$/, '.rules.yaml');
    const { readFileSync } = await import('node:fs');
    const original = readFileSync(rulesFile, 'utf8');
    // online-store: every 2 days + 1h window + 6h slack = 55h = 198000 s
    expect(original).toContain('> 198000');
    writeFileSync(rulesFile, original.replace('> 198000', '> 284400'));
    const late = await run('promtool', ['test', 'rules', 'online-store.test.yaml'], dirname(store));
    expect(late.code).not.toBe(0);
    expect(late.out).toContain('VeleroBackupMissing');
    writeFileSync(rulesFile, original.replace('failure|partial_failure|validation_failure', 'failure|validation_failure'));
    const lax = await run('promtool', ['test', 'rules', 'online-store.test.yaml'], dirname(store));
    expect(lax.code).not.toBe(0);
    expect(lax.out).toContain('VeleroBackupFailed');
  }, 300_000);

  it("the DC-loss alerts are not vacuous: waiting 3 h, ignoring whether the fallbacks were unpaused, or counting the standby's paused template, fails their tests", async () => {
    const tests = await writeTree();
    const dcLoss = tests.find((t) => t.endsWith('/production/environment/velero/promtool/dc09/dc-loss.test.yaml'))!;
    const rulesFile = dcLoss.replace(/\.test\.yaml$/, '.rules.yaml');
    const { readFileSync } = await import('node:fs');
    const original = readFileSync(rulesFile, 'utf8');
    // (YAML double-quoted: the rule's quotes are escaped)
    expect(original).toContain('kube_customresource_velero_schedule_paused{namespace=\\"velero\\",fallback_for!=\\"\\",on_demand=\\"\\"} == 1');
    writeFileSync(rulesFile, original.replaceAll('for: "1h"', 'for: "3h"'));
    const slow = await run('promtool', ['test', 'rules', 'dc-loss.test.yaml'], dirname(dcLoss));
    expect(slow.code).not.toBe(0);
    expect(slow.out).toContain('VeleroFallbackNotActivated');
    writeFileSync(rulesFile, original.replace('fallback_for!=\\"\\",on_demand=\\"\\"} == 1', 'fallback_for!=\\"\\",on_demand=\\"\\"} >= 0'));
    const blind = await run('promtool', ['test', 'rules', 'dc-loss.test.yaml'], dirname(dcLoss));
    expect(blind.code).not.toBe(0);
    expect(blind.out).toContain('VeleroFallbackNotActivated');
    // a standby's -full-now template stays paused after the procedure: it must not count
    writeFileSync(rulesFile, original.replace('standby_for!=\\"\\",on_demand=\\"\\"}', 'standby_for!=\\"\\"}'));
    const template = await run('promtool', ['test', 'rules', 'dc-loss.test.yaml'], dirname(dcLoss));
    expect(template.code).not.toBe(0);
    expect(template.out).toContain('VeleroStandbyNotActivated');
  }, 300_000);
});
