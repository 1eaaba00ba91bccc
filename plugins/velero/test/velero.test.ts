import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { environmentFromYaml, synth, synthErrors } from '@topoforge/plugin-sdk/testing';
import { runPlanHooks, type PluginDefinition } from '@topoforge/plugin-sdk';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import velero, { backupCalendar, everyNDaysSlots, sourceDc } from '../src/index.js';
import { drillRestore } from '../src/drill.js';

const plugin = velero as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
const DAY = 86_400_000;

/**
 * The calendar the policy asks for, derived independently of the plugin: for each service
 * and each local day, the expected (type, DC, ttl) or nothing.
 */
function expectedCalendar(env: Environment, from: string, to: string): Map<string, { type: string; dc: string; ttlDays: number }> {
  const out = new Map<string, { type: string; dc: string; ttlDays: number }>();
  const n = env.dataCenters.length;
  const dcAt = (position: number) => env.dataCenters.find((d) => d.rotation === position)!.name;
  for (let t = Date.parse(`${from}T00:00:00Z`); t < Date.parse(`${to}T00:00:00Z`); t += DAY) {
    const date = new Date(t);
    const dom = date.getUTCDate();
    const weekday = date.getUTCDay();
    const key = date.toISOString().slice(0, 10);
    for (const s of env.services) {
      const p = s.policies.backup;
      if (!p) continue;
      if (s.kind === 'social-network' || s.kind === 'telemetry') {
        out.set(`${key} ${s.name}`, { type: 'full', dc: dcAt(((dom - 1) % n) + 1), ttlDays: 7 });
      } else if (s.kind === 'online-store') {
        if (dom % 2 === 1) out.set(`${key} ${s.name}`, { type: 'full', dc: dcAt((((dom + 1) / 2 - 1) % n) + 1), ttlDays: 14 });
      } else {
        out.set(`${key} ${s.name}`, { type: weekday === 2 || weekday === 5 ? 'full' : 'differential', dc: dcAt(((dom - 1) % n) + 1), ttlDays: 14 });
      }
    }
  }
  return out;
}

describe('velero schedules implement the backup strategy exactly', () => {
  it('simulated over 71 days across month ends and February, match the policy day by day', async () => {
    const out = await synth(plugin, production);
    const from = '2027-01-20';
    const to = '2027-04-01';
    // Every schedule fires at local midnight of its source DC; take local dates.
    const rows = backupCalendar(out.emitted, Date.parse(`${from}T00:00:00Z`) - DAY, Date.parse(`${to}T00:00:00Z`) + DAY).filter((r) => r.date >= from && r.date < to);
    const actual = new Map<string, { type: string; dc: string; ttlDays: number }>();
    for (const r of rows) {
      const key = `${r.date} ${r.service}`;
      expect(actual.has(key), `two backups for ${key}`).toBe(false);
      actual.set(key, { type: r.type, dc: r.dc, ttlDays: (r.expiresAt - r.at) / DAY });
    }
    const expected = expectedCalendar(production, from, to);
    expect(expected.size).toBeGreaterThan(300);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, want] of expected) expect(actual.get(key), key).toEqual(want);
  });

  it('runs each backup at 00:00 local time of the source DC, inside the 00:00–00:30 window', async () => {
    const out = await synth(plugin, production);
    const rows = backupCalendar(out.emitted, Date.parse('2027-02-01T00:00:00Z'), Date.parse('2027-02-10T00:00:00Z'));
    for (const r of rows) {
      const tz = production.dataCenters.find((d) => d.name === r.sourceDc)!.timeZone;
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(r.at));
      expect(local).toBe('00:00');
    }
    for (const s of out.objects('Schedule')) {
      const hook = (s.spec as { template: { hooks: { resources: { pre: { exec: { timeout: string } }[] }[] } } }).template.hooks.resources[0]!.pre[0]!.exec;
      expect(hook.timeout).toBe('30m');
    }
  });

  it('spreads store backups (every 2 days) over every DC, unlike plain day-of-month rotation', async () => {
    const slots = everyNDaysSlots(10, 2);
    expect(slots.every((s) => s.days.length > 0)).toBe(true);
    expect(slots.map((s) => s.days)).toEqual([[1, 21], [3, 23], [5, 25], [7, 27], [9, 29], [11, 31], [13], [15], [17], [19]]);
    const out = await synth(plugin, production);
    const rows = backupCalendar(out.emitted, Date.parse('2027-01-01T00:00:00Z'), Date.parse('2027-07-01T00:00:00Z')).filter((r) => r.service === 'online-store');
    expect(new Set(rows.map((r) => r.dc))).toEqual(new Set(production.dataCenters.map((d) => d.name)));
    // never more than 2 days between store backups, month ends included
    const days = [...new Set(rows.map((r) => Date.parse(`${r.date}T00:00:00Z`)))].sort((a, b) => a - b);
    for (let i = 1; i < days.length; i++) expect(days[i]! - days[i - 1]!).toBeLessThanOrEqual(2 * DAY);
  });

  it('makes full and differential real: the database tool runs in a pre-backup hook, typed by label where fixed', async () => {
    const out = await synth(plugin, production);
    const byService = (name: string) => out.objects('Schedule').filter((s) => (s.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels['topoforge.io/service'] === name);
    const social = byService('social-network');
    expect(social).toHaveLength(10);
    expect(social[0]!.metadata.labels!['topoforge.io/backup-type']).toBe('full');
    const exec = (s: (typeof social)[number]) => (s.spec as { template: { hooks: { resources: { pre: { exec: { command: string[] } }[] }[] } } }).template.hooks.resources[0]!.pre[0]!.exec.command;
    expect(exec(social[0]!)).toEqual(['pgbackrest', '--stanza=social', '--type=full', 'backup']);
    const wh = byService('warehouse');
    expect(wh[0]!.metadata.labels!['topoforge.io/backup-type']).toBeUndefined();
    expect(wh[0]!.metadata.annotations!['topoforge.io/full-weekdays']).toBe('tuesday,friday');
    expect(exec(wh[0]!).join(' ')).toContain(`case "$(TZ=Europe/Lisbon date +%u)" in 2|5) exec 'pgbackrest' '--stanza=warehouse' '--type=full' 'backup' ;; *) exec 'pgbackrest' '--stanza=warehouse' '--type=diff' 'backup' ;; esac`);
    // day-of-month is restricted, so day-of-week must stay * (robfig would OR them)
    for (const s of out.objects('Schedule')) expect((s.spec as { schedule: string }).schedule).toMatch(/^CRON_TZ=\S+ 0 0 [\d,]+ \* \*$/);
  });

  it('never leaves a kept differential without its full', async () => {
    // Each Velero Backup copies the database pod's volumes, pgBackRest repository included
    // (defaultVolumesToFsBackup), so a differential day's Backup holds the differential AND
    // the full it is based on: restoring it never needs another Backup that may have expired.
    // Inside the repository the full must therefore precede each differential by less than
    // the retention, which the calendar shows for a whole quarter.
    const out = await synth(plugin, production);
    for (const s of out.objects('Schedule')) {
      const t = (s.spec as { template: { defaultVolumesToFsBackup: boolean; includedNamespaces: string[]; hooks: { resources: { includedNamespaces: string[] }[] } } }).template;
      expect(t.defaultVolumesToFsBackup).toBe(true);
      expect(t.hooks.resources[0]!.includedNamespaces).toEqual(t.includedNamespaces);
    }
    const rows = backupCalendar(out.emitted, Date.parse('2027-01-01T00:00:00Z'), Date.parse('2027-04-01T00:00:00Z')).filter((r) => r.service === 'warehouse');
    let lastFull: (typeof rows)[number] | undefined;
    let checked = 0;
    for (const r of rows) {
      if (r.type === 'full') lastFull = r;
      else if (lastFull) {
        expect(r.at - lastFull.at).toBeLessThanOrEqual(4 * DAY);
        expect(lastFull.expiresAt - lastFull.at).toBe(14 * DAY);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('emits one BackupStorageLocation per DC storage, with a credential reference and no secret value', async () => {
    const out = await synth(plugin, production);
    const bsls = out.objects('BackupStorageLocation');
    expect(bsls.map((b) => b.metadata.name).sort()).toEqual(production.dataCenters.map((d) => d.name).sort());
    expect(bsls[0]!.spec).toMatchObject({ provider: 'aws', objectStorage: { bucket: 'commerce-prod-dc01-backups' }, credential: { name: 'velero-dc01-credentials', key: 'cloud' } });
    expect(out.records('Schedule').every((r) => r.dc === sourceDc(production, production.services.find((s) => s.name === r.service)!).name)).toBe(true);
  });

  it('emits restore drills into staging that restore the latest production backup into an isolated namespace', async () => {
    const out = await synth(plugin, staging, { restoreDrill: { fromEnvironment: 'production' } }, [production]);
    const cronJobs = out.records('CronJob');
    expect(cronJobs.map((r) => r.service).sort()).toEqual(production.services.filter((s) => s.policies.backup).map((s) => s.name).sort());
    expect(cronJobs.every((r) => r.dc === 'stg01')).toBe(true);
    const ro = out.objects('BackupStorageLocation').filter((b) => b.metadata.name.startsWith('production-'));
    expect(ro).toHaveLength(10);
    expect(ro.every((b) => (b.spec as { accessMode: string }).accessMode === 'ReadOnly')).toBe(true);
    const script = (out.objects('ConfigMap').find((c) => c.metadata.name === 'restore-drill-online-store')!.data as Record<string, string>)['drill.sh']!;
    expect(script).toContain('-l topoforge.io/service=online-store,topoforge.io/environment=production');
    expect(script).toContain('"namespaceMapping":{"online-store":"drill-online-store"}');
    expect(script).toContain('pgbackrest --stanza=store verify');
    const errors = await synthErrors([plugin], production, { velero: { restoreDrill: { fromEnvironment: 'production' } } });
    expect(errors.join('\n')).toContain('restore drills run on the test stand only');
  });

  it('adds a backup calendar to topoforge plan, read from the emitted Schedules', async () => {
    const out = await synth(plugin, production);
    const r = await runPlanHooks(production, [{ definition: plugin, use: { name: 'velero', package: 'test', options: {} } }], out, { month: '2027-02' });
    if (!r.ok) throw new Error('plan failed');
    const body = r.value[0]!.sections[0]!;
    expect(body.title).toBe('Backup calendar 2027-02-01 – 2027-02-28 (simulated from the emitted Schedules)');
    expect(body.body).toMatch(/^2027-02-02 +warehouse +full +dc02 /m); // a Tuesday
    expect(body.body).toMatch(/^2027-02-03 +warehouse +differential +dc03 /m);
    expect(body.body).toMatch(/^2027-02-11 +social-network +full +dc01 /m); // the 11th goes to DC 1 again
    expect(body.body).not.toMatch(/^2027-02-02 +online-store/m);
  });
});

describe('bad policies get clear errors', () => {
  const base = (policy: string, service = 'stock: { kind: warehouse, image: r/s, version: "1", database: { engine: postgresql, name: s }, policies: { backup: p } }') => `kind: Environment
name: t
stage: staging
regions: { r: { timeZone: Europe/Paris, businessUnits: [warehouses] } }
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b } }
policies:
  backup:
    p: ${policy}
services:
  ${service}
`;
  it('rejects retention shorter than the cadence, an unknown time zone, an empty rotation (model)', () => {
    expect(() => environmentFromYaml(base('{ full: { everyDays: 2 }, window: { start: "00:00", end: "00:30" }, retentionDays: 1 }'))).toThrow(/retention of 1 days is shorter than the 2-day gap/);
    expect(() => environmentFromYaml(base('{ full: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 7 }').replace('Europe/Paris', 'Europe/Atlantis'))).toThrow(/unknown time zone "Europe\/Atlantis"/);
    expect(() => environmentFromYaml(base('{ full: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 7 }').replace(/dataCenters:\n.*\n/, 'dataCenters: {}\n'))).toThrow(/at least one data centre/);
  });

  it('rejects a backup policy on a service without a database, and a differential on an engine without one', async () => {
    const noDb = environmentFromYaml(base('{ full: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 7 }', 'stock: { kind: warehouse, image: r/s, version: "1", policies: { backup: p } }'));
    expect((await synthErrors([plugin], noDb)).join('\n')).toMatch(/\[plugin velero\] service stock has a backup policy but no database \(field services\.stock\.policies\.backup\)/);
    const mongo = environmentFromYaml(base('{ full: { weekdays: [tuesday] }, differential: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 14 }', 'stock: { kind: warehouse, image: r/s, version: "1", database: { engine: mongodb, name: s }, policies: { backup: p } }'));
    expect((await synthErrors([plugin], mongo)).join('\n')).toContain('mongodb has no differential backup');
    const weekdaysOnly = environmentFromYaml(base('{ full: { weekdays: [tuesday, friday] }, window: { start: "00:00", end: "00:30" }, retentionDays: 14 }'));
    expect((await synthErrors([plugin], weekdaysOnly)).join('\n')).toContain('cannot rotate across DCs by day of month');
  });
});

const shared = findSharedDir();
if (!shared) console.warn(SHARED_MISSING);
describe.runIf(shared)('every emitted Velero object validates against the upstream CRDs', () => {
  it('Schedules, BackupStorageLocations and the drill Restore', async () => {
    const catalog = CrdCatalog.fromDir(join(shared!, 'crds', 'velero'));
    const objects = [...(await synth(plugin, production)).objects(), ...(await synth(plugin, staging, { restoreDrill: { fromEnvironment: 'production' } }, [production])).objects()].filter((o) => o.apiVersion.startsWith('velero.io/'));
    objects.push(drillRestore('online-store', 'online-store', 'velero', 'online-store-dc03-20270201000000'));
    expect(new Set(objects.map((o) => o.kind))).toEqual(new Set(['Schedule', 'BackupStorageLocation', 'Restore']));
    const problems = objects.flatMap((o) => catalog.validate(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path} ${p.message}`));
    expect(problems).toEqual([]);
  });
});
