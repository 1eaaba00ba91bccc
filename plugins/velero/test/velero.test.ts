import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { environmentFromYaml, synth, synthErrors } from '@topoforge/plugin-sdk/testing';
import { runPlanHooks, type KubeObject, type PluginDefinition } from '@topoforge/plugin-sdk';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { parseGoDuration } from '@topoforge/robfig-cron';
import velero, { backupCalendar, calendarRange, drillStart, everyNDaysSlots, readHookCommand, runners, hookCommand } from '../src/index.js';
import type { Emitted } from '@topoforge/plugin-sdk';

const plugin = velero as PluginDefinition<never>;
const envDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const loaded = loadEnvironments(envDir);
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
const DAY = 86_400_000;
const HOUR = 3_600_000;
const DRILL = { restoreDrill: { fromEnvironment: 'production' } };

interface Expected {
  type: 'full' | 'differential';
  dc: string;
  ttlMs: number;
}

/**
 * The calendar the POLICY asks for, derived independently of the plugin (no rotation code,
 * no cron): per local date and database INSTANCE, the expected type, storage DC and ttl;
 * absent = no backup that day. Instances: one per DC for the regional services (warehouse,
 * logistics), one replicated database for the others. Dates are plain calendar dates:
 * every backup runs at local midnight of the DC that takes it.
 */
function expectedCalendar(env: Environment, from: string, to: string, dcs = env.dataCenters.map((d) => d.name)): Map<string, Expected> {
  const out = new Map<string, Expected>();
  const n = dcs.length;
  const dcAt = (position: number) => dcs[position - 1]!;
  for (let t = Date.parse(`${from}T00:00:00Z`); t < Date.parse(`${to}T00:00:00Z`); t += DAY) {
    const date = new Date(t);
    const dom = date.getUTCDate();
    const weekday = date.getUTCDay();
    const key = date.toISOString().slice(0, 10);
    for (const s of env.services) {
      if (!s.policies.backup) continue;
      const instances = s.kind === 'warehouse' || s.kind === 'logistics' ? s.dataCenters.filter((d) => dcs.includes(d)).map((d) => `${s.name}-${d}`) : [s.name];
      for (const i of instances) {
        if (s.kind === 'social-network' || s.kind === 'telemetry') {
          out.set(`${key} ${i}`, { type: 'full', dc: dcAt(((dom - 1) % n) + 1), ttlMs: 7 * DAY });
        } else if (s.kind === 'online-store') {
          // every 2 days = odd days of the month; the j-th one (j = (d+1)/2) goes to DC ((j-1) mod N)+1
          if (dom % 2 === 1) out.set(`${key} ${i}`, { type: 'full', dc: dcAt((((dom + 1) / 2 - 1) % n) + 1), ttlMs: 14 * DAY });
        } else {
          // Tuesday and Friday fulls are kept 14 + 3 days: as long as Monday's differential on Friday's full,
          // + 2 h: after the clocks go back, Monday's local midnight is an hour (Troll: two) later.
          const full = weekday === 2 || weekday === 5;
          out.set(`${key} ${i}`, { type: full ? 'full' : 'differential', dc: dcAt(((dom - 1) % n) + 1), ttlMs: full ? 17 * DAY + 2 * HOUR : 14 * DAY });
        }
      }
    }
  }
  return out;
}

function simulated(
  emitted: readonly Emitted[],
  from: string,
  to: string,
  unpaused?: (instance: string, dc: string) => boolean,
): Map<string, Expected & { sourceDc: string }> {
  const rows = backupCalendar(emitted, Date.parse(`${from}T00:00:00Z`) - DAY, Date.parse(`${to}T00:00:00Z`) + DAY, unpaused ? { unpaused } : {}).filter(
    (r) => r.date >= from && r.date < to,
  );
  const actual = new Map<string, Expected & { sourceDc: string }>();
  for (const r of rows) {
    const key = `${r.date} ${r.instance}`;
    expect(actual.has(key), `two backups for ${key}`).toBe(false);
    actual.set(key, { type: r.type, dc: r.dc, ttlMs: parseGoDuration(r.ttl), sourceDc: r.sourceDc });
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

const instancesOf = (env: Environment) => runners(env).filter((r) => !r.standby);

describe('velero schedules back up every database instance by its policy', () => {
  it('has one instance per DC for the regional services and one replicated database for the others, backed up where they run', async () => {
    const inst = instancesOf(production).map((r) => `${r.instance.name}@${r.dc.name}`);
    expect(inst).toEqual([
      'social-network@dc01',
      'telemetry@dc01',
      'online-store@dc01',
      'logistics-dc01@dc01',
      'logistics-dc02@dc02',
      'logistics-dc06@dc06',
      'logistics-dc07@dc07',
      'logistics-dc09@dc09',
      'warehouse-dc01@dc01',
      'warehouse-dc02@dc02',
      'warehouse-dc03@dc03',
      'warehouse-dc04@dc04',
      'warehouse-dc09@dc09',
    ]);
    // The replicated databases' paused standbys are in another region (dc03, Europe/Berlin).
    expect(
      runners(production)
        .filter((r) => r.standby)
        .map((r) => `${r.instance.name}@${r.dc.name}`),
    ).toEqual(['social-network@dc03', 'telemetry@dc03', 'online-store@dc03']);
    const out = await synth(plugin, production);
    const clusters = new Set(out.records('Schedule').map((r) => r.dc));
    expect([...clusters].sort()).toEqual(['dc01', 'dc02', 'dc03', 'dc04', 'dc06', 'dc07', 'dc09']);
    for (const r of out.records('Schedule')) {
      const spec = scheduleSpec(r.object as KubeObject);
      const zone = production.dataCenters.find((d) => d.name === r.dc)!.timeZone;
      expect(spec.schedule.startsWith(`CRON_TZ=${zone} `), `${r.object.metadata.name} in ${r.dc}`).toBe(true);
    }
  });

  // 2027-01-20 … 2027-04-01 (71 days: Jan→Feb→Mar month ends, a 28-day February) and
  // 2028-01-25 … 2028-03-31 (leap February 29).
  for (const [from, to] of [
    ['2027-01-20', '2027-04-01'],
    ['2028-01-25', '2028-03-31'],
  ] as const) {
    it(`simulated with robfig semantics from ${from} to ${to}, match the policy per instance and day (type, DC, ttl)`, async () => {
      const out = await synth(plugin, production);
      const actual = simulated(out.emitted, from, to);
      const expected = expectedCalendar(production, from, to);
      expect(expected.size).toBeGreaterThan(700);
      expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort()); // exactly one per due day, none otherwise
      for (const [key, want] of expected) expect({ ...actual.get(key), sourceDc: undefined }, key).toEqual({ ...want, sourceDc: undefined });
      // each instance from the cluster where it runs
      for (const [key, got] of actual) {
        const instance = key.split(' ')[1]!;
        expect(got.sourceDc, key).toBe(/-dc\d\d$/.test(instance) ? instance.slice(-4) : 'dc01');
      }
    });
  }

  for (const lost of production.dataCenters.map((d) => d.name)) {
    it(`with ${lost} removed from the model and re-rendered, every surviving instance is backed up on each of its days (rotation over the remaining DCs)`, async () => {
      // Right after the loss, the paused fallbacks and standbys take over: test/dc-loss.test.ts.
      const from = '2027-01-25';
      const to = '2027-03-31';
      // After the DC is removed from the model and rendered: every surviving instance is
      // backed up on each of its days, rotating over the remaining DCs.
      const yaml = readFileSync(join(envDir, 'production.yaml'), 'utf8');
      const lines = yaml.split('\n');
      const start = lines.findIndex((l) => l === `  ${lost}:`);
      const pos = Number(lost.slice(2));
      const edited = [...lines.slice(0, start), ...lines.slice(start + 5)]
        .join('\n')
        .replace(/rotation: (\d+)/g, (m, p: string) => (Number(p) > pos ? `rotation: ${Number(p) - 1}` : m));
      const env = environmentFromYaml(edited.replace('extends: base.yaml', 'extends: base.yaml'), {
        'base.yaml': readFileSync(join(envDir, 'base.yaml'), 'utf8'),
      });
      const rendered = await synth(plugin, env);
      const dcs = env.dataCenters.map((d) => d.name);
      expect(dcs).not.toContain(lost);
      const actual = simulated(rendered.emitted, from, to);
      const expected = expectedCalendar(env, from, to, dcs);
      expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, want] of expected) expect({ ...actual.get(key), sourceDc: undefined }, key).toEqual({ ...want, sourceDc: undefined });
    });
  }

  it('runs each backup at 00:00 local time of the DC that takes it, the hook timing out at the window end', async () => {
    const out = await synth(plugin, production);
    const rows = backupCalendar(out.emitted, Date.parse('2027-03-20T00:00:00Z'), Date.parse('2027-04-10T00:00:00Z')); // across the DST changes
    expect(rows.length).toBeGreaterThan(250);
    for (const r of rows) {
      const tz = production.dataCenters.find((d) => d.name === r.sourceDc)!.timeZone;
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(r.at));
      expect(local).toBe('00:00');
    }
    for (const s of out.objects('Schedule')) expect(scheduleSpec(s).template.hooks.resources[0]!.pre[0]!.exec.timeout).toBe('30m');
  });

  it('spreads store backups (every 2 days) over every DC every month, for four years incl. February 29', async () => {
    expect(everyNDaysSlots(10, 2).map((s) => s.days)).toEqual([[1, 21], [3, 23], [5, 25], [7, 27], [9, 29], [11, 31], [13], [15], [17], [19]]);
    const out = await synth(plugin, production);
    const rows = backupCalendar(out.emitted, Date.parse('2027-01-01T00:00:00Z'), Date.parse('2031-01-01T00:00:00Z')).filter(
      (r) => r.instance === 'online-store',
    );
    const byMonth = new Map<string, Set<string>>();
    for (const r of rows) byMonth.set(r.date.slice(0, 7), (byMonth.get(r.date.slice(0, 7)) ?? new Set()).add(r.dc));
    expect(byMonth.size).toBe(48);
    for (const [month, dcs] of byMonth) expect(dcs.size, month).toBe(10);
    const days = rows.map((r) => Date.parse(`${r.date}T00:00:00Z`));
    const oneDayGaps: string[] = [];
    for (let i = 1; i < days.length; i++) {
      expect(days[i]! - days[i - 1]!).toBeLessThanOrEqual(2 * DAY);
      expect(days[i]! - days[i - 1]!).toBeGreaterThan(0);
      if (days[i]! - days[i - 1]! === DAY) oneDayGaps.push(`${rows[i - 1]!.date}→${rows[i]!.date.slice(5)}`);
    }
    expect(oneDayGaps.every((g) => /-(31|29)→\d\d-01$/.test(g))).toBe(true);
    expect(oneDayGaps).toContain('2028-02-29→03-01');
  });

  it('restricts only day-of-month (robfig ORs restricted day-of-month and day-of-week) and names the storage of the rotation DC', async () => {
    const out = await synth(plugin, production);
    for (const s of out.objects('Schedule')) {
      const spec = scheduleSpec(s);
      // the out-of-cycle full templates are never unpaused (Jan 1 if they were)
      expect(spec.schedule).toMatch(s.metadata.name.endsWith('-full-now') ? /^CRON_TZ=\S+ 0 0 1 1 \*$/ : /^CRON_TZ=\S+ 0 0 [\d,]+ \* \*$/);
      expect(spec.template.metadata.labels['topoforge.io/backup-dc']).toBe(spec.template.storageLocation);
      // the type label of the Schedule and its Backups is what the hook command takes
      const rule = readHookCommand(spec.template.hooks.resources[0]!.pre[0]!.exec.command)!;
      const type = s.metadata.labels!['topoforge.io/backup-type'];
      expect(spec.template.metadata.labels['topoforge.io/backup-type']).toBe(type);
      if (rule.kind === 'fixed') expect(rule.type).toBe(type);
      else expect([rule.onDays, rule.otherwise].filter((t) => t !== 'none')).toEqual([type]);
    }
    expect(scheduleSpec(out.objects('Schedule').find((s) => s.metadata.name === 'social-network-dc01')!).schedule).toBe(
      'CRON_TZ=Europe/Lisbon 0 0 1,11,21,31 * *',
    );
    expect(scheduleSpec(out.objects('Schedule').find((s) => s.metadata.name === 'logistics-dc09-dc03-full')!).schedule).toBe(
      'CRON_TZ=Asia/Kolkata 0 0 3,13,23 * *',
    );
  });

  it('takes the full weekdays as a set: the order a policy lists them in changes no Schedule', async () => {
    const withWeekdays = (days: string) =>
      environmentFromYaml(
        readFileSync(join(envDir, 'production.yaml'), 'utf8') + `\npolicies:\n  backup:\n    diff-daily-full-tue-fri:\n      full: { weekdays: ${days} }\n`,
        { 'base.yaml': readFileSync(join(envDir, 'base.yaml'), 'utf8') },
      );
    const reversed = await synth(plugin, withWeekdays('[friday, tuesday]'));
    const plain = await synth(plugin, withWeekdays('[tuesday, friday]'));
    expect(reversed.objects('Schedule').length).toBeGreaterThan(0);
    expect(reversed.objects()).toEqual(plain.objects());
    const full = plain.objects('Schedule').find((s) => s.metadata.name === 'warehouse-dc01-dc01-full')!;
    expect(full.metadata.annotations).toMatchObject({ 'topoforge.io/full-weekdays': 'tuesday,friday' });
    expect(full.metadata.annotations!['topoforge.io/backup-rule']).toMatch(/^full on tuesday and friday /);
  });

  it('never keeps a differential longer than its full: fulls of a weekday pair are kept 3 days longer', async () => {
    const out = await synth(plugin, production);
    const rows = backupCalendar(out.emitted, Date.parse('2027-01-01T00:00:00Z'), Date.parse('2027-04-01T00:00:00Z')).filter(
      (r) => r.instance.startsWith('warehouse-') || r.instance.startsWith('logistics-'),
    );
    const diffs = rows.filter((r) => r.type === 'differential');
    expect(diffs.length).toBeGreaterThan(400);
    for (const d of diffs) {
      expect(d.basedOnFullAt, d.date).toBeDefined();
      expect(d.at - d.basedOnFullAt!).toBeLessThanOrEqual(3 * DAY + 3_600_000); // Fri → Mon
      expect(d.expiresAt, `${d.instance} ${d.date}`).toBeLessThanOrEqual(d.basedOnFullExpiresAt!);
      const full = rows.find((r) => r.at === d.basedOnFullAt && r.instance === d.instance);
      if (full) expect(full.type).toBe('full');
    }
  });

  it('never keeps a differential longer than its full across a DST fall-back either (ttl is absolute time, the next Schedule runs at local midnight)', async () => {
    // Europe falls back on Sunday 31 October 2027, the US on Sunday 7 November: Monday's
    // differential starts 73 h after Friday's full, not 72 h, so a full kept 17 × 24 h expired
    // an hour before the differential that needs it (in both environments, every zone that has DST).
    for (const env of [production, staging]) {
      const out = env === staging ? await synth(plugin, staging, DRILL, [production]) : await synth(plugin, production);
      const rows = backupCalendar(out.emitted, Date.parse('2027-10-20T00:00:00Z'), Date.parse('2027-11-20T00:00:00Z'));
      const diffs = rows.filter((r) => r.type === 'differential');
      expect(diffs.length).toBeGreaterThan(env === production ? 150 : 60);
      const outliving = diffs.filter((d) => d.expiresAt > d.basedOnFullExpiresAt!).map((d) => `${d.instance} ${d.date} (${d.schedule})`);
      expect(outliving, env.name).toEqual([]);
    }
  });

  it('emits one location per DC storage in each backing-up cluster, under its own prefix, with a scoped credential reference', async () => {
    const out = await synth(plugin, production);
    const bsls = out.records('BackupStorageLocation');
    expect(bsls.filter((b) => b.dc === 'dc09').map((b) => b.object.metadata.name)).toEqual(production.dataCenters.map((d) => d.name));
    const own = bsls.find((b) => b.dc === 'dc09' && b.object.metadata.name === 'dc09')!.object.spec;
    expect(own).toMatchObject({
      default: true,
      accessMode: 'ReadWrite',
      objectStorage: { bucket: 'commerce-prod-dc09-backups', prefix: 'from-dc09' },
      credential: { name: 'velero-dc09-credentials', key: 'cloud' },
    });
    const other = bsls.find((b) => b.dc === 'dc09' && b.object.metadata.name === 'dc03')!.object.spec;
    expect(other).toMatchObject({
      objectStorage: { bucket: 'commerce-prod-dc03-backups', prefix: 'from-dc09' },
      credential: { name: 'velero-dc03-writer-dc09', key: 'cloud' },
    });
    // no cluster holds another cluster's own key, and no two clusters share a prefix of a bucket
    const seen = new Set<string>();
    for (const b of bsls) {
      const spec = b.object.spec as { objectStorage: { bucket: string; prefix: string }; credential: { name: string } };
      expect(spec.objectStorage.prefix).toBe(`from-${b.dc}`);
      if (b.object.metadata.name !== b.dc) expect(spec.credential.name).toBe(`velero-${b.object.metadata.name}-writer-${b.dc}`);
      const key = `${spec.objectStorage.bucket}/${spec.objectStorage.prefix}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
    expect(JSON.stringify(out.objects())).not.toMatch(/secretAccessKey|aws_secret/i);
  });

  it('ships only the outbox volume and no snapshots; standbys are paused and say how to take over', async () => {
    const out = await synth(plugin, production);
    for (const s of out.objects('Schedule')) {
      const t = s.spec as { template: { defaultVolumesToFsBackup: boolean; snapshotVolumes: boolean } };
      expect(t.template.defaultVolumesToFsBackup).toBe(false);
      expect(t.template.snapshotVolumes).toBe(false);
    }
    const standby = out
      .records('Schedule')
      .filter((r) => r.dc === 'dc03' && r.object.metadata.labels!['topoforge.io/standby'] === 'true' && !r.object.metadata.labels!['topoforge.io/on-demand']);
    expect(standby).toHaveLength(30);
    for (const r of standby) {
      expect((r.object.spec as { paused: boolean }).paused).toBe(true);
      expect(r.object.metadata.labels!['topoforge.io/standby-for']).toBe('dc01');
      // they run only once dc01 is lost: dc01's own days are stored in the next DC instead
      expect(scheduleSpec(r.object as KubeObject).template.storageLocation).not.toBe('dc01');
      expect(r.object.metadata.annotations!['topoforge.io/on-dc-loss']).toContain(
        "velero schedule unpause -l 'topoforge.io/standby-for=dc01,!topoforge.io/on-demand' --skip-immediately=true",
      );
    }
    expect(
      standby
        .filter((r) => r.object.metadata.labels!['topoforge.io/fallback-for'] === 'dc01')
        .map((r) => r.object.metadata.name)
        .sort(),
    ).toEqual(['online-store-dc02-for-dc01', 'social-network-dc02-for-dc01', 'telemetry-dc02-for-dc01']);
    // every running slot has a paused fallback in the next DC in rotation (dc10's in dc01)
    const fallbacks = out
      .records('Schedule')
      .filter((r) => r.object.metadata.labels!['topoforge.io/fallback-for'] && r.object.metadata.labels!['topoforge.io/standby'] === undefined);
    const running = out.records('Schedule').filter((r) => !(r.object.spec as { paused?: boolean }).paused);
    expect(fallbacks).toHaveLength(running.length);
    for (const r of fallbacks) {
      const of = Number(r.object.metadata.labels!['topoforge.io/fallback-for']!.slice(2));
      expect((r.object.spec as { paused: boolean }).paused).toBe(true);
      expect(scheduleSpec(r.object as KubeObject).template.storageLocation).toBe(`dc${String((of % 10) + 1).padStart(2, '0')}`);
    }
    // one out-of-cycle full template per instance and per standby, paused, a full, storing in its own DC
    const templates = out.records('Schedule').filter((r) => r.object.metadata.labels!['topoforge.io/on-demand'] === 'full');
    const where = templates.map((r) => `${r.object.metadata.name}@${r.dc}>${scheduleSpec(r.object as KubeObject).template.storageLocation}`);
    expect(where).toContain('warehouse-dc09-full-now@dc09>dc09');
    expect(where).toContain('social-network-full-now@dc01>dc01');
    expect(where.filter((w) => w.startsWith('social-network-full-now@'))).toHaveLength(2); // the primary's and the standby's
    expect(templates).toHaveLength(13 + 3);
    for (const r of templates) {
      expect(r.object.metadata.name).toMatch(/-full-now$/);
      expect((r.object.spec as { paused?: boolean }).paused).toBe(true);
      expect(r.object.metadata.labels!['topoforge.io/backup-type']).toBe('full');
      expect(scheduleSpec(r.object as KubeObject).template.storageLocation).toBe(r.dc);
    }
  });
});

describe('hooks: primary only, valid commands, values never shell code', () => {
  // No line break: the model refuses control characters at load (its own test); everything else a shell would act on is here.
  const hostile = `x'; touch /tmp/velero-pwned; echo '$(touch /tmp/velero-pwned2)\`touch /tmp/velero-pwned3\``;

  it('selects the primary pod of CloudNativePG, Zalando or Crunchy by option, or a custom selector', async () => {
    for (const [operator, selector, container] of [
      ['cloudnative-pg', { 'cnpg.io/instanceRole': 'primary' }, 'postgres'],
      ['zalando', { 'spilo-role': 'master' }, 'postgres'],
      ['crunchy', { 'postgres-operator.crunchydata.com/role': 'master' }, 'database'],
      ['custom', { 'topoforge.io/role': 'database', 'topoforge.io/database-role': 'primary' }, 'database'],
    ] as const) {
      const out = await synth(plugin, production, { databaseOperator: operator });
      const hook = (
        out.objects('Schedule')[0]!.spec as { template: { hooks: { resources: { labelSelector: unknown; pre: { exec: { container: string } }[] }[] } } }
      ).template.hooks.resources[0]!;
      expect(hook.labelSelector).toEqual({ matchLabels: selector });
      expect(hook.pre[0]!.exec.container).toBe(container);
    }
  });

  it('runs mongodump without --db next to --oplog (mongodump refuses the pair)', () => {
    const svc = {
      ...production.services.find((s) => s.name === 'social-network')!,
      database: { ...production.services.find((s) => s.name === 'social-network')!.database!, engine: 'mongodb' as const },
    };
    const cmd = hookCommand(svc, 'full', 'Europe/Lisbon', [], { repository: '/r', outbox: '/o' })!;
    expect(cmd[2]).toContain('mongodump --oplog --gzip --archive="$outbox/full.archive.gz"');
    expect(cmd.join(' ')).not.toContain('--db');
    expect(hookCommand(svc, 'weekday-diff', 'Europe/Lisbon', ['tuesday'], { repository: '/r', outbox: '/o' })).toBeUndefined();
  });

  it('passes model values as arguments of a constant script: hostile database names, selectors and containers change no script', async () => {
    const withName = (name: string) =>
      environmentFromYaml(
        readFileSync(join(envDir, 'production.yaml'), 'utf8') + `\nservices:\n  warehouse:\n    database: { name: ${JSON.stringify(name)} }\n`,
        {
          'base.yaml': readFileSync(join(envDir, 'base.yaml'), 'utf8'),
        },
      );
    // The model refuses such a name (a database name is a letter or "_", then letters, digits, "_"
    // and "-"); the hook must not depend on that, so the name is put in past the schema.
    expect(() => withName(hostile)).toThrow(/TOPOLOGY_INVALID_VALUE: services\.warehouse\.database\.name must match pattern/);
    const loaded = withName('warehouse');
    const env = { ...loaded, services: loaded.services.map((s) => (s.name === 'warehouse' ? { ...s, database: { ...s.database!, name: hostile } } : s)) };
    const out = await synth(plugin, env, { databaseSelector: { app: "a'$(id)\nb" }, databaseContainer: "c'; reboot #" });
    const plain = await synth(plugin, production);
    const scripts = new Set(out.objects('Schedule').map((s) => scheduleSpec(s).template.hooks.resources[0]!.pre[0]!.exec.command[2]));
    const plainScripts = new Set(plain.objects('Schedule').map((s) => scheduleSpec(s).template.hooks.resources[0]!.pre[0]!.exec.command[2]));
    expect(scripts).toEqual(plainScripts);
    const wh = out.objects('Schedule').find((s) => s.metadata.name === 'warehouse-dc01-dc01-full')!;
    expect(scheduleSpec(wh).template.hooks.resources[0]!.pre[0]!.exec.command.at(-1)).toBe(hostile);
    // Run the exact hook with a stub pgbackrest that records its argv: the hostile name is one argument.
    const dir = mkdtempSync(join(tmpdir(), 'velero-hostile-'));
    try {
      mkdirSync(join(dir, 'outbox'));
      writeFileSync(
        join(dir, 'pgbackrest'),
        `#!/bin/sh\nfor a in "$@"; do printf '[%s]\\n' "$a"; done > ${dir}/argv\nmkdir -p ${dir}/repo/backup/st/20270202-000000F ${dir}/repo/archive/st\n: > ${dir}/repo/backup/st/backup.info; : > ${dir}/repo/backup/st/backup.info.copy; : > ${dir}/repo/archive/st/archive.info; : > ${dir}/repo/archive/st/archive.info.copy\n`,
      );
      chmodSync(join(dir, 'pgbackrest'), 0o755);
      const emitted = scheduleSpec(wh).template.hooks.resources[0]!.pre[0]!.exec.command;
      // the exact script, as a fixed full (the weekday half may not be due today)
      const cmd = [...emitted.slice(0, 4), 'full', ...emitted.slice(5, -3), join(dir, 'repo'), join(dir, 'outbox'), hostile];
      const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, TZ: 'UTC' } });
      expect(readFileSync(join(dir, 'argv'), 'utf8')).toContain(`[--stanza=${hostile}]`);
      expect(r.status).not.toBe(0); // the stub made no set for that stanza: the hook fails, as data
      expect(existsSync('/tmp/velero-pwned') || existsSync('/tmp/velero-pwned2') || existsSync('/tmp/velero-pwned3')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The weekday-dependent hooks, run for real: /bin/sh, the system's `date` with tzdata, and
// libfaketime for the clock; only the backup tool is a stub that records its arguments.
const faketime = spawnSync('faketime', ['-f', '@2027-01-01 00:00:00', 'date'], { encoding: 'utf8' }).status === 0;
if (!faketime) console.warn('FAKETIME_MISSING: apt-get install faketime to run the hook under a fake clock');
describe.runIf(faketime)('the weekday hooks decide like the calendar (real sh + date under libfaketime)', () => {
  const stubs = mkdtempSync(join(tmpdir(), 'velero-hook-'));
  afterAll(() => rmSync(stubs, { recursive: true, force: true }));
  writeFileSync(
    join(stubs, 'pgbackrest'),
    `#!/bin/sh\necho "$@" >> "$STUB_LOG"\nmkdir -p "$STUB_REPO/backup/$STUB_STANZA/20270101-000000F" "$STUB_REPO/archive/$STUB_STANZA"\nfor f in backup/$STUB_STANZA/backup.info backup/$STUB_STANZA/backup.info.copy archive/$STUB_STANZA/archive.info archive/$STUB_STANZA/archive.info.copy; do : > "$STUB_REPO/$f"; done\n`,
  );
  chmodSync(join(stubs, 'pgbackrest'), 0o755);
  mkdirSync(join(stubs, 'outbox'));
  // A relative offset (seconds from the real clock): libfaketime reads an absolute "@date"
  // in the faked process's own TZ, which the hook changes.
  const run = (command: string[], atMs: number, stanza: string) => {
    writeFileSync(join(stubs, 'log'), '');
    const argv = [...command.slice(0, -3), join(stubs, 'repo'), join(stubs, 'outbox'), command.at(-1)!];
    const res = spawnSync('faketime', ['-f', `${atMs + 5_000 - Date.now() >= 0 ? '+' : ''}${Math.round((atMs + 5_000 - Date.now()) / 1000)}`, ...argv], {
      encoding: 'utf8',
      env: { PATH: `${stubs}:/usr/bin:/bin`, TZ: 'UTC', STUB_LOG: join(stubs, 'log'), STUB_REPO: join(stubs, 'repo'), STUB_STANZA: stanza },
    });
    return { ...res, tool: readFileSync(join(stubs, 'log'), 'utf8').trim() };
  };

  it('the pair of each slot: the -full Schedule runs --type=full on Tuesdays and Fridays, the -diff one --type=diff otherwise, each silent on the other days (62 days)', async () => {
    const out = await synth(plugin, production);
    const byName = new Map(out.objects('Schedule').map((s) => [s.metadata.name, scheduleSpec(s).template.hooks.resources[0]!.pre[0]!.exec.command]));
    const all = backupCalendar(out.emitted, Date.parse('2027-01-31T00:00:00Z'), Date.parse('2027-04-04T00:00:00Z'));
    const rows = all.filter((r) => r.instance === 'logistics-dc09' && r.date < '2027-04-04' && r.date >= '2027-02-01');
    expect(rows.length).toBe(62);
    for (const r of rows) {
      const res = run(byName.get(r.schedule)!, r.at, 'logistics');
      expect(res.status, res.stderr).toBe(0);
      expect(res.tool, `${r.date} ${r.schedule}`).toMatch(new RegExp(`--stanza=logistics .*--type=${r.type === 'full' ? 'full' : 'diff'} backup$`));
      // the other Schedule of the pair fires too and ships nothing
      const other = r.schedule.endsWith('-full') ? r.schedule.replace(/-full$/, '-diff') : r.schedule.replace(/-diff$/, '-full');
      const quiet = run(byName.get(other)!, r.at, 'logistics');
      expect(quiet.status, quiet.stderr).toBe(0);
      expect(quiet.tool).toBe('');
      expect(readFileSync(join(stubs, 'outbox', 'TOPOFORGE_SKIPPED'), 'utf8')).toContain('nothing shipped');
    }
    expect(rows.filter((r) => r.type === 'full').length).toBe(18);
  }, 300_000);

  it('reads the weekday in the zone, not UTC (Kolkata midnight is the previous UTC day), and refuses without tzdata', () => {
    const svc = production.services.find((s) => s.name === 'warehouse')!;
    const cmd = hookCommand(svc, 'weekday-full', 'Asia/Kolkata', ['tuesday', 'friday'], { repository: '/r', outbox: '/o' })!;
    // 2027-02-02 00:00 in Kolkata (a Tuesday) = 2027-02-01 18:30 UTC (a Monday)
    expect(run(cmd, Date.parse('2027-02-01T18:30:00Z'), 'warehouse').tool).toMatch(/--type=full backup$/);
    expect(run(cmd, Date.parse('2027-02-02T18:30:00Z'), 'warehouse').tool).toBe('');
    const broken = run(
      hookCommand(svc, 'weekday-full', 'Mars/Olympus_Mons', ['tuesday'], { repository: '/r', outbox: '/o' })!,
      Date.parse('2027-02-01T18:30:00Z'),
      'warehouse',
    );
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('no time-zone data for Mars/Olympus_Mons');
    expect(broken.tool).toBe('');
  });
});

describe('restore drills on the test stand', () => {
  it('one CronJob per production instance at a time in the window its name picks, read-only locations per source prefix, a maintained image by option', async () => {
    const out = await synth(plugin, staging, DRILL, [production]);
    const cronJobs = out.records('CronJob');
    expect(cronJobs).toHaveLength(13);
    expect(cronJobs.every((r) => r.dc === 'stg01')).toBe(true);
    // Monday 06:00 + [0, 480) minutes, each from its instance name alone; the drill Lease runs them one at a time
    for (const r of cronJobs) {
      const instance = r.object.metadata.name.replace(/^restore-drill-/, '');
      const spec = r.object.spec as { schedule: string; jobTemplate: { spec: { activeDeadlineSeconds: number } } };
      const [minute, hour, , , weekday] = spec.schedule.split(' ').map(Number) as [number, number, number, number, number];
      const when = drillStart(instance, '06:00', 480);
      expect(spec.schedule).toBe(`${when.minute} ${when.hour} * * 1`);
      expect(weekday).toBe(1);
      expect(hour * 60 + minute).toBeGreaterThanOrEqual(6 * 60);
      expect(hour * 60 + minute).toBeLessThan(14 * 60);
      // waiting for the lease (180 min) + two restores (2 × 60) + 30
      expect(spec.jobTemplate.spec.activeDeadlineSeconds).toBe((180 + 120 + 30) * 60);
    }
    expect(new Set(cronJobs.map((r) => (r.object.spec as { schedule: string }).schedule)).size).toBeGreaterThan(6); // spread over the window
    // the drills' lease rights: a Role in Velero's namespace, get/patch/delete only on the drill lease
    const role = out.objects('Role').find((o) => o.metadata.name === 'restore-drill-lease')!;
    expect(role.metadata.namespace).toBe('velero');
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['restore-drill'], verbs: ['get', 'patch', 'delete'] },
    ]);
    const clusterRole = out.objects('ClusterRole').find((o) => o.metadata.name === 'restore-drill')!;
    expect(JSON.stringify(clusterRole.rules)).not.toContain('leases');
    const env = (cronJobs[0]!.object.spec as { jobTemplate: { spec: { template: { spec: { containers: { env: { name: string }[] }[] } } } } }).jobTemplate.spec
      .template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === 'DRILL_HOLDER')).toEqual({ name: 'DRILL_HOLDER', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    const image = (r: (typeof cronJobs)[number]) =>
      (r.object.spec as { jobTemplate: { spec: { template: { spec: { containers: { image: string }[] } } } } }).jobTemplate.spec.template.spec.containers[0]!
        .image;
    expect(image(cronJobs[0]!)).not.toContain('bitnami');
    const custom = await synth(plugin, staging, { restoreDrill: { fromEnvironment: 'production', image: 'registry.example.com/tools/kubectl:1.33' } }, [
      production,
    ]);
    expect(image(custom.records('CronJob')[0]!)).toBe('registry.example.com/tools/kubectl:1.33');
    const ro = out.objects('BackupStorageLocation').filter((b) => b.metadata.name.startsWith('production-'));
    expect(ro).toHaveLength(70); // 10 storage DCs × 7 backing-up clusters
    for (const b of ro) {
      const spec = b.spec as { accessMode: string; default?: boolean; credential: { name: string }; objectStorage: { bucket: string; prefix: string } };
      expect(spec.accessMode).toBe('ReadOnly');
      expect(spec.default).toBeUndefined();
      expect(spec.credential.name).toMatch(/^velero-production-dc\d\d-read-only$/);
      expect(spec.objectStorage.prefix).toMatch(/^from-dc\d\d$/);
    }
  });

  it('restores only the database pod of the chosen backups, stripped to its outbox, into isolated namespaces, and checks the data', async () => {
    const out = await synth(plugin, staging, DRILL, [production]);
    const cm = out.objects('ConfigMap').find((c) => c.metadata.name === 'restore-drill-warehouse-dc09')!;
    const data = cm.data as Record<string, string>;
    const restore = JSON.parse(data['restore.json']!) as { spec: Record<string, unknown> };
    expect(restore.spec).toMatchObject({
      includedResources: ['pods'],
      includedNamespaces: ['warehouse'],
      includeClusterResources: false,
      labelSelector: { matchLabels: { 'topoforge.io/database-role': 'primary' } },
    });
    const mods = JSON.parse(
      (out.objects('ConfigMap').find((c) => c.metadata.name === 'restore-drill-modifiers-warehouse-dc09')!.data as Record<string, string>)['modifiers.json']!,
    ) as { resourceModifierRules: { patches: { path: string; value: string }[] }[] };
    const patches = mods.resourceModifierRules[0]!.patches;
    expect(JSON.parse(patches.find((p) => p.path === '/spec/volumes')!.value)).toEqual([{ name: 'backup-outbox', emptyDir: {} }]);
    expect(JSON.parse(data['isolation.json']!).spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const job = out.records('CronJob').find((r) => r.object.metadata.name === 'restore-drill-warehouse-dc09')!;
    const env = Object.fromEntries(
      (
        job.object.spec as { jobTemplate: { spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } } } }
      ).jobTemplate.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({ INSTANCE: 'warehouse-dc09', SOURCE_ZONE: 'Asia/Kolkata', FULL_WEEKDAYS: '2 5', STANZA: 'warehouse', CHECK_EXPECT: 't' });
    expect(env.CHECK_QUERY).toContain('stock_movements');
    // leftovers removed BEFORE restoring; restore failures end the drill at once
    expect(data['drill.sh']!.indexOf('kubectl delete namespace -l')).toBeLessThan(data['drill.sh']!.indexOf('restore.json'));
    expect(data['drill.sh']).toContain('Failed|PartiallyFailed|FailedValidation) echo');
    for (const script of [data['drill.sh']!, data['database.sh']!, data['lease.sh']!]) {
      const syntax = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
      expect(syntax.status, syntax.stderr).toBe(0);
    }
  });

  it('hostile drill options reach the job as data only: the scripts are constants', async () => {
    const out = await synth(
      plugin,
      staging,
      { restoreDrill: { fromEnvironment: 'production' }, databaseSelector: { app: "x'$(reboot)\ny" }, databaseContainer: "c'; rm -rf / #" },
      [production],
    );
    const plain = await synth(plugin, staging, DRILL, [production]);
    const scripts = (o: typeof out) =>
      o
        .objects('ConfigMap')
        .filter((c) => c.metadata.name.startsWith('restore-drill-') && !c.metadata.name.includes('modifiers'))
        .map((c) => ['drill.sh', 'database.sh', 'lease.sh'].map((k) => (c.data as Record<string, string>)[k]));
    expect(scripts(out)).toEqual(scripts(plain));
    const job = out.records('CronJob')[0]!;
    const env = (job.object.spec as { jobTemplate: { spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } } } }).jobTemplate
      .spec.template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === 'DATABASE_SELECTOR')!.value).toBe("app=x'$(reboot)\ny");
  });

  it('the order databaseSelector was written in reaches no drill: the job environment and the Restore list its labels by key', async () => {
    const drills = async (databaseSelector: Record<string, string>) => {
      const out = await synth(plugin, staging, { ...DRILL, databaseOperator: 'custom', databaseSelector }, [production]);
      return out.objects().filter((o) => o.metadata.name.startsWith('restore-drill-'));
    };
    const sorted = await drills({ a: '2', m: '3', z: '1' });
    expect(await drills({ z: '1', a: '2', m: '3' })).toEqual(sorted);
    expect(await drills({ m: '3', z: '1', a: '2' })).toEqual(sorted);
    const job = sorted.find((o) => o.kind === 'CronJob')!;
    const env = (job.spec as { jobTemplate: { spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } } } }).jobTemplate.spec
      .template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === 'DATABASE_SELECTOR')!.value).toBe('a=2,m=3,z=1');
    const cm = sorted.find((o) => o.kind === 'ConfigMap' && !o.metadata.name.includes('modifiers'))!;
    expect((cm.data as Record<string, string>)['restore.json']).toContain('"matchLabels":{"a":"2","m":"3","z":"1"}');
  });

  it("a drill's schedule and objects depend on its instance alone: adding, removing or re-prioritising another service changes no other drill", async () => {
    const drills = async (from: Environment, stand: Environment = staging) => {
      const out = await synth(plugin, stand, DRILL, [from]);
      return new Map(
        out
          .records()
          .filter((r) => r.service !== undefined && r.object.metadata.name.startsWith('restore-drill-'))
          .map((r) => [`${r.object.kind}/${r.object.metadata.name}`, r]),
      );
    };
    const before = await drills(production);
    expect([...before.keys()].filter((k) => k.startsWith('CronJob/'))).toHaveLength(13);
    // a new service of priority 1, in both environments (the drills are staging's objects of production's services)
    const added = (env: Environment): Environment => {
      const template = env.services.find((s) => s.name === 'online-store')!;
      const db = template.database!;
      const service = {
        ...template,
        name: 'aaa-new',
        namespace: 'aaa-new',
        recoveryPriority: 1,
        database: { ...db, name: 'aaanew', instances: db.instances.map((i) => ({ ...i, name: i.name.replace('online-store', 'aaa-new') })) },
      };
      return { ...env, services: [service, ...env.services] };
    };
    const variants: [string, Environment, Environment][] = [
      ['a service added first', added(production), added(staging)],
      ['telemetry removed', { ...production, services: production.services.filter((s) => s.name !== 'telemetry') }, staging],
      ['the services in reverse priority', { ...production, services: [...production.services].reverse() }, staging],
    ];
    for (const [what, from, stand] of variants) {
      const after = await drills(from, stand);
      const gone = from.services.some((s) => s.name === 'telemetry') ? [] : [...before.keys()].filter((k) => before.get(k)!.service === 'telemetry');
      for (const [key, r] of before) {
        if (gone.includes(key)) expect(after.has(key), `${what}: ${key}`).toBe(false);
        else expect(after.get(key), `${what}: ${key}`).toEqual(r);
      }
      const extra = [...after.keys()].filter((k) => !before.has(k));
      expect(
        extra.every((k) => after.get(k)!.service === 'aaa-new'),
        `${what}: ${extra.join(', ')}`,
      ).toBe(true);
      if (what === 'a service added first') expect(extra.filter((k) => k.startsWith('CronJob/')).length).toBeGreaterThan(0);
    }
  });

  it('labels every PrometheusRule (backups, DC loss, restore drills) with alerts.ruleLabels for the Prometheus ruleSelector, and none by default', async () => {
    const labelled = [
      ...(await synth(plugin, production, { alerts: { ruleLabels: { release: 'kube-prometheus-stack' } } })).objects('PrometheusRule'),
      ...(await synth(plugin, staging, { ...DRILL, alerts: { ruleLabels: { release: 'kube-prometheus-stack' } } }, [production])).objects('PrometheusRule'),
    ];
    for (const prefix of ['velero-backups-', 'velero-dc-loss', 'restore-drills-'])
      expect(
        labelled.some((o) => o.metadata.name.startsWith(prefix)),
        prefix,
      ).toBe(true);
    for (const o of labelled) expect(o.metadata.labels?.['release'], o.metadata.name).toBe('kube-prometheus-stack');
    for (const o of (await synth(plugin, production, { alerts: {} })).objects('PrometheusRule'))
      expect(o.metadata.labels?.['release'], o.metadata.name).toBeUndefined();
  });

  it("RestoreDrillLate allows for the drill's whole deadline, waiting for the lease included: a week's drill that waited longest after one that waited not at all is not late", async () => {
    for (const options of [DRILL, { restoreDrill: { fromEnvironment: 'production', waitMinutes: 600, restoreTimeoutMinutes: 300 } }]) {
      const out = await synth(plugin, staging, options, [production]);
      const deadline = (out.objects('CronJob')[0]!.spec as { jobTemplate: { spec: { activeDeadlineSeconds: number } } }).jobTemplate.spec.activeDeadlineSeconds;
      const rule = out.objects('PrometheusRule').find((o) => o.metadata.name === 'restore-drills-production')!;
      const late = (rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups[0]!.rules.filter((r) => r.alert === 'RestoreDrillLate');
      expect(late).toHaveLength(13);
      for (const r of late) {
        const threshold = Number(/> (\d+) or absent/.exec(r.expr)![1]);
        // the longest gap between two successes: a week, an hour of DST, the whole deadline; then the slack (6 h)
        expect(threshold).toBeGreaterThanOrEqual(7 * 86_400 + 3_600 + deadline + 6 * 3_600);
        expect(threshold).toBeLessThan(7 * 86_400 + 3_600 + deadline + 7 * 3_600);
      }
    }
  });

  it('is refused outside staging and for an unknown source environment', async () => {
    expect((await synthErrors([plugin], production, { velero: DRILL })).join('\n')).toContain('restore drills run on the test stand only');
    expect((await synthErrors([plugin], staging, { velero: { restoreDrill: { fromEnvironment: 'prod' } } })).join('\n')).toContain(
      'restore drill source environment "prod" does not exist',
    );
  });
});

describe('topoforge plan: the backup calendar per instance, read from the emitted Schedules', () => {
  const planOf = async (args: Record<string, string>, options: Record<string, unknown> = {}) => {
    const out = await synth(plugin, production);
    const r = await runPlanHooks(production, [{ definition: plugin, use: { name: 'velero', package: 'test', options } }], out, args);
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
    return r.value[0]!.sections;
  };

  it('shows a month: per day and instance, which DC backs it up, type, storage DC, expiry and the full a differential needs', async () => {
    const [body, transfer] = await planOf({ month: '2027-02' });
    expect(body!.title).toBe('Backup calendar 2027-02-01 – 2027-02-28 per database instance (simulated from the emitted Schedules)');
    expect(body!.body).toMatch(/^2027-02-02 +warehouse-dc03 +dc03 +full +dc02 +00:00 +2027-02-01 23:00Z +2027-02-19 01:00Z +-$/m); // a Tuesday in Berlin
    expect(body!.body).toMatch(
      /^2027-02-03 +logistics-dc09 +dc09 +differential +dc03 +00:00 +2027-02-02 18:30Z +2027-02-16 18:30Z +2027-02-01 18:30Z in dc02 \(kept to 2027-02-18 20:30Z\)$/m,
    );
    expect(body!.body).toMatch(/^2027-02-11 +social-network +dc01 +full +dc01 /m); // the 11th goes to DC 1 again
    expect(body!.body).not.toMatch(/^2027-02-02 +online-store/m);
    expect(body!.body.split('\n').filter((l) => /^2027-02-\d\d /.test(l))).toHaveLength(28 * 12 + 14);
    expect(transfer!.body).toMatch(/^total +\S+ +\S+$/m);
  });

  it('starts at --from, else the planFrom option, else today; rejects malformed dates', () => {
    expect(calendarRange({ from: '2027-02-27' }, '2026-01-01', new Date())).toEqual({
      fromMs: Date.parse('2027-02-27T00:00:00Z'),
      toMs: Date.parse('2027-03-30T00:00:00Z'),
    });
    expect(calendarRange({}, '2026-01-01', new Date()).fromMs).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(calendarRange({}, '', new Date('2027-05-06T13:00:00Z')).fromMs).toBe(Date.parse('2027-05-06T00:00:00Z'));
    expect(() => calendarRange({ month: '2027-13' }, '', new Date())).toThrow(/--month must be YYYY-MM/);
    expect(() => calendarRange({ from: '2027-02-30' }, '', new Date())).toThrow(/must be a date YYYY-MM-DD/);
  });
});

describe('bad policies and zones get coded errors with positions', () => {
  const base = (
    policy: string,
    service = 'stock: { kind: warehouse, image: r/s, version: "1", database: { engine: postgresql, name: s }, policies: { backup: p } }',
    tz = 'Europe/Paris',
  ) => `kind: Environment
name: t
stage: staging
regions: { r: { timeZone: ${tz}, businessUnits: [warehouses] } }
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b-backups } }
policies:
  backup:
    p: ${policy}
services:
  ${service}
`;
  const daily = '{ full: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 7 }';

  it("rejects retention shorter than the cadence (its check: the backup group is velero's) and an unknown time zone (the model does)", async () => {
    expect(
      (await synthErrors([plugin], environmentFromYaml(base('{ full: { everyDays: 2 }, window: { start: "00:00", end: "00:30" }, retentionDays: 1 }')))).join(
        '\n',
      ),
    ).toMatch(/retention of 1 days is shorter than the 2-day gap/);
    expect(() => environmentFromYaml(base(daily, undefined, 'Europe/Atlantis'))).toThrow(/unknown time zone "Europe\/Atlantis"/);
  });

  it.each(['CST', 'PST', 'JST', 'IST', 'EST', 'europe/paris'])('rejects time zone %s at render, with the region field and its position', async (zone) => {
    const env = environmentFromYaml(base(daily, undefined, zone));
    const r = await synthErrors([plugin], env);
    expect(r.join('\n')).toMatch(
      new RegExp(
        `^environment\\.yaml:4:\\d+: error PLUGIN_VALIDATION_FAILED: \\[plugin velero\\] VELERO_TIME_ZONE: .*"${zone.replace('/', '\\/')}".*\\(field regions\\.r\\.timeZone\\)`,
        'm',
      ),
    );
  });

  it('rejects a window start that DST skips', async () => {
    const havana = environmentFromYaml(base(daily, undefined, 'America/Havana'));
    expect((await synthErrors([plugin], havana)).join('\n')).toMatch(
      /backup window start 00:00 of policy p does not occur exactly once a day in America\/Havana \(2026-03-08: skipped by DST; 2026-11-01: repeated by DST;.*\(field policies\.backup\.p\.window\.start\)/,
    );
  });

  it('rejects a backup policy on a service without a database, a differential on an engine without one, weekday fulls without a differential', async () => {
    const noDb = environmentFromYaml(base(daily, 'stock: { kind: warehouse, image: r/s, version: "1", policies: { backup: p } }'));
    expect((await synthErrors([plugin], noDb)).join('\n')).toMatch(
      /\[plugin velero\] service stock has a backup policy but no database \(field services\.stock\.policies\.backup\)/,
    );
    const mongo = environmentFromYaml(
      base(
        '{ full: { weekdays: [tuesday] }, differential: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 14 }',
        'stock: { kind: warehouse, image: r/s, version: "1", database: { engine: mongodb, name: s }, policies: { backup: p } }',
      ),
    );
    expect((await synthErrors([plugin], mongo)).join('\n')).toContain('mongodb has no differential backup');
    const weekdaysOnly = environmentFromYaml(base('{ full: { weekdays: [tuesday, friday] }, window: { start: "00:00", end: "00:30" }, retentionDays: 14 }'));
    expect((await synthErrors([plugin], weekdaysOnly)).join('\n')).toContain('cannot rotate across DCs by day of month');
  });
});

const shared = findSharedDir();
if (!shared) console.warn(SHARED_MISSING);
describe.runIf(shared)('every emitted Velero object validates against the upstream CRDs', () => {
  it('Schedules, BackupStorageLocations, the Backups the Schedules create, and the drill Restore as the job creates it', async () => {
    const catalog = CrdCatalog.fromDir(join(shared!, 'crds', 'velero'));
    const prod = await synth(plugin, production);
    const stg = await synth(plugin, staging, DRILL, [production]);
    const objects: KubeObject[] = [...prod.objects(), ...stg.objects()].filter((o) => o.apiVersion.startsWith('velero.io/'));
    for (const s of prod.objects('Schedule')) {
      objects.push({
        apiVersion: 'velero.io/v1',
        kind: 'Backup',
        metadata: { name: `${s.metadata.name}-20270202000000`, namespace: 'velero', labels: scheduleSpec(s).template.metadata.labels },
        spec: scheduleSpec(s).template,
      });
    }
    for (const c of stg.objects('ConfigMap')) {
      const json = (c.data as Record<string, string>)['restore.json'];
      if (json)
        objects.push(
          JSON.parse(
            json.replace('__BACKUP__', 'warehouse-dc02-dc02-full-20270202000000').replace('__NAME__', 'drill-x-1').replace('__TARGET__', 'drill-x-src-1'),
          ) as KubeObject,
        );
    }
    expect(new Set(objects.map((o) => o.kind))).toEqual(new Set(['Schedule', 'BackupStorageLocation', 'Backup', 'Restore']));
    expect(objects.length).toBeGreaterThan(300);
    const problems = objects.flatMap((o) => catalog.validate(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path} ${p.message}`));
    expect(problems).toEqual([]);
  });
});
