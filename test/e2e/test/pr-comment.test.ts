/**
 * The pull-request comment a reviewer reads, for three risky edits of the bundled
 * environments at once (shorter retention, a slower alert, a production DC removed),
 * rendered by the real plugins: flags folded across DCs, most severe first, consequences
 * of the DC removal not flagged again, and every flag traced to the line that caused it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '@topoforge/model';
import { renderInMemory } from '@topoforge/engine';
import { diffTrees, formatMarkdown, SEVERITY_ORDER, treeFromRender } from '@topoforge/gitops';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'topoforge-comment-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function render(dir: string) {
  const r = await renderInMemory({ environmentsDir: join(dir, 'environments'), cwd: repo });
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return treeFromRender(r.value);
}
const lineOf = (text: string, needle: string, from = 0) => text.slice(0, text.indexOf(needle, from)).split('\n').length;

describe('the PR comment for three risky edits', async () => {
  const dir = join(work, 'edited');
  cpSync(join(repo, 'environments'), join(dir, 'environments'), { recursive: true });
  const base = readFileSync(join(dir, 'environments/base.yaml'), 'utf8');
  const retention = base.indexOf('      retentionDays: 14\n');
  const edited = base.slice(0, retention) + '      retentionDays: 7\n' + base.slice(retention + '      retentionDays: 14\n'.length);
  writeFileSync(join(dir, 'environments/base.yaml'), edited.replace('      for: 5m\n', '      for: 15m\n'));
  const production = readFileSync(join(dir, 'environments/production.yaml'), 'utf8');
  writeFileSync(join(dir, 'environments/production.yaml'), production.replace(/ {2}dc10:\n(?: {4}.*\n)+/, ''));
  const report = diffTrees(await render(repo), await render(dir));
  const markdown = formatMarkdown(report);

  it('one flag per rule and object across DCs, most severe first', () => {
    const keys = report.flags.map((f) => `${f.rule}|${f.environment}|${f.subject}`);
    expect(new Set(keys).size).toBe(keys.length);
    // The per-slot Schedules, their paused fallbacks, the standby's and the -full-now templates
    // are one subject per service: one retention flag per environment, naming the service and
    // every name pattern.
    const retention = report.flags.filter((f) => f.rule === 'backup-retention-reduced');
    expect(retention.map((f) => `${f.environment} ${f.subject}`)).toEqual([
      'production Schedule velero/online-store-full-now, online-store-‹dc›, online-store-‹dc›-for-‹dc› (service online-store)',
      'staging Schedule velero/online-store-full-now, online-store-‹dc›, online-store-‹dc›-for-‹dc› (service online-store)',
    ]);
    expect(retention[0]!.where).toEqual(['dc01', 'dc02', 'dc03', 'dc04', 'dc05', 'dc06', 'dc07', 'dc08', 'dc09']);
    // each rotation DC's Schedule in dc01 and the paused standby's in dc03 (17), the paused
    // fallbacks of each slot (9), that exist before and after the edit, and the -full-now
    // templates of dc01 and of the standby in dc03 (2)
    expect(retention[0]!.paths).toHaveLength(17 + 9 + 2);
    expect(retention[0]!.detail).toBe('spec.template.ttl 336h0m0s → 168h0m0s (14d → 7d)');
    // The three alerts one `for` edit loosened in the same PrometheusRules are one flag.
    expect(report.flags.filter((f) => f.rule === 'alert-loosened').map((f) => `${f.environment} ${f.subject}`)).toEqual([
      'production alert TrafficDrop, TrafficMetricMissing, TrafficVanished',
      'staging alert TrafficDrop, TrafficMetricMissing, TrafficVanished',
    ]);
    const ranks = report.flags.map((f) => SEVERITY_ORDER.indexOf(f.severity));
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
    for (const f of report.flags) expect(f.why.length).toBeGreaterThan(20);
    // The issue measured 52 flags for these edits, 29 with per-instance backups (issue 15)
    // before they were folded. Now: the DC, its storage location, the five services losing
    // it, and per environment one retention and one alert flag.
    expect(report.flags.length).toBe(11);
  });

  it('the removed DC explains its canaries, alerts and schedules: none of them is flagged on its own', () => {
    const dc = report.flags.filter((f) => f.rule === 'dc-removed');
    expect(dc.map((f) => `${f.environment} ${f.subject}`)).toEqual(['production DC dc10']);
    // dc10's alerts: 4 of its services' traffic drops, 7 of the promotion gate's monitoring, 3 of the failover orchestrator's health.
    expect(dc[0]!.explains).toEqual(expect.arrayContaining(['3 × Canary removed (dc10)', '14 × Alert removed (dc10)']));
    expect(report.flags.filter((f) => ['canary-removed', 'alert-removed', 'backup-schedule-removed'].includes(f.rule))).toEqual([]);
    // The backup alerts in the other DCs only stop selecting dc10's Schedules (and select the
    // fallbacks replacing them): counted on the DC, like staging's restore-drill locations on dc10's bucket.
    expect(dc[0]!.explains).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\d+ × Alert loosened \(dc01, /), '7 × DC dropped from the backup rotation (staging: stg01)']),
    );
    expect(
      report.flags
        .filter((f) => f.environment === 'staging')
        .map((f) => f.rule)
        .sort(),
    ).toEqual(['alert-loosened', 'backup-retention-reduced']);
    // what it does not explain stays: the services losing a DC, the rotation losing a storage location
    expect(
      report.flags
        .filter((f) => f.rule === 'service-redundancy-lost')
        .map((f) => f.subject)
        .sort(),
    ).toEqual(['service online-store', 'service social-network', 'service social-web', 'service storefront-web', 'service telemetry']);
  });

  it('each flag says which line of environments/ caused it', () => {
    const at = (rule: string, env: string) =>
      report.flags
        .find((f) => f.rule === rule && f.environment === env)!
        .because!.map(
          (c) =>
            `${c.position!.file.split('/').slice(-2).join('/')}:${c.position!.line} ${c.type} ${c.field}${c.before !== undefined ? ` ${c.before} → ${c.after}` : ''}`,
        );
    expect(at('backup-retention-reduced', 'production')).toEqual([
      `environments/base.yaml:${lineOf(edited, '      retentionDays: 7\n', retention - 1)} changed policies.backup.full-every-2-days.retentionDays 14 → 7`,
    ]);
    expect(at('alert-loosened', 'staging')).toEqual([
      `environments/base.yaml:${lineOf(edited, '      for: 5m\n')} changed policies.trafficDrop.client-facing.for 5m → 15m`,
    ]);
    expect(at('dc-removed', 'production')).toEqual([`environments/production.yaml:${lineOf(production, '  dc10:\n')} removed dataCenters.dc10`]);
    expect(markdown).toMatch(/because `[^`]*environments\/base\.yaml:\d+` changed `policies\.backup\.full-every-2-days\.retentionDays` 14 → 7/);
  });

  it('identical changes across DCs are one row, and the comment stays readable', () => {
    const productionSection = markdown.slice(markdown.indexOf('### production:'), markdown.indexOf('### staging:'));
    const rows = productionSection.split('\n').filter((l) => l.startsWith('| ~ | PrometheusRule monitoring/traffic-drop-online-store '));
    expect(rows).toHaveLength(1);
    expect(markdown).toContain('| − | everything in dc10: ');
    // A service's per-instance Schedules, fallbacks and standbys re-spaced by the smaller
    // rotation are one row (each keeps its own days: one shown, with how many differ)…
    const velero = productionSection.slice(productionSection.indexOf('#### velero'));
    const schedules = velero.split('\n').filter((l) => l.startsWith('| ~ | Schedule velero/warehouse-'));
    expect(schedules).toHaveLength(1);
    expect(schedules[0]).toMatch(/\(\d+ objects\) \|.*`spec\.schedule`: .* \(one of \d+ different changes\)/);
    // …and the Schedules and locations elsewhere that named dc10 are counted on its removal, not listed.
    expect(velero).not.toContain('| − | Schedule velero/');
    expect(velero).toMatch(/\| − \| \d+ objects in other DCs named after dc10 \(7 BackupStorageLocation, \d+ Schedule\) \|/);
    expect(markdown).not.toContain('rows left out to fit a comment');
    // 159K unbounded (cut to 60K) before the per-instance Schedules were folded; 27.8K measured since.
    expect(markdown.length).toBeLessThan(29_200);
  });
});
