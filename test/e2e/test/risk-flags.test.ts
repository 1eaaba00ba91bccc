import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '@topoforge/model';
import { renderInMemory } from '@topoforge/engine';
import { diffExitCode, diffTrees, treeFromRender, type RiskRule } from '@topoforge/gitops';

// Every risk flag of `topoforge diff`, triggered by an edit of the bundled environments
// and rendered by the real plugins.
const repo = fileURLToPath(new URL('../../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'topoforge-risk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function render(dir: string) {
  const r = await renderInMemory({ environmentsDir: join(dir, 'environments'), only: ['staging'], cwd: repo });
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return treeFromRender(r.value);
}
let n = 0;
async function flagsAfter(edit: (read: (f: string) => string, write: (f: string, t: string) => void) => void): Promise<{ rules: RiskRule[]; exit: number }> {
  const dir = join(work, `case-${n++}`);
  cpSync(join(repo, 'environments'), join(dir, 'environments'), { recursive: true });
  const read = (f: string) => readFileSync(join(dir, 'environments', f), 'utf8');
  const write = (f: string, t: string) => writeFileSync(join(dir, 'environments', f), t);
  edit(read, write);
  const report = diffTrees(await baseline, await render(dir));
  const rules = report.flags.map((f) => f.rule);
  return { rules, exit: diffExitCode(report) };
}
const baseline = render(repo);
const stagingServices = (yaml: string) => (t: string) => t + `\nservices:\n${yaml}`;

describe('risk flags from changes in environments/', () => {
  it.each<[RiskRule, (read: (f: string) => string, write: (f: string, t: string) => void) => void]>([
    ['backup-retention-reduced', (r, w) => w('base.yaml', r('base.yaml').replace('      retentionDays: 7', '      retentionDays: 5'))],
    ['backup-schedule-removed', (r, w) => w('staging.yaml', stagingServices('  warehouse: { policies: { backup: null } }\n')(r('staging.yaml')))],
    [
      'backup-location-dropped',
      (r, w) =>
        w(
          'staging.yaml',
          r('staging.yaml')
            .replace(/ {2}stg02:\n(?: {4}.*\n)+/, '')
            .replace('us-east: { timeZone: America/New_York, businessUnits: [couriers] }', ''),
        ),
    ],
    ['canary-loosened', (r, w) => w('base.yaml', r('base.yaml').replace('      threshold: 5\n', '      threshold: 10\n'))],
    ['canary-removed', (r, w) => w('staging.yaml', stagingServices('  social-web: { rollout: rolling, policies: { canary: null } }\n')(r('staging.yaml')))],
    ['alert-loosened', (r, w) => w('base.yaml', r('base.yaml').replace('      for: 5m\n', '      for: 15m\n'))],
    ['alert-removed', (r, w) => w('staging.yaml', stagingServices('  social-web: { policies: { trafficDrop: null } }\n')(r('staging.yaml')))],
    ['service-redundancy-lost', (r, w) => w('staging.yaml', stagingServices('  social-web: { placement: { dataCenters: [stg01] } }\n')(r('staging.yaml')))],
  ])('%s', async (rule, edit) => {
    const { rules, exit } = await flagsAfter(edit);
    expect(rules).toContain(rule);
    expect(exit).toBe(3);
  });

  // A secret in the environments never reaches a render to be flagged: the render refuses
  // it (the diff's secret-in-plain-text flag still guards trees read from disk).
  it('secret-in-plain-text: a password in a plugin option is refused before any diff, never printed', async () => {
    const dir = join(work, 'secret');
    cpSync(join(repo, 'environments'), join(dir, 'environments'), { recursive: true });
    const base = readFileSync(join(dir, 'environments/base.yaml'), 'utf8');
    writeFileSync(
      join(dir, 'environments/base.yaml'),
      base.replace(
        'http://failover-orchestrator.platform.svc:8080/alerts',
        'http://orchestrator:hunter2hunter2@failover-orchestrator.platform.svc:8080/alerts',
      ),
    );
    const r = await renderInMemory({ environmentsDir: join(dir, 'environments'), only: ['staging'], cwd: repo });
    expect(!r.ok && r.diagnostics[0]).toMatchObject({ code: 'TOPOLOGY_PLAIN_SECRET', field: 'plugins.traffic-alerts.options.orchestrator.webhookUrl' });
    expect(!r.ok && r.diagnostics.map(formatDiagnostic).join('\n')).not.toContain('hunter2');
  });

  it("a one-service change touches only that service's files", async () => {
    const dir = join(work, 'one-service');
    cpSync(join(repo, 'environments'), join(dir, 'environments'), { recursive: true });
    writeFileSync(
      join(dir, 'environments/staging.yaml'),
      stagingServices('  storefront-web: { version: "3.9.0" }\n')(readFileSync(join(dir, 'environments/staging.yaml'), 'utf8')),
    );
    const before = (await baseline).get('staging')!.files;
    const after = (await render(dir)).get('staging')!.files;
    const changed = [...after.keys()].filter((p) => before.get(p)?.content !== after.get(p)!.content);
    expect([...before.keys()].sort()).toEqual([...after.keys()].sort());
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.filter((p) => !p.includes('storefront-web'))).toEqual([]);
  });

  it('a harmless change (a new service version) changes objects without risk flags', async () => {
    const { rules, exit } = await flagsAfter((r, w) => w('staging.yaml', stagingServices('  storefront-web: { version: "3.9.0" }\n')(r('staging.yaml'))));
    expect(rules).toEqual([]);
    expect(exit).toBe(1);
  });
});
