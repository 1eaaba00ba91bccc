/**
 * Folding of per-instance Velero Schedules (one per database instance and storage DC,
 * `shop-n1-n2`), their paused fallbacks (`shop-n1-n2-for-n3`) and what a removed DC
 * explains, on hand-written trees: each test would fail if the folding broke.
 */
import { describe, expect, it } from 'vitest';
import velero from '@topoforge/plugin-velero';
import { diffTrees, formatMarkdown, type RenderedTree, type RiskFlag } from '../src/index.js';

const DCS = ['n1', 'n2', 'n3'] as const;
// What velero registers: its own rules and the shared PrometheusRule rules (@topoforge/review-prometheus).
const review = velero.review.map((rule) => ({ plugin: 'velero', rule }));

interface Sched {
  readonly service: string;
  /** The DC whose cluster runs it (the per-DC instance's own DC). */
  readonly dc: string;
  readonly target: string;
  readonly fallbackFor?: string;
  readonly ttl: string;
  readonly days: string;
}

const scheduleName = (s: Sched) => `${s.service}-${s.dc}-${s.target}${s.fallbackFor ? `-for-${s.fallbackFor}` : ''}`;

function scheduleYaml(s: Sched): string {
  return `apiVersion: velero.io/v1
kind: Schedule
metadata:
  name: ${scheduleName(s)}
  namespace: velero
  annotations:
    topoforge.io/backup-rule: "kept ${s.ttl}; days ${s.days} of each month, stored in ${s.target}"
  labels:
    topoforge.io/dc: ${s.dc}
    topoforge.io/service: ${s.service}
    topoforge.io/database-instance: ${s.service}-${s.dc}
spec:
  schedule: "CRON_TZ=Europe/Lisbon 0 0 ${s.days} * *"
  template:
    storageLocation: ${s.target}
    ttl: ${s.ttl}
`;
}

function alertYaml(dc: string, service: string, schedules: readonly string[], holdFor: string): string {
  return `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: velero-backups-${service}-${dc}
  namespace: velero
  labels:
    topoforge.io/dc: ${dc}
    topoforge.io/service: ${service}
spec:
  groups:
    - name: velero-backups-${service}-${dc}
      rules:
        - alert: VeleroBackupFailed
          expr: 'sum(increase(velero_backup_failure_total{schedule=~"^(${schedules.join('|')})$"}[1h])) > 0'
          for: ${holdFor}
`;
}

const bslYaml = (name: string, dc: string, bucket: string) => `apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata:
  name: ${name}
  namespace: velero
  labels:
    topoforge.io/dc: ${dc}
spec:
  provider: aws
  objectStorage:
    bucket: ${bucket}
`;

type Files = Record<string, string>;
const schedulePath = (s: Sched) => `clusters/${s.dc}/velero/velero/schedule-${scheduleName(s)}.yaml`;

function tree(envs: Record<string, Files>): RenderedTree {
  return new Map(
    Object.entries(envs).map(([name, files]) => [
      name,
      { name, files: new Map(Object.entries(files).map(([path, content]) => [path, { content, plugin: 'velero' }])), review },
    ]),
  );
}

/** Every instance (one per DC) backs up into every DC, each with its own days, plus a paused fallback per slot. */
function rotation(service: string, ttl: string, dcs: readonly string[], days: (slot: number) => string): Sched[] {
  const out: Sched[] = [];
  for (const dc of dcs) {
    dcs.forEach((target, slot) => {
      out.push({ service, dc, target, ttl, days: days(slot) });
      out.push({ service, dc, target: dcs[(slot + 1) % dcs.length]!, fallbackFor: target, ttl, days: days(slot) });
    });
  }
  return out;
}

const files = (schedules: readonly Sched[], extra: Files = {}): Files => ({
  ...Object.fromEntries(schedules.map((s) => [schedulePath(s), scheduleYaml(s)])),
  ...extra,
});
const tenDays = (slot: number) => [1, 11, 21].map((d) => d + slot).join(',');
const nineDays = (slot: number) => [1, 10, 19, 28].map((d) => d + slot).join(',');
const rows = (markdown: string, prefix: string) => markdown.split('\n').filter((l) => l.startsWith(prefix));

describe('per-instance Schedules and their fallbacks fold into one subject', () => {
  it('a shorter retention of N per-instance Schedules and fallbacks is one flag per service and one row naming both patterns', () => {
    const before = [...rotation('shop', '336h0m0s', DCS, tenDays), ...rotation('stock', '336h0m0s', DCS, tenDays)];
    const after = [...rotation('shop', '168h0m0s', DCS, tenDays), ...rotation('stock', '168h0m0s', DCS, tenDays)];
    const report = diffTrees(tree({ prod: files(before) }), tree({ prod: files(after) }));
    const retention = report.flags.filter((f) => f.rule === 'backup-retention-reduced');
    // 3 instances × 3 slots, each with a fallback: 18 Schedules per service, still a flag per service (and only one)
    expect(retention.map((f) => f.subject)).toEqual([
      'Schedule velero/shop-‹dc›-‹dc›, shop-‹dc›-‹dc›-for-‹dc› (service shop)',
      'Schedule velero/stock-‹dc›-‹dc›, stock-‹dc›-‹dc›-for-‹dc› (service stock)',
    ]);
    for (const f of retention) {
      expect(f.paths).toHaveLength(18);
      expect(f.where).toEqual([...DCS]);
      expect(f.detail).toBe('spec.template.ttl 336h0m0s → 168h0m0s (14d → 7d)');
    }
    const markdown = formatMarkdown(report);
    const shop = rows(markdown, '| ~ | Schedule velero/shop-');
    expect(shop).toHaveLength(1);
    // the ttl changed alike everywhere: shown as is; the annotation differs per slot: one shown, with the count
    expect(shop[0]).toContain('(18 objects)');
    expect(shop[0]).toMatch(/`spec\.template\.ttl`: 336h0m0s → 168h0m0s( \||<br>)/);
    expect(shop[0]).toMatch(
      /`metadata\.annotations\.topoforge\.io\/backup-rule`: kept 336h0m0s; days (\d+),(\d+),(\d+) of each month, stored in ‹dc› → kept 168h0m0s; days \1,\2,\3 of each month, stored in ‹dc› \(one of 3 different changes\)/,
    );
  });

  it('each Schedule re-spaced to its own days by a rotation change is one row per service, not one per Schedule', () => {
    const report = diffTrees(
      tree({ prod: files(rotation('shop', '168h0m0s', DCS, tenDays)) }),
      tree({ prod: files(rotation('shop', '168h0m0s', DCS, nineDays)) }),
    );
    expect(report.flags).toEqual([]);
    const shop = rows(formatMarkdown(report), '| ~ | Schedule velero/shop-');
    expect(shop).toHaveLength(1);
    expect(shop[0]).toMatch(
      /`spec\.schedule`: CRON_TZ=Europe\/Lisbon 0 0 \d+,\d+,\d+ \* \* → CRON_TZ=Europe\/Lisbon 0 0 \d+,\d+,\d+,\d+ \* \* \(one of 3 different changes\)/,
    );
    // the changes are still counted one per object
    expect(report.environments[0]!.counts.changed).toBe(18);
  });

  it('Schedules whose changes differ in kind (a ttl cut in some only) stay separate rows, so the cut is not hidden', () => {
    const before = rotation('shop', '336h0m0s', DCS, tenDays);
    const after = before.map((s) => (s.fallbackFor ? { ...s, ttl: '168h0m0s' } : s));
    const report = diffTrees(tree({ prod: files(before) }), tree({ prod: files(after) }));
    expect(report.flags.map((f) => f.subject)).toEqual(['Schedule velero/shop-‹dc›-‹dc›-for-‹dc›']);
    expect(report.flags[0]!.paths).toHaveLength(9);
    expect(rows(formatMarkdown(report), '| ~ | Schedule velero/shop-')).toEqual([expect.stringContaining('shop-‹dc›-‹dc›-for-‹dc› (9 objects)')]);
  });
});

describe('a removed DC explains what follows it', () => {
  const survivors = ['n1', 'n2'];
  const kept = rotation('shop', '168h0m0s', DCS, tenDays).filter(
    (s) => survivors.includes(s.dc) && survivors.includes(s.target) && (!s.fallbackFor || survivors.includes(s.fallbackFor)),
  );
  const names = (dc: string, list: readonly Sched[]) => list.filter((s) => s.dc === dc).map(scheduleName);
  const all = rotation('shop', '168h0m0s', DCS, tenDays);
  const alertPath = (dc: string) => `clusters/${dc}/velero/velero/prometheusrule-velero-backups-shop-${dc}.yaml`;
  const withAlerts = (list: readonly Sched[], dcs: readonly string[], holdFor: (dc: string) => string): Files =>
    files(list, Object.fromEntries(dcs.map((dc) => [alertPath(dc), alertYaml(dc, 'shop', names(dc, list), holdFor(dc))])));
  const dcFlag = (flags: readonly RiskFlag[]) => flags.find((f) => f.rule === 'dc-removed')!;

  it("an alert that only stops selecting the DC's Schedules is counted on the DC; one that also changes otherwise is flagged", () => {
    const a = withAlerts(all, DCS, () => '10m');
    const b = withAlerts(kept, survivors, (dc) => (dc === 'n2' ? '30m' : '10m'));
    const report = diffTrees(tree({ prod: a }), tree({ prod: b }));
    const loosened = report.flags.filter((f) => f.rule === 'alert-loosened');
    // n1's alert lost only n3's Schedule names: explained; n2's also waits longer: flagged, with both of its changes
    expect(loosened.map((f) => f.where)).toEqual([['n2'], ['n2']]);
    expect(loosened.map((f) => f.detail).sort()).toEqual([
      'expression rewritten beyond its thresholds: check what it fires on',
      'for 10m → 30m (must hold longer before it fires)',
    ]);
    expect(dcFlag(report.flags).explains).toContain('1 × Alert loosened (n1)');
    // the Schedules elsewhere storing in or standing in for n3 are no flag and no row of their own, but counted on its row
    expect(report.flags.filter((f) => f.rule === 'backup-schedule-removed')).toEqual([]);
    const markdown = formatMarkdown(report);
    expect(rows(markdown, '| − | Schedule velero/')).toEqual([]);
    const stays = new Set(kept.map(scheduleName));
    const removedElsewhere = all.filter((s) => s.dc !== 'n3' && !stays.has(scheduleName(s))).length;
    const inN3 = all.filter((s) => s.dc === 'n3').length;
    expect(markdown).toContain(
      `| − | everything in n3: 1 PrometheusRule, ${inN3} Schedule; and ${removedElsewhere} objects in other DCs named after n3 (${removedElsewhere} Schedule) |`,
    );
  });

  it("another environment's locations on the removed DC's bucket are counted on that DC, unless the name is also one of its own DCs", () => {
    const prodBefore = files(all);
    const prodAfter = files(kept);
    const drill = (dcs: readonly string[]) =>
      Object.fromEntries(
        dcs.map((d) => [`clusters/s1/velero/velero/backupstoragelocation-prod-${d}-from-n1.yaml`, bslYaml(`prod-${d}-from-n1`, 's1', `prod-${d}-backups`)]),
      );
    const report = diffTrees(tree({ prod: prodBefore, stage: drill(DCS) }), tree({ prod: prodAfter, stage: drill(survivors) }));
    expect(report.flags.filter((f) => f.environment === 'stage')).toEqual([]);
    expect(dcFlag(report.flags).explains).toContain('1 × DC dropped from the backup rotation (stage: s1)');

    // A stage DC also called n3: the name no longer says which environment's DC it is, so the flag stays.
    const own = { 'clusters/n3/velero/velero/backupstoragelocation-own.yaml': bslYaml('own', 'n3', 'stage-n3') };
    const ambiguous = diffTrees(
      tree({ prod: prodBefore, stage: { ...drill(DCS), ...own } }),
      tree({ prod: prodAfter, stage: { ...drill(survivors), ...own } }),
    );
    expect(ambiguous.flags.filter((f) => f.environment === 'stage').map((f) => `${f.rule} ${f.subject}`)).toEqual([
      'backup-location-dropped BackupStorageLocation velero/prod-n3-from-n1',
    ]);
  });
});
