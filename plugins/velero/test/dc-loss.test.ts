/**
 * Losing one DC, simulated as Velero and the failover orchestrator would run it, from the
 * RENDERED objects only: each Schedule's cron (robfig/cron semantics, @topoforge/robfig-cron),
 * its paused state and labels, the bucket of the BackupStorageLocation it names, its ttl and
 * the type its pre-backup hook takes (read from the hook's argv: mode, zone, full weekdays).
 * No rotation or schedule code of the plugin is used, so a generator bug shows up here.
 *
 * Loss model: DC X is lost at instant T. From T its cluster runs nothing and every backup
 * stored in X fails (and everything stored there is gone). At T + DC_LOSS_ACTION_HOURS the
 * orchestrator runs the documented procedure in every surviving cluster (simulated from the
 * label selectors below, which must be the ones `dcLossProcedure` documents): pause what
 * stores in X, unpause the fallbacks of X and the standbys of X with --skip-immediately
 * (first run = the cron's next time after the unpause), and create one Backup from each
 * on-demand full template. pgBackRest semantics: a differential is based on the last full
 * that the same pod (cluster) took.
 *
 * Checked for every bundled environment, every DC lost, every loss instant (8 per day,
 * every 3 h) of a span with a 31-day, a 30-day, a 28-day and a 29-day month end, for every
 * surviving database instance:
 * - restorable backups (stored in a surviving DC; a differential only with its full in a
 *   surviving DC, kept at least as long) are never further apart than one missed backup:
 *   2 calendar days for a daily instance, 4 for the every-2-days store (dates of the DC
 *   that took each backup);
 * - after the procedure, every backup the undisturbed calendar has is there, same local
 *   date, same type (or a full), in the same DC — or, for X's days, in the DC after X in
 *   rotation order — and restorable;
 * - no instance gets two backups on one local date except the procedure's one extra full.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { Emitted, KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import { activations, civil, parse, parseGoDuration } from '@topoforge/robfig-cron';
import velero, { backupPolicyOf, DC_LOSS_ACTION_HOURS, dcLossProcedure } from '../src/index.js';

const plugin = velero as PluginDefinition<never>;
const envDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const loaded = loadEnvironments(envDir);
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const environments = ['staging', 'production'].map((n) => loaded.value.find((e) => e.name === n)!) as Environment[];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// The procedure as the orchestrator runs it, in label selectors (see dcLossProcedure).
const L = {
  dc: 'topoforge.io/backup-dc',
  fallback: 'topoforge.io/fallback-for',
  standby: 'topoforge.io/standby-for',
  onDemand: 'topoforge.io/on-demand',
  instance: 'topoforge.io/database-instance',
};
const procedure = (x: string) => ({
  pause: (l: Labels) => l[L.dc] === x,
  unpause: (l: Labels) => l[L.fallback] === x || l[L.standby] === x,
  backupFrom: (l: Labels) => l[L.onDemand] === 'full' && (l[L.standby] === undefined || l[L.standby] === x),
});

type Labels = Readonly<Record<string, string>>;
type Kind = 'full' | 'differential';

interface Sched {
  readonly cluster: string;
  readonly name: string;
  readonly labels: Labels;
  readonly paused: boolean;
  readonly storage: string;
  readonly ttlMs: number;
  readonly zone: string;
  /** The hook's type at a given instant, or none (the other half of a weekday pair). */
  readonly typeAt: (at: number) => Kind | 'none';
  readonly fires: readonly { at: number; localDate: string }[];
}

interface Backup {
  readonly instance: string;
  readonly cluster: string;
  readonly schedule: string;
  readonly at: number;
  readonly localDate: string;
  readonly type: Kind;
  readonly storage: string;
  readonly expiresAt: number;
  readonly onDemand: boolean;
  /** pgBackRest: the full this pod's repository held when a differential was taken. */
  base?: Backup;
}

/** The rendered objects as Velero sees them: Schedules per cluster with their storage DC from the location's bucket. */
function readObjects(env: Environment, emitted: readonly Emitted[], from: number, to: number): Sched[] {
  const bucketDc = new Map(env.dataCenters.map((d) => [d.backupStorage.bucket, d.name]));
  const locations = new Map<string, string>();
  const objects = emitted.flatMap((e) => (e.type === 'object' ? [{ dc: e.dc ?? '', o: e.object as KubeObject }] : []));
  for (const { dc, o } of objects) {
    if (o.kind !== 'BackupStorageLocation') continue;
    const bucket = (o.spec as { objectStorage: { bucket: string } }).objectStorage.bucket;
    locations.set(`${dc}/${o.metadata.name}`, bucketDc.get(bucket)!);
  }
  const out: Sched[] = [];
  for (const { dc, o } of objects) {
    if (o.kind !== 'Schedule') continue;
    const spec = o.spec as {
      schedule: string;
      paused?: boolean;
      template: { storageLocation: string; ttl: string; hooks: { resources: { pre: { exec: { command: string[] } }[] }[] } };
    };
    const storage = locations.get(`${dc}/${spec.template.storageLocation}`);
    if (!storage) throw new Error(`${dc}/${o.metadata.name}: no BackupStorageLocation ${spec.template.storageLocation} in its cluster`);
    // argv: /bin/sh -c SCRIPT NAME mode zone "isoDays" repository outbox …
    const [, , , , mode, zone, days] = spec.template.hooks.resources[0]!.pre[0]!.exec.command;
    const iso = (days ?? '').split(' ').filter(Boolean).map(Number);
    const weekday = (at: number) => civil(zone!, at).weekday || 7;
    const typeAt = (at: number): Kind | 'none' => {
      if (mode === 'full') return 'full';
      if (mode === 'differential') return 'differential';
      if (mode === 'weekday-full') return iso.includes(weekday(at)) ? 'full' : 'none';
      if (mode === 'weekday-diff') return iso.includes(weekday(at)) ? 'none' : 'differential';
      throw new Error(`${o.metadata.name}: unknown hook mode ${mode}`);
    };
    out.push({
      cluster: dc,
      name: o.metadata.name,
      labels: o.metadata.labels ?? {},
      paused: spec.paused === true,
      storage,
      ttlMs: parseGoDuration(spec.template.ttl),
      zone: zone!,
      typeAt,
      fires: activations(parse(spec.schedule), from, to),
    });
  }
  return out;
}

/** The slice of a list sorted by `at` with from <= at < to (binary search: the sweep runs ~10^4 losses). */
function within<T extends { at: number }>(list: readonly T[], from: number, to: number): readonly T[] {
  const first = (t: number) => {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return list.slice(first(from), first(to));
}

const localDate = (zone: string, at: number) => {
  const c = civil(zone, at);
  return `${c.year}-${String(c.month).padStart(2, '0')}-${String(c.day).padStart(2, '0')}`;
};

/** Every Backup that completes, with X lost at T and the procedure run after `delay` (Infinity: never; no loss: X undefined). */
function simulate(schedules: readonly Sched[], from: number, to: number, lost?: { dc: string; at: number; delay: number }): Backup[] {
  const act = lost ? lost.at + lost.delay : Infinity;
  const p = lost ? procedure(lost.dc) : undefined;
  const raw: Omit<Backup, 'base'>[] = [];
  for (const s of schedules) {
    // The procedure pauses first, then unpauses: the state before and after it.
    const acts = p !== undefined && s.cluster !== lost!.dc;
    const before = !s.paused;
    const after = acts ? (s.paused || p.pause(s.labels) ? p.unpause(s.labels) : true) : before;
    for (const f of within(s.fires, from, to)) {
      // --skip-immediately: the first run after an unpause is the cron's next time after it.
      if (!(f.at < act ? before : after)) continue;
      if (lost && f.at >= lost.at && (s.cluster === lost.dc || s.storage === lost.dc)) continue; // cluster gone, or its storage
      const type = s.typeAt(f.at);
      if (type === 'none') continue;
      raw.push({
        instance: s.labels[L.instance]!,
        cluster: s.cluster,
        schedule: s.name,
        at: f.at,
        localDate: f.localDate,
        type,
        storage: s.storage,
        expiresAt: f.at + s.ttlMs,
        onDemand: false,
      });
    }
    if (p && s.cluster !== lost!.dc && act < to && p.backupFrom(s.labels)) {
      const type = s.typeAt(act);
      if (type !== 'none')
        raw.push({
          instance: s.labels[L.instance]!,
          cluster: s.cluster,
          schedule: s.name,
          at: act,
          localDate: localDate(s.zone, act),
          type,
          storage: s.storage,
          expiresAt: act + s.ttlMs,
          onDemand: true,
        });
    }
  }
  raw.sort((a, b) => a.at - b.at || (a.type === b.type ? 0 : a.type === 'full' ? -1 : 1));
  const lastFull = new Map<string, Backup>();
  return raw.map((r) => {
    const b: Backup = { ...r };
    const key = `${r.instance}@${r.cluster}`;
    if (r.type === 'full') lastFull.set(key, b);
    else {
      const base = lastFull.get(key);
      if (base) b.base = base;
    }
    return b;
  });
}

interface Instance {
  readonly name: string;
  readonly cadenceDays: number;
  readonly survives: (lost: string) => boolean;
}

/** Database instances from the MODEL (not the plugin): where they live and their cadence. */
function instancesOf(env: Environment): Instance[] {
  return env.services.flatMap((s) =>
    s.policies.backup && s.database
      ? s.database.instances.map((i) => ({
          name: i.name,
          cadenceDays: backupPolicyOf(s)!.full.everyDays ?? 1,
          survives: (lost: string) => s.database!.topology === 'replicated' || i.primary !== lost,
        }))
      : [],
  );
}

const nextInRotation = (env: Environment, dc: string) => {
  const order = [...env.dataCenters].sort((a, b) => a.rotation - b.rotation).map((d) => d.name);
  return order[(order.indexOf(dc) + 1) % order.length]!;
};

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16);

/** Everything wrong for the surviving instances when `lost` is lost at `at`. */
function violations(
  env: Environment,
  schedules: readonly Sched[],
  instances: readonly Instance[],
  dc: string,
  at: number,
  delay: number,
  baseline: ReadonlyMap<string, readonly Backup[]>,
): string[] {
  const from = at - 4 * DAY;
  const to = at + 10 * DAY;
  const got = simulate(schedules, from, to, { dc, at, delay });
  const act = at + delay;
  const out: string[] = [];
  const restorable = (b: Backup) =>
    b.at < at || // taken before the loss: the forward view (README: what X held is gone with it)
    (b.storage !== dc && (b.type === 'full' || (b.base !== undefined && b.base.storage !== dc && b.base.expiresAt >= b.expiresAt)));
  for (const i of instances.filter((x) => x.survives(dc))) {
    const mine = got.filter((b) => b.instance === i.name);
    // Gaps in calendar days of the DC that took each backup (a takeover may move the
    // instance's midnight to another zone): at most one missed backup.
    const ok = mine.filter(restorable);
    const limit = 2 * i.cadenceDays;
    const days = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / DAY;
    if (!ok.some((b) => b.at < at) || !ok.some((b) => b.at > act))
      out.push(`${i.name}: no restorable backup before the loss or after the procedure (${dc} lost ${iso(at)})`);
    for (let k = 1; k < ok.length; k++) {
      if (days(ok[k - 1]!.localDate, ok[k]!.localDate) > limit)
        out.push(`${i.name}: no restorable backup from ${ok[k - 1]!.localDate} to ${ok[k]!.localDate} (${dc} lost ${iso(at)})`);
    }
    if (ok.length && to - ok[ok.length - 1]!.at > (limit + 1) * DAY)
      out.push(`${i.name}: no restorable backup after ${ok[ok.length - 1]!.localDate} (${dc} lost ${iso(at)})`);
    // After the procedure: the undisturbed calendar, day by day.
    for (const due of within(baseline.get(i.name) ?? [], Math.max(from, act + 1), to - DAY)) {
      const same = mine.filter((b) => !b.onDemand && b.localDate === due.localDate);
      const want = due.storage === dc ? nextInRotation(env, dc) : due.storage;
      const hit = same.find((b) => (b.type === due.type || b.type === 'full') && b.storage === want && restorable(b));
      if (!hit)
        out.push(
          `${i.name} ${due.localDate}: due ${due.type} in ${due.storage}, got ${same.map((b) => `${b.type} in ${b.storage}${restorable(b) ? '' : ' (not restorable)'}`).join(', ') || 'nothing'} (${dc} lost ${iso(at)})`,
        );
    }
    const perDay = new Map<string, number>();
    for (const b of mine.filter((x) => !x.onDemand)) perDay.set(`${b.cluster} ${b.localDate}`, (perDay.get(`${b.cluster} ${b.localDate}`) ?? 0) + 1);
    for (const [day, n] of perDay) if (n > 1) out.push(`${i.name}: ${n} backups on ${day}`);
  }
  return out;
}

// Loss days: a 31-day (Jan, Mar), a 28-day (Feb 2027), a 30-day (Apr) and a 29-day (Feb 2028) month end.
const SPANS: readonly (readonly [string, string])[] = [
  ['2027-01-25', '2027-05-04'],
  ['2028-02-18', '2028-03-06'],
];
const LOSS_HOURS = [0, 3, 6, 9, 12, 15, 18, 21];
const lossInstants = SPANS.flatMap(([a, b]) => {
  const out: number[] = [];
  for (let d = Date.parse(`${a}T00:00:00Z`); d < Date.parse(`${b}T00:00:00Z`); d += DAY) for (const h of LOSS_HOURS) out.push(d + h * HOUR + 17 * 60_000);
  return out;
});

async function prepared(env: Environment, emittedOverride?: (e: readonly Emitted[]) => Emitted[]) {
  const out = await synth(plugin, env, {}, environments);
  const emitted = emittedOverride ? emittedOverride(out.emitted) : out.emitted;
  const from = Date.parse(`${SPANS[0]![0]}T00:00:00Z`) - 6 * DAY;
  const to = Date.parse(`${SPANS[SPANS.length - 1]![1]}T00:00:00Z`) + 12 * DAY;
  const schedules = readObjects(env, emitted, from, to);
  const all = simulate(schedules, from, to);
  const baseline = new Map<string, Backup[]>();
  for (const b of all) baseline.set(b.instance, [...(baseline.get(b.instance) ?? []), b]);
  return { schedules, all, baseline, instances: instancesOf(env) };
}

describe('losing any one DC: every surviving instance keeps its backups (simulated from the rendered Schedules)', () => {
  it('documents the procedure the simulation runs', () => {
    const cmds = dcLossProcedure('dc07');
    expect(cmds.slice(0, 3)).toEqual([
      `velero -n velero schedule pause -l ${L.dc}=dc07`,
      `velero -n velero schedule unpause -l ${L.fallback}=dc07 --skip-immediately=true`,
      `velero -n velero schedule unpause -l ${L.standby}=dc07 --skip-immediately=true`,
    ]);
    expect(cmds[3]).toContain(`-l '${L.onDemand}=full,!${L.standby}'`);
    expect(cmds[3]).toContain(`-l '${L.onDemand}=full,${L.standby}=dc07'`);
    expect(cmds[3]).toContain('backup create "${s#*/}-after-dc07-lost" --from-schedule "${s#*/}"');
    expect(DC_LOSS_ACTION_HOURS).toBe(12);
  });

  for (const env of environments) {
    it(`${env.name}: every DC lost at every loss instant, the procedure ${DC_LOSS_ACTION_HOURS} h later`, async () => {
      const { schedules, all, baseline, instances } = await prepared(env);
      // the undisturbed calendar: paused Schedules silent
      expect(all.length).toBeGreaterThan(1000);
      expect(all.every((b) => !schedules.find((s) => s.name === b.schedule && s.cluster === b.cluster)!.paused)).toBe(true);
      const policies = new Set(env.services.filter((s) => s.policies.backup && s.database).map((s) => s.policies.backup!.name));
      expect([...policies].sort()).toEqual(['daily-full', 'diff-daily-full-tue-fri', 'full-every-2-days']);
      let scenarios = 0;
      let checked = 0;
      const problems: string[] = [];
      for (const dc of env.dataCenters.map((d) => d.name)) {
        for (const at of lossInstants) {
          scenarios++;
          checked += instances.filter((i) => i.survives(dc)).length;
          problems.push(...violations(env, schedules, instances, dc, at, DC_LOSS_ACTION_HOURS * HOUR, baseline));
        }
      }
      console.info(
        `${env.name}: ${env.dataCenters.length} DCs × ${lossInstants.length / LOSS_HOURS.length} loss days × ${LOSS_HOURS.length} instants = ${scenarios} losses, ${checked} surviving-instance timelines`,
      );
      expect(problems.slice(0, 20)).toEqual([]);
      expect(scenarios).toBe(env.dataCenters.length * lossInstants.length);
    }, 600_000);
  }

  it('catches the old design: without the procedure, losing DC 1 on a 31st costs a daily instance the 31st and the 1st', async () => {
    const production = environments[1]!;
    const { schedules, baseline, instances } = await prepared(production);
    const at = Date.parse('2027-01-30T22:17:00Z');
    const never = violations(production, schedules, instances, 'dc01', at, Infinity, baseline);
    // logistics-dc02 (Lisbon): the 31st's and the 1st's backups (both dc01) fail
    expect(never).toContain('logistics-dc02: no restorable backup from 2027-01-30 to 2027-02-02 (dc01 lost 2027-01-30T22:17)');
    expect(violations(production, schedules, instances, 'dc01', at, DC_LOSS_ACTION_HOURS * HOUR, baseline)).toEqual([]);
  });

  it('catches a generator bug: a fallback that stores in the DC it stands in for', async () => {
    const staging = environments[0]!;
    const broken = await prepared(staging, (emitted) =>
      emitted.map((e) => {
        if (e.type !== 'object' || e.object.kind !== 'Schedule' || e.object.metadata.labels?.[L.fallback] !== 'stg01') return e;
        const spec = e.object.spec as { template: Record<string, unknown> };
        return { ...e, object: { ...e.object, spec: { ...spec, template: { ...spec.template, storageLocation: 'stg01' } } } };
      }),
    );
    const found = lossInstants
      .slice(0, 8 * 10)
      .flatMap((at) => violations(staging, broken.schedules, broken.instances, 'stg01', at, DC_LOSS_ACTION_HOURS * HOUR, broken.baseline));
    expect(found.length).toBeGreaterThan(0);
  });

  it('catches a chain bug: without the out-of-cycle full, differentials after the loss build on a full stored in the lost DC', async () => {
    const production = environments[1]!;
    const broken = await prepared(production, (emitted) =>
      emitted.filter((e) => !(e.type === 'object' && e.object.kind === 'Schedule' && e.object.metadata.labels?.[L.onDemand])),
    );
    // Tuesday 2027-02-02: every weekday-pair instance's full goes to dc02 (day 2); dc02 is lost that afternoon.
    const at = Date.parse('2027-02-02T13:17:00Z');
    const v = violations(production, broken.schedules, broken.instances, 'dc02', at, DC_LOSS_ACTION_HOURS * HOUR, broken.baseline);
    expect(v.some((x) => x.startsWith('warehouse-dc01') && x.includes('not restorable'))).toBe(true);
  });
});
