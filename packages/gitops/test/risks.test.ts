import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  diffExitCode,
  diffTrees,
  formatMarkdown,
  parseEnvironment,
  renderTree,
  riskFlags,
  type DiffReport,
  type RenderedTree,
  type RiskFlag,
  type RiskRule,
} from '../src/index.js';
import { alertLoosened } from '@topoforge/review-prometheus';
import { ENV, builtins, edit, removeTempDirs, tempDir, writeFiles } from './fixtures.js';
import { diffEnv, renderEnvs } from './helpers.js';

afterEach(removeTempDirs);

const rules = (r: DiffReport): RiskRule[] => [...new Set(r.flags.map((f) => f.rule))].sort();
const flag = (r: DiffReport, rule: RiskRule) => r.flags.filter((f) => f.rule === rule);
/** The fields a flag had before severity, why, provenance and folding were added. */
const core = ({ rule, environment, subject, detail, where }: RiskFlag) => ({ rule, environment, subject, detail, where });

describe('risk flags, each triggered by an edit of the environment file', () => {
  it('no edit: no change, exit 0', async () => {
    const r = await diffEnv(ENV, ENV);
    expect(r.environments.map((e) => e.status)).toEqual(['unchanged']);
    expect(r.flags).toEqual([]);
    expect(diffExitCode(r)).toBe(0);
  });

  it('backup retention reduced: retentionDays 7 → 3 shortens every Schedule ttl', async () => {
    const r = await diffEnv(ENV, edit(ENV, 'retentionDays: 7', 'retentionDays: 3'));
    expect(rules(r)).toEqual(['backup-retention-reduced']);
    const f = flag(r, 'backup-retention-reduced');
    expect(f.map((x) => x.subject).sort()).toEqual(['Schedule velero/shop-daily', 'Schedule velero/stock-daily']);
    expect(f[0]!.where).toEqual(['n1', 'n2', 'n3']);
    expect(f[0]!.detail).toBe('spec.template.ttl 168h0m0s → 72h0m0s (7d → 3d)');
    expect(diffExitCode(r)).toBe(3);
  });

  it('longer retention is a change, not a risk (exit 1)', async () => {
    const r = await diffEnv(ENV, edit(ENV, 'retentionDays: 7', 'retentionDays: 14'));
    expect(r.flags).toEqual([]);
    expect(r.environments[0]!.counts.changed).toBe(6);
    expect(diffExitCode(r)).toBe(1);
  });

  it('backup schedule removed: a service loses its backup policy', async () => {
    const r = await diffEnv(ENV, edit(ENV, 'policies: { backup: daily }', 'policies: {}'));
    expect(rules(r)).toEqual(['backup-schedule-removed']);
    expect(flag(r, 'backup-schedule-removed')[0]).toMatchObject({ subject: 'Schedule velero/stock-daily', where: ['n1', 'n2', 'n3'] });
  });

  it('DC dropped from the backup rotation: no Schedule writes to its location any more', async () => {
    const r = await diffEnv(ENV, edit(ENV, 'excludeFromRotation: []', 'excludeFromRotation: [n3]'));
    expect(rules(r)).toEqual(['backup-location-dropped']);
    expect(flag(r, 'backup-location-dropped')[0]!.subject).toBe('storage location backups-n3');
  });

  it('DC dropped: removing a DC is one flag that explains its BackupStorageLocations, schedules, canaries and alerts going away (and the services lose a DC)', async () => {
    const r = await diffEnv(
      ENV,
      edit(ENV, '  n3: { region: west, rotation: 3, cluster: { context: n3 }, backupStorage: { provider: aws, bucket: bucket-n3 } }\n', ''),
    );
    expect(rules(r)).toEqual(['backup-location-dropped', 'dc-removed', 'service-redundancy-lost']);
    const dc = flag(r, 'dc-removed');
    expect(dc.map(core)).toEqual([
      {
        rule: 'dc-removed',
        environment: 'prod',
        subject: 'DC n3',
        detail: 'its 9 objects are no longer rendered (3 BackupStorageLocation, 1 Canary, 2 ConfigMap, 1 PrometheusRule, 2 Schedule)',
        where: ['n3'],
      },
    ]);
    // the BackupStorageLocation of n3 in every DC, and what lived in n3, are counted on it instead of flagged
    expect(dc[0]!.explains).toEqual([
      '2 × Alert removed (n3)',
      '2 × Backup schedule removed (n3)',
      '1 × Canary removed (n3)',
      '5 × DC dropped from the backup rotation (n1, n2, n3)',
    ]);
    expect(r.flags.some((f) => f.subject === 'BackupStorageLocation velero/backups-n3')).toBe(false);
    // the rotation losing its storage is still flagged once, and the service losing a DC too
    expect(flag(r, 'backup-location-dropped').map((f) => f.subject)).toEqual(['storage location backups-n3']);
    expect(flag(r, 'service-redundancy-lost').map((f) => f.subject)).toEqual(['service shop']);
    // every one of them traces back to the removed DC in the environment file
    for (const f of r.flags)
      expect(
        f.because?.map((c) => `${c.position?.file}:${c.position?.line} ${c.type} ${c.field}`),
        f.rule,
      ).toContain('environments/prod.yaml:10 removed dataCenters.n3');
    // most severe first; the DC leads its severity
    expect(r.flags.map((f) => f.severity)).toEqual(['high', 'high', 'high']);
    expect(r.flags[0]!.rule).toBe('dc-removed');
  });

  it.each([
    ['threshold: 5', 'threshold: 10', 'analysis.threshold 5 → 10'],
    ['maxWeight: 50', 'maxWeight: 80', 'analysis.maxWeight 50 → 80'],
    ['stepWeight: 10', 'stepWeight: 25', 'analysis.stepWeight 10 → 25'],
    ['successRateMin: 99', 'successRateMin: 95', 'metric request-success-rate thresholdRange.min 99 → 95'],
    ['durationMaxMs: 500', 'durationMaxMs: 800', 'metric request-duration thresholdRange.max 500 → 800'],
  ])('canary loosened: %s → %s', async (from, to, detail) => {
    const r = await diffEnv(ENV, edit(ENV, from, to));
    expect(rules(r)).toEqual(['canary-loosened']);
    const f = flag(r, 'canary-loosened');
    expect(f).toHaveLength(1);
    expect(f[0]!.subject).toBe('Canary shop/shop');
    expect(f[0]!.detail.startsWith(detail)).toBe(true);
    expect(f[0]!.where).toEqual(['n1', 'n2', 'n3']);
  });

  it.each([
    ['threshold: 5', 'threshold: 2'],
    ['maxWeight: 50', 'maxWeight: 30'],
    ['successRateMin: 99', 'successRateMin: 99.5'],
    ['durationMaxMs: 500', 'durationMaxMs: 300'],
  ])('canary tightened is no risk: %s → %s', async (from, to) => {
    const r = await diffEnv(ENV, edit(ENV, from, to));
    expect(r.flags).toEqual([]);
    expect(diffExitCode(r)).toBe(1);
  });

  it('canary removed: the service switches to a rolling update', async () => {
    const r = await diffEnv(ENV, edit(ENV, 'rollout: canary', 'rollout: rolling'));
    expect(rules(r)).toEqual(['canary-removed']);
  });

  it.each([
    ['dropRatio: 0.5', 'dropRatio: 0.3', 'threshold 0.5 → 0.3 (fires less often)'],
    ['minRequestsPerSecond: 5', 'minRequestsPerSecond: 20', 'threshold 5 → 20 (fires less often)'],
    ['      for: 5m', '      for: 15m', 'for 5m → 15m (must hold longer before it fires)'],
    ['severity: critical', 'severity: warning', 'severity critical → warning'],
    ['rateWindow: 5m', 'rateWindow: 30m', 'expression rewritten beyond its thresholds: check what it fires on'],
  ])('alert loosened: %s → %s', async (from, to, detail) => {
    const r = await diffEnv(ENV, edit(ENV, from, to));
    expect(rules(r)).toEqual(['alert-loosened']);
    expect(flag(r, 'alert-loosened').map(core)).toEqual([
      { rule: 'alert-loosened', environment: 'prod', subject: 'alert TrafficDrop_shop', detail, where: ['n1', 'n2', 'n3'] },
    ]);
    expect(flag(r, 'alert-loosened')[0]).toMatchObject({ severity: 'low', why: alertLoosened.why, explains: [] });
    expect(flag(r, 'alert-loosened')[0]!.paths).toHaveLength(3);
  });

  it('alert threshold whose direction is unknown (`!=`): "changed threshold, check direction"', async () => {
    const r = await diffEnv(ENV, edit(ENV, 'windowSeconds: 240', 'windowSeconds: 300'));
    expect(flag(r, 'alert-loosened').map((f) => f.detail)).toEqual(['changed threshold 240 → 300, check direction']);
  });

  it.each([
    ['dropRatio: 0.5', 'dropRatio: 0.7'],
    ['minRequestsPerSecond: 5', 'minRequestsPerSecond: 1'],
    ['      for: 5m', '      for: 2m'],
  ])('alert tightened is no risk: %s → %s', async (from, to) => {
    const r = await diffEnv(ENV, edit(ENV, from, to));
    expect(r.flags).toEqual([]);
  });

  it('alert removed: the service loses its traffic-drop policy', async () => {
    const r = await diffEnv(ENV, edit(ENV, 'canary: web, trafficDrop: client,', 'canary: web,'));
    expect(rules(r)).toEqual(['alert-removed']);
    expect(flag(r, 'alert-removed')[0]).toMatchObject({ subject: 'alert TrafficDrop_shop', detail: 'the alert no longer exists' });
  });

  it('client-facing service in fewer DCs: placement narrowed from 3 DCs to 2', async () => {
    const r = await diffEnv(ENV, edit(ENV, '    rollout: canary\n', '    rollout: canary\n    placement: { dataCenters: [n1, n2] }\n'));
    expect(flag(r, 'service-redundancy-lost').map(core)).toEqual([
      { rule: 'service-redundancy-lost', environment: 'prod', subject: 'service shop', detail: '3 → 2 DCs (no longer in n3)', where: [] },
    ]);
    // its canary and alerts in n3 go with it: explained by the bigger change, not flagged again;
    // its backup schedule there is still flagged (backups move, and a reviewer checks where)
    expect(flag(r, 'service-redundancy-lost')[0]!.explains).toEqual(['2 × Alert removed (n3)', '1 × Canary removed (n3)']);
    expect(rules(r)).toEqual(['backup-schedule-removed', 'service-redundancy-lost']);
    expect(r.flags.filter((f) => f.rule !== 'service-redundancy-lost').every((f) => f.where.join() === 'n3')).toBe(true);
    expect(flag(r, 'service-redundancy-lost')[0]!.because?.map((c) => `${c.position?.file}:${c.position?.line} ${c.type} ${c.field} = ${c.after}`)).toEqual([
      'environments/prod.yaml:45 added services.shop.placement.dataCenters = ["n1","n2"]',
    ]);
  });

  it('client-facing service in a single DC (a staging stand allows it, the diff still flags it)', async () => {
    const staging = edit(ENV, 'stage: production', 'stage: staging');
    const r = await diffEnv(staging, edit(staging, '    rollout: canary\n', '    rollout: canary\n    placement: { dataCenters: [n2] }\n'));
    expect(flag(r, 'service-redundancy-lost')[0]).toMatchObject({ subject: 'service shop', detail: '3 → 1 DCs (no longer in n1, n3)' });
  });

  it('a regional service in fewer DCs is not a client-facing risk', async () => {
    const r = await diffEnv(ENV, edit(ENV, '    image: r/stock\n', '    image: r/stock\n    placement: { dataCenters: [n1, n2] }\n'));
    expect(rules(r)).not.toContain('service-redundancy-lost');
  });

  // Render refuses a secret in the model or in a plugin's output (TOPOLOGY_PLAIN_SECRET,
  // PLUGIN_PLAIN_SECRET); the diff still flags one in a tree it reads (--against, a hand edit).
  const plus = (tree: RenderedTree, path: string, content: string, plugin: string): RenderedTree => {
    const env = tree.get('prod')!;
    return new Map([['prod', { ...env, files: new Map([...env.files, [path, { content, plugin }]]) }]]);
  };

  it('secret in plain text: a Secret with stringData, never printed', async () => {
    const before = await renderEnvs({ 'prod.yaml': ENV });
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: stock-db\n  namespace: stock\nstringData:\n  password: Tr0ub4dor-and-3\n';
    const after = plus(
      plus(
        plus(before, 'clusters/n1/platform/stock/secret-stock-db.yaml', secret, 'platform'),
        'clusters/n2/platform/stock/secret-stock-db.yaml',
        secret,
        'platform',
      ),
      'clusters/n3/platform/stock/secret-stock-db.yaml',
      secret,
      'platform',
    );
    const r = diffTrees(before, after);
    expect(rules(r)).toEqual(['secret-in-plain-text']);
    expect(flag(r, 'secret-in-plain-text')[0]).toMatchObject({ subject: 'Secret stock/stock-db', where: ['n1', 'n2', 'n3'] });
    const md = formatMarkdown(r);
    expect(md).toContain('Secret value in plain text');
    expect(md).not.toContain('Tr0ub4dor');
    expect(JSON.stringify(r)).not.toContain('Tr0ub4dor');
  });

  it('secret in plain text: a credential in a rendered text file', async () => {
    const before = await renderEnvs({ 'prod.yaml': ENV });
    const r = diffTrees(before, plus(before, 'notes/connection.txt', 'DATABASE_URL=postgres://app:pa55-w0rd@db.internal:5432/app\n', 'platform'));
    expect(flag(r, 'secret-in-plain-text').map(core)).toEqual([
      { rule: 'secret-in-plain-text', environment: 'prod', subject: 'notes/connection.txt', detail: 'line 1: looks like a URL with a password', where: [] },
    ]);
    expect(flag(r, 'secret-in-plain-text')[0]!.severity).toBe('critical');
    expect(JSON.stringify(r)).not.toContain('pa55-w0rd');
  });

  it('a secret in the model is refused by the render, field named, value never printed', async () => {
    const dir = tempDir('ws');
    writeFiles(join(dir, 'environments'), {
      'prod.yaml': edit(ENV, 'excludeFromRotation: []', 'excludeFromRotation: []\n      databasePassword: "Tr0ub4dor-and-3"'),
    });
    const r = await renderTree({ environmentsDir: 'environments', cwd: dir, builtins });
    expect(!r.ok && r.diagnostics[0]).toMatchObject({ code: 'TOPOLOGY_PLAIN_SECRET', field: 'plugins.platform.options.databasePassword' });
    expect(JSON.stringify(r)).not.toContain('Tr0ub4dor');
  });
});

describe('review rules contributed by plugins (contract v2 `review`)', () => {
  it("the retention flag comes from velero's rule, named with its plugin; without the rule there is no such flag", async () => {
    const r = await diffEnv(ENV, edit(ENV, 'retentionDays: 7', 'retentionDays: 3'));
    expect(flag(r, 'backup-retention-reduced').map((f) => [f.plugin, f.title])).toEqual([
      ['platform', 'Backup retention reduced'],
      ['platform', 'Backup retention reduced'],
    ]);
    const before = await renderEnvs({ 'prod.yaml': ENV });
    const after = await renderEnvs({ 'prod.yaml': edit(ENV, 'retentionDays: 7', 'retentionDays: 3') });
    const a = parseEnvironment(before.get('prod')!);
    const b = parseEnvironment(after.get('prod')!);
    expect(riskFlags('prod', a, b).map((f) => f.rule)).toEqual([]);
    expect(riskFlags('prod', a, b, undefined, after.get('prod')!.review).map((f) => f.rule)).toEqual(['backup-retention-reduced', 'backup-retention-reduced']);
  });
});
