import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { environmentFromYaml, synth, synthErrors } from '@topoforge/plugin-sdk/testing';
import { runPlanHooks, type KubeObject, type PluginDefinition } from '@topoforge/plugin-sdk';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { parseGoDuration } from '@topoforge/robfig-cron';
import velero, { backupCalendar, calendarRange, everyNDaysSlots, readHookCommand, sourceDc } from '../src/index.js';
import { weekdayCommand } from '../src/hooks.js';

const plugin = velero as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
const DAY = 86_400_000;
const DRILL = { restoreDrill: { fromEnvironment: 'production' } };

interface Expected {
  type: 'full' | 'differential';
  dc: string;
  ttlMs: number;
}

/**
 * The calendar the POLICY asks for, derived independently of the plugin (no rotation code,
 * no cron): per local date and service with a backup policy, the expected type, storage DC
 * and ttl; absent = no backup that day. Dates are plain calendar dates: every backup runs
 * at local midnight of its source DC, so its local date is the day it belongs to.
 */
function expectedCalendar(env: Environment, from: string, to: string): Map<string, Expected> {
  const out = new Map<string, Expected>();
  const n = env.dataCenters.length;
  const dcAt = (position: number) => env.dataCenters.find((d) => d.rotation === position)!.name;
  for (let t = Date.parse(`${from}T00:00:00Z`); t < Date.parse(`${to}T00:00:00Z`); t += DAY) {
    const date = new Date(t);
    const dom = date.getUTCDate();
    const weekday = date.getUTCDay();
    const key = date.toISOString().slice(0, 10);
    for (const s of env.services) {
      if (!s.policies.backup) continue;
      if (s.kind === 'social-network' || s.kind === 'telemetry') {
        out.set(`${key} ${s.name}`, { type: 'full', dc: dcAt(((dom - 1) % n) + 1), ttlMs: 7 * DAY });
      } else if (s.kind === 'online-store') {
        // every 2 days = odd days of the month; the j-th one (j = (d+1)/2) goes to DC ((j-1) mod N)+1
        if (dom % 2 === 1) out.set(`${key} ${s.name}`, { type: 'full', dc: dcAt((((dom + 1) / 2 - 1) % n) + 1), ttlMs: 14 * DAY });
      } else {
        out.set(`${key} ${s.name}`, { type: weekday === 2 || weekday === 5 ? 'full' : 'differential', dc: dcAt(((dom - 1) % n) + 1), ttlMs: 14 * DAY });
      }
    }
  }
  return out;
}

function simulated(emitted: Parameters<typeof backupCalendar>[0], from: string, to: string): Map<string, Expected> {
  const rows = backupCalendar(emitted, Date.parse(`${from}T00:00:00Z`) - DAY, Date.parse(`${to}T00:00:00Z`) + DAY).filter((r) => r.date >= from && r.date < to);
  const actual = new Map<string, Expected>();
  for (const r of rows) {
    const key = `${r.date} ${r.service}`;
    expect(actual.has(key), `two backups for ${key}`).toBe(false);
    actual.set(key, { type: r.type, dc: r.dc, ttlMs: parseGoDuration(r.ttl) });
    expect(r.expiresAt - r.at).toBe(parseGoDuration(r.ttl));
  }
  return actual;
}

const scheduleSpec = (s: KubeObject) =>
  s.spec as {
    schedule: string;
    template: {
      storageLocation: string;
      ttl: string;
      includedNamespaces: string[];
      defaultVolumesToFsBackup: boolean;
      metadata: { labels: Record<string, string> };
      hooks: { resources: { includedNamespaces: string[]; pre: { exec: { command: string[]; timeout: string } }[] }[] };
    };
  };

describe('velero schedules implement the backup strategy exactly', () => {
  // 2027-01-20 … 2027-04-01 (71 days: Jan→Feb→Mar month ends, a 28-day February) and
  // 2028-01-25 … 2028-03-31 (leap February 29).
  for (const [from, to] of [
    ['2027-01-20', '2027-04-01'],
    ['2028-01-25', '2028-03-31'],
  ] as const) {
    it(`simulated with robfig semantics from ${from} to ${to}, match the policy day by day`, async () => {
      const out = await synth(plugin, production);
      const actual = simulated(out.emitted, from, to);
      const expected = expectedCalendar(production, from, to);
      expect(expected.size).toBeGreaterThan(250);
      expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort()); // exactly one per due day, none otherwise
      for (const [key, want] of expected) expect(actual.get(key), key).toEqual(want);
    });
  }

  it('runs each backup at 00:00 local time of the source DC, inside the 00:00–00:30 window', async () => {
    const out = await synth(plugin, production);
    const rows = backupCalendar(out.emitted, Date.parse('2027-03-20T00:00:00Z'), Date.parse('2027-04-10T00:00:00Z')); // across the DST changes
    expect(rows.length).toBeGreaterThan(80);
    for (const r of rows) {
      const tz = production.dataCenters.find((d) => d.name === r.sourceDc)!.timeZone;
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(r.at));
      expect(local).toBe('00:00');
      expect(r.time).toBe('00:00');
    }
    for (const s of out.objects('Schedule')) expect(scheduleSpec(s).template.hooks.resources[0]!.pre[0]!.exec.timeout).toBe('30m');
  });

  it('spreads store backups (every 2 days) over every DC every month, for four years incl. February 29', async () => {
    expect(everyNDaysSlots(10, 2).map((s) => s.days)).toEqual([[1, 21], [3, 23], [5, 25], [7, 27], [9, 29], [11, 31], [13], [15], [17], [19]]);
    const out = await synth(plugin, production);
    const rows = backupCalendar(out.emitted, Date.parse('2027-01-01T00:00:00Z'), Date.parse('2031-01-01T00:00:00Z')).filter((r) => r.service === 'online-store');
    const byMonth = new Map<string, Set<string>>();
    for (const r of rows) byMonth.set(r.date.slice(0, 7), (byMonth.get(r.date.slice(0, 7)) ?? new Set()).add(r.dc));
    expect(byMonth.size).toBe(48);
    for (const [month, dcs] of byMonth) expect(dcs.size, month).toBe(10);
    // Never more than 2 days apart. Consecutive days only across a month end (31st or
    // 29 February → 1st): odd days restart at the 1st, which keeps "day 1" in every month.
    const days = rows.map((r) => Date.parse(`${r.date}T00:00:00Z`));
    const oneDayGaps: string[] = [];
    for (let i = 1; i < days.length; i++) {
      expect(days[i]! - days[i - 1]!).toBeLessThanOrEqual(2 * DAY);
      expect(days[i]! - days[i - 1]!).toBeGreaterThan(0);
      if (days[i]! - days[i - 1]! === DAY) oneDayGaps.push(`${rows[i - 1]!.date}→${rows[i]!.date.slice(5)}`);
    }
    expect(oneDayGaps.every((g) => /-(31|29)→\d\d-01$/.test(g))).toBe(true);
    expect(oneDayGaps).toContain('2028-02-29→03-01');
    // Plain day-of-month rotation (day d → DC ((d−1) mod 10)+1) would starve the even DCs:
    const plain = new Set(rows.map((r) => ((Number(r.date.slice(8)) - 1) % 10) + 1));
    expect([...plain].every((p) => p % 2 === 1)).toBe(true);
  });

  it('restricts only day-of-month (robfig ORs restricted day-of-month and day-of-week) and names the storage of the rotation DC', async () => {
    const out = await synth(plugin, production);
    for (const s of out.objects('Schedule')) {
      const spec = scheduleSpec(s);
      expect(spec.schedule).toMatch(/^CRON_TZ=\S+ 0 0 [\d,]+ \* \*$/);
      expect(spec.template.metadata.labels['topoforge.io/backup-dc']).toBe(spec.template.storageLocation);
    }
    expect(scheduleSpec(out.objects('Schedule').find((s) => s.metadata.name === 'social-network-dc01')!).schedule).toBe('CRON_TZ=Europe/Lisbon 0 0 1,11,21,31 * *');
  });

  it('makes full and differential real: the database tool runs in a pre-backup hook; the label matches the hook where the type is fixed', async () => {
    const out = await synth(plugin, production);
    const byService = (name: string) => out.objects('Schedule').filter((s) => scheduleSpec(s).template.metadata.labels['topoforge.io/service'] === name);
    const command = (s: KubeObject) => scheduleSpec(s).template.hooks.resources[0]!.pre[0]!.exec.command;
    expect(byService('social-network')).toHaveLength(10);
    expect(command(byService('social-network')[0]!)).toEqual(['pgbackrest', '--stanza=social', '--type=full', 'backup']);
    for (const s of out.objects('Schedule')) {
      const rule = readHookCommand(command(s));
      const label = s.metadata.labels!['topoforge.io/backup-type'];
      expect(scheduleSpec(s).template.metadata.labels['topoforge.io/backup-type']).toBe(label);
      if (label) expect(rule).toEqual({ kind: 'fixed', type: label });
      else expect(rule).toEqual({ kind: 'weekday', timeZone: 'Europe/Lisbon', isoDays: [2, 5], onDays: 'full', otherwise: 'differential' });
    }
    expect(byService('warehouse')[0]!.metadata.annotations!['topoforge.io/full-weekdays']).toBe('tuesday,friday');
  });

  it('never leaves a kept differential without its full: each Backup carries the database repository with the full', async () => {
    // Each Velero Backup copies the database pod's volumes, the pgBackRest repository included
    // (defaultVolumesToFsBackup), taken right after the hook ran: a differential day's Backup
    // holds the differential AND the full it is based on (pgBackRest never expires a full
    // while a differential depends on it). So it cannot outlive its full, even though the
    // full was taken on another day and stored in another DC.
    const out = await synth(plugin, production);
    for (const s of out.objects('Schedule')) {
      const t = scheduleSpec(s).template;
      expect(t.defaultVolumesToFsBackup).toBe(true);
      expect(t.hooks.resources[0]!.includedNamespaces).toEqual(t.includedNamespaces);
    }
    const rows = backupCalendar(out.emitted, Date.parse('2027-01-01T00:00:00Z'), Date.parse('2027-04-01T00:00:00Z')).filter((r) => r.service === 'warehouse');
    const diffs = rows.filter((r) => r.type === 'differential');
    expect(diffs.length).toBeGreaterThan(40);
    for (const d of diffs) {
      expect(d.basedOnFullAt, d.date).toBeDefined();
      const full = rows.find((r) => r.at === d.basedOnFullAt)!;
      expect(full.type).toBe('full');
      expect(d.at - full.at).toBeLessThanOrEqual(4 * DAY); // Fri → Tue
      expect(d.at - full.at).toBeLessThan(parseGoDuration(d.ttl)); // still inside the repository's retention
    }
  });

  it('emits one BackupStorageLocation per DC storage, with a credential reference and no secret value', async () => {
    const out = await synth(plugin, production);
    const bsls = out.objects('BackupStorageLocation');
    expect(bsls.map((b) => b.metadata.name).sort()).toEqual(production.dataCenters.map((d) => d.name).sort());
    expect(bsls[0]!.spec).toMatchObject({ provider: 'aws', default: true, objectStorage: { bucket: 'commerce-prod-dc01-backups' }, credential: { name: 'velero-dc01-credentials', key: 'cloud' } });
    expect(bsls.filter((b) => (b.spec as { default?: boolean }).default)).toHaveLength(1);
    expect(out.records('Schedule').every((r) => r.dc === sourceDc(production, production.services.find((s) => s.name === r.service)!)!.name)).toBe(true);
    expect(JSON.stringify(out.objects())).not.toMatch(/secretAccessKey|password|aws_secret/i);
  });
});

// The weekday-dependent hook, run for real: /bin/sh, the system's `date` with tzdata, and
// libfaketime for the clock; only the backup tool is a stub that prints its arguments.
const faketime = spawnSync('faketime', ['-f', '@2027-01-01 00:00:00', 'date'], { encoding: 'utf8' }).status === 0;
if (!faketime) console.warn('FAKETIME_MISSING: apt-get install faketime to run the hook under a fake clock');
describe.runIf(faketime)('the weekday hook decides like the calendar (real sh + date under libfaketime)', () => {
  const stubs = mkdtempSync(join(tmpdir(), 'velero-hook-'));
  writeFileSync(join(stubs, 'pgbackrest'), '#!/bin/sh\necho "$@"\n');
  chmodSync(join(stubs, 'pgbackrest'), 0o755);
  // A relative offset (seconds from the real clock): libfaketime reads an absolute "@date"
  // in the faked process's own TZ, which the hook changes.
  const run = (command: string[], atMs: number) =>
    spawnSync('faketime', ['-f', `${atMs + 5_000 - Date.now() >= 0 ? '+' : ''}${Math.round((atMs + 5_000 - Date.now()) / 1000)}`, ...command], {
      encoding: 'utf8',
      env: { PATH: `${stubs}:/usr/bin:/bin`, TZ: 'UTC' },
    });

  it('runs --type=full on Tuesdays and Fridays and --type=diff otherwise, at each simulated activation over 62 days', async () => {
    const out = await synth(plugin, production);
    const schedules = new Map(out.objects('Schedule').map((s) => [s.metadata.name, scheduleSpec(s).template.hooks.resources[0]!.pre[0]!.exec.command]));
    const rows = backupCalendar(out.emitted, Date.parse('2027-02-01T00:00:00Z'), Date.parse('2027-04-04T00:00:00Z')).filter((r) => r.service === 'logistics' && r.date < '2027-04-04');
    expect(rows.length).toBe(62);
    for (const r of rows) {
      const res = run(schedules.get(r.schedule)!, r.at);
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout.trim(), r.date).toBe(`--stanza=logistics --type=${r.type === 'full' ? 'full' : 'diff'} backup`);
    }
    expect(rows.filter((r) => r.type === 'full').length).toBe(18);
  });

  it('reads the weekday in the zone, not UTC (Kolkata midnight is the previous UTC day), and refuses without tzdata', async () => {
    const env = production;
    const svc = env.services.find((s) => s.name === 'warehouse')!;
    const cmd = weekdayCommand(svc, ['tuesday', 'friday'], 'Asia/Kolkata')!;
    // 2027-02-02 00:00 in Kolkata (a Tuesday) = 2027-02-01 18:30 UTC (a Monday)
    expect(run(cmd, Date.parse('2027-02-01T18:30:00Z')).stdout.trim()).toBe('--stanza=warehouse --type=full backup');
    expect(run(cmd, Date.parse('2027-02-02T18:30:00Z')).stdout.trim()).toBe('--stanza=warehouse --type=diff backup');
    const broken = run(weekdayCommand(svc, ['tuesday'], 'Mars/Olympus_Mons')!, Date.parse('2027-02-01T18:30:00Z'));
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('no time-zone data for Mars/Olympus_Mons');
    expect(broken.stdout).toBe('');
    rmSync(stubs, { recursive: true, force: true });
  });
});

describe('restore drills on the test stand', () => {
  it('restore the latest production backup of each service into an isolated namespace and verify it', async () => {
    const out = await synth(plugin, staging, DRILL, [production]);
    const cronJobs = out.records('CronJob');
    expect(cronJobs.map((r) => r.service).sort()).toEqual(production.services.filter((s) => s.policies.backup).map((s) => s.name).sort());
    expect(cronJobs.every((r) => r.dc === 'stg01')).toBe(true);
    const ro = out.objects('BackupStorageLocation').filter((b) => b.metadata.name.startsWith('production-'));
    expect(ro).toHaveLength(10);
    for (const b of ro) {
      const spec = b.spec as { accessMode: string; default?: boolean; credential: { name: string; key: string }; objectStorage: { bucket: string } };
      expect(spec.accessMode).toBe('ReadOnly');
      expect(spec.default).toBeUndefined();
      // staging's own read-only credential, never production's write credential
      expect(spec.credential.name).toBe(`velero-production-${b.metadata.name.slice('production-'.length)}-read-only`);
      expect(spec.objectStorage.bucket).toMatch(/^commerce-prod-dc\d\d-backups$/);
    }
    const script = (out.objects('ConfigMap').find((c) => c.metadata.name === 'restore-drill-online-store')!.data as Record<string, string>)['drill.sh']!;
    expect(script).toContain('-l topoforge.io/service=online-store,topoforge.io/environment=production');
    expect(script).toContain('"namespaceMapping":{"online-store":"drill-online-store"}');
    expect(script).toContain('pgbackrest --stanza=store verify');
    // a leftover namespace is removed BEFORE restoring, then isolated
    expect(script.indexOf('kubectl delete namespace drill-online-store --ignore-not-found')).toBeLessThan(script.indexOf('"kind":"Restore"'));
    expect(script).toContain('"kind":"NetworkPolicy"');
    const syntax = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
  });

  it('is refused outside staging and for an unknown source environment', async () => {
    expect((await synthErrors([plugin], production, { velero: DRILL })).join('\n')).toContain('restore drills run on the test stand only');
    expect((await synthErrors([plugin], staging, { velero: { restoreDrill: { fromEnvironment: 'prod' } } })).join('\n')).toContain('restore drill source environment "prod" does not exist');
  });
});

describe('topoforge plan: the backup calendar read from the emitted Schedules', () => {
  const planOf = async (args: Record<string, string>, options: Record<string, unknown> = {}) => {
    const out = await synth(plugin, production);
    const r = await runPlanHooks(production, [{ definition: plugin, use: { name: 'velero', package: 'test', options } }], out, args);
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    return r.value[0]!.sections[0]!;
  };

  it('shows a month: per day, service, type, DC, expiry and the full a differential needs', async () => {
    const body = await planOf({ month: '2027-02' });
    expect(body.title).toBe('Backup calendar 2027-02-01 – 2027-02-28 (simulated from the emitted Schedules)');
    expect(body.body).toMatch(/^2027-02-02 +warehouse +full +dc02 +00:00 +2027-02-02 00:00Z +2027-02-16 00:00Z +-$/m); // a Tuesday
    expect(body.body).toMatch(/^2027-02-03 +warehouse +differential +dc03 +00:00 +2027-02-03 00:00Z +2027-02-17 00:00Z +2027-02-02 00:00Z \(inside this backup\)$/m);
    expect(body.body).toMatch(/^2027-02-11 +social-network +full +dc01 /m); // the 11th goes to DC 1 again
    expect(body.body).not.toMatch(/^2027-02-02 +online-store/m);
    expect(body.body.split('\n').filter((l) => /^2027-02-\d\d /.test(l))).toHaveLength(28 * 4 + 14);
  });

  it('starts at --from, else the planFrom option, else today; rejects malformed dates', () => {
    expect(calendarRange({ from: '2027-02-27' }, '2026-01-01', new Date())).toEqual({ fromMs: Date.parse('2027-02-27T00:00:00Z'), toMs: Date.parse('2027-03-30T00:00:00Z') });
    expect(calendarRange({}, '2026-01-01', new Date()).fromMs).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(calendarRange({}, '', new Date('2027-05-06T13:00:00Z')).fromMs).toBe(Date.parse('2027-05-06T00:00:00Z'));
    expect(() => calendarRange({ month: '2027-13' }, '', new Date())).toThrow(/--month must be YYYY-MM/);
    expect(() => calendarRange({ from: '2027-02-30' }, '', new Date())).toThrow(/must be a date YYYY-MM-DD/);
  });

  it('uses the option in the plan hook', async () => {
    expect((await planOf({}, { planFrom: '2027-03-05' })).title).toBe('Backup calendar 2027-03-05 – 2027-04-04 (simulated from the emitted Schedules)');
  });
});

describe('bad policies get clear errors', () => {
  const base = (policy: string, service = 'stock: { kind: warehouse, image: r/s, version: "1", database: { engine: postgresql, name: s }, policies: { backup: p } }', tz = 'Europe/Paris') => `kind: Environment
name: t
stage: staging
regions: { r: { timeZone: ${tz}, businessUnits: [warehouses] } }
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b } }
policies:
  backup:
    p: ${policy}
services:
  ${service}
`;
  const daily = '{ full: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 7 }';

  it('rejects retention shorter than the cadence, an unknown time zone, an empty rotation (the model does)', () => {
    expect(() => environmentFromYaml(base('{ full: { everyDays: 2 }, window: { start: "00:00", end: "00:30" }, retentionDays: 1 }'))).toThrow(/retention of 1 days is shorter than the 2-day gap/);
    expect(() => environmentFromYaml(base('{ full: { weekdays: [tuesday, friday] }, differential: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 3 }'))).toThrow(/retention of 3 days is shorter than the 4-day gap/);
    expect(() => environmentFromYaml(base(daily, undefined, 'Europe/Atlantis'))).toThrow(/unknown time zone "Europe\/Atlantis"/);
    expect(() => environmentFromYaml(base(daily).replace(/dataCenters:\n.*\n/, 'dataCenters: {}\n'))).toThrow(/at least one data centre/);
  });

  it('rejects a zone Velero cannot load and a window start that DST skips (the plugin does, with the field path)', async () => {
    const lower = environmentFromYaml(base(daily, undefined, 'europe/paris')); // Intl accepts it, Go's LoadLocation does not
    expect((await synthErrors([plugin], lower)).join('\n')).toMatch(/time zone "europe\/paris" of region r is unknown to Velero's CRON_TZ .*\(field regions\.r\.timeZone\)/);
    // Havana springs forward at midnight: 00:00 does not exist on that Sunday.
    const havana = environmentFromYaml(base(daily, undefined, 'America/Havana'));
    expect((await synthErrors([plugin], havana)).join('\n')).toMatch(/backup window start 00:00 of policy p does not occur exactly once a day in America\/Havana \(2026-03-08: skipped by DST; 2026-11-01: repeated by DST;.*\(field policies\.backup\.p\.window\.start\)/);
    // Berlin at 02:30: skipped in March, repeated in October.
    const berlin = environmentFromYaml(base('{ full: { everyDays: 1 }, window: { start: "02:30", end: "02:45" }, retentionDays: 7 }', undefined, 'Europe/Berlin'));
    const msg = (await synthErrors([plugin], berlin)).join('\n');
    expect(msg).toContain('2026-03-29: skipped by DST');
    expect(msg).toContain('2026-10-25: repeated by DST');
  });

  it('rejects a backup policy on a service without a database, a differential on an engine without one, weekday fulls without a differential', async () => {
    const noDb = environmentFromYaml(base(daily, 'stock: { kind: warehouse, image: r/s, version: "1", policies: { backup: p } }'));
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
  it('Schedules, BackupStorageLocations, the Backups the Schedules create, and the drill Restore as the script creates it', async () => {
    const catalog = CrdCatalog.fromDir(join(shared!, 'crds', 'velero'));
    const prod = await synth(plugin, production);
    const stg = await synth(plugin, staging, DRILL, [production]);
    const objects: KubeObject[] = [...prod.objects(), ...stg.objects()].filter((o) => o.apiVersion.startsWith('velero.io/'));
    // What Velero creates from each Schedule: a Backup whose spec is the template.
    for (const s of prod.objects('Schedule')) {
      objects.push({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: `${s.metadata.name}-20270202000000`, namespace: 'velero', labels: scheduleSpec(s).template.metadata.labels }, spec: scheduleSpec(s).template });
    }
    // The drill's Restore, taken out of the script and filled in as the script does.
    for (const c of stg.objects('ConfigMap')) {
      const script = (c.data as Record<string, string>)['drill.sh']!;
      const json = /echo '(\{"apiVersion":"velero.io\/v1","kind":"Restore".*?\})' \|/.exec(script)![1]!;
      objects.push(JSON.parse(json.replace('__BACKUP__', 'warehouse-dc02-20270202000000').replace('__STAMP__', '202702020600')) as KubeObject);
    }
    expect(new Set(objects.map((o) => o.kind))).toEqual(new Set(['Schedule', 'BackupStorageLocation', 'Backup', 'Restore']));
    expect(objects.length).toBeGreaterThan(100);
    const problems = objects.flatMap((o) => catalog.validate(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path} ${p.message}`));
    expect(problems).toEqual([]);
  });
});
