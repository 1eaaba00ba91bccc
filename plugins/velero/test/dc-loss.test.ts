/**
 * Losing one DC, simulated as Velero and the failover orchestrator would run it, from the
 * RENDERED objects only: each Schedule's cron (robfig/cron semantics, @topoforge/robfig-cron),
 * its paused state and labels, the bucket of the BackupStorageLocation it names, its ttl and
 * the type its pre-backup hook takes (read from the hook's argv: mode, zone, full weekdays).
 * No rotation or schedule code of the plugin is used, so a generator bug shows up here.
 *
 * Loss model: DC X is lost at instant T. From T its cluster runs nothing and every backup
 * stored in X fails; everything stored there, whenever it was taken, is gone. At
 * T + DC_LOSS_ACTION_HOURS the orchestrator runs the documented procedure in every surviving
 * cluster: its steps are read from dcLossProcedure's command lines (label selectors
 * evaluated here): pause what stores in X, unpause the fallbacks and standbys of X with
 * --skip-immediately (first run = the cron's next time after the unpause), and create one
 * Backup from each on-demand full template. pgBackRest semantics: a differential is based on
 * the last full that the same pod (cluster) took.
 *
 * Restorable: stored outside X and, for a differential, its full stored outside X too and
 * kept at least as long. Checked for every bundled environment, every DC lost, every loss
 * instant (8 per day, every 3 h) of a span with a 31-day, a 30-day, a 28-day and a 29-day
 * month end, for every surviving database instance:
 * - from the loss on, the newest restorable backup is at most one missed backup old (2
 *   calendar days daily, 4 every 2 days, dates of the DC that took each backup); every time
 *   it is not is an exposure, classified by what was lost in between: `month end` (two
 *   backups in a row stored in X across a month end) or `chain` (a differential whose full
 *   is in X); any other cause fails, and the widest gap per cause is pinned
 *   (EXPECTED_EXPOSURES, README "What is guaranteed");
 * - after the procedure, every backup the undisturbed calendar has is there, same local
 *   date, same type (or a full), in the same DC — or, for X's days, in the DC after X in
 *   rotation order — and restorable;
 * - no instance gets two backups on one local date except the procedure's one extra full.
 * Restore points lost before T are measured (the widest gap), not bounded.
 * dcRecoveryProcedure is checked against the same rendered Schedules.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { Emitted, KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import { activations, civil, parse, parseGoDuration } from '@topoforge/robfig-cron';
import velero, { backupPolicyOf, DC_LOSS_ACTION_HOURS, dcLossProcedure, dcRecoveryProcedure } from '../src/index.js';

const plugin = velero as PluginDefinition<never>;
const envDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const loaded = loadEnvironments(envDir);
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const environments = ['staging', 'production'].map((n) => loaded.value.find((e) => e.name === n)!) as Environment[];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// The procedure as the orchestrator runs it: read from dcLossProcedure's commands.
const L = {
  dc: 'topoforge.io/backup-dc',
  fallback: 'topoforge.io/fallback-for',
  standby: 'topoforge.io/standby-for',
  onDemand: 'topoforge.io/on-demand',
  instance: 'topoforge.io/database-instance',
};

/** A label selector of the forms Kubernetes accepts and the procedures use: k=v, k!=v, k, !k. */
function selectorOf(sel: string): (l: Labels) => boolean {
  const terms = sel.split(',').map((t) => {
    const m = /^(!?)([\w./-]+)(?:(!=|==|=)(.*))?$/.exec(t.trim());
    if (!m) throw new Error(`unsupported selector term ${t} in ${sel}`);
    const [, not, key, op, value] = m;
    if (op === undefined) return (l: Labels) => key! in l !== (not === '!');
    if (not) throw new Error(`bad selector term ${t}`);
    return (l: Labels) => (op === '!=' ? l[key!] !== value : l[key!] === value);
  });
  return (l) => terms.every((f) => f(l));
}

type Step = { readonly op: 'pause' | 'unpause' | 'backup'; readonly select: (l: Labels) => boolean; readonly skipImmediately: boolean };

/** The steps of a documented procedure, in order, from its velero and kubectl command lines. */
function stepsOf(commands: readonly string[]): Step[] {
  return commands.flatMap((c): Step[] => {
    const s = /^velero -n \S+ schedule (pause|unpause) -l ('[^']+'|\S+)( --skip-immediately=true)?$/.exec(c);
    if (s) return [{ op: s[1] as 'pause' | 'unpause', select: selectorOf(s[2]!.replace(/'/g, '')), skipImmediately: s[3] !== undefined }];
    if (/backup create "\$\{s#\*\/\}-after-\S+-lost" --from-schedule "\$\{s#\*\/\}"/.test(c))
      return [...c.matchAll(/get schedules\.velero\.io -l '([^']+)' -o name/g)].map((m) => ({
        op: 'backup',
        select: selectorOf(m[1]!),
        skipImmediately: false,
      }));
    throw new Error(`a step the simulation does not know: ${c}`);
  });
}

/** Paused after the steps (in order), from paused before. */
const pausedAfter = (steps: readonly Step[], labels: Labels, paused: boolean) =>
  steps.reduce((p, s) => (s.op !== 'backup' && s.select(labels) ? s.op === 'pause' : p), paused);

const procedure = (x: string) => {
  const steps = stepsOf(dcLossProcedure(x));
  // every unpause skips the immediate run (the sweep's first run after an unpause is the cron's next)
  if (steps.some((s) => s.op === 'unpause' && !s.skipImmediately)) throw new Error('an unpause without --skip-immediately');
  return {
    after: (l: Labels, paused: boolean) => pausedAfter(steps, l, paused),
    backupFrom: (l: Labels) => steps.some((s) => s.op === 'backup' && s.select(l)),
  };
};

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
    const after = acts ? !p.after(s.labels, s.paused) : before;
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
/** How far back the sweep looks for restore points lost with X: the longest ttl (17 days and 2 h for a full differentials build on), in whole days. */
const HISTORY_DAYS = 18;

/** Why a backup of the undisturbed calendar is not restorable after the loss. */
type LostWhy = 'stored in X' | 'its full in X' | 'not taken';

/**
 * A time from the loss on when a surviving instance's newest restorable backup was more than
 * one missed backup old (the guarantee), with what was lost in between and why.
 */
interface Exposure {
  readonly instance: string;
  readonly from: string;
  readonly to: string;
  readonly days: number;
  readonly lost: readonly { localDate: string; type: Kind; why: LostWhy }[];
  readonly cause: 'month end' | 'chain' | 'other';
}

interface Outcome {
  /** Always wrong: the calendar after the procedure, duplicates, no backup at all. */
  readonly problems: string[];
  /** The guarantee, strictly: from the loss on, at most one missed backup (classified). */
  readonly exposures: Exposure[];
  /** Restore points before the loss that went with X: the widest gap per instance (days). */
  readonly history: Map<string, number>;
}

const days = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / DAY;

/** Everything wrong for the surviving instances when `lost` is lost at `at`. */
function violations(
  env: Environment,
  schedules: readonly Sched[],
  instances: readonly Instance[],
  dc: string,
  at: number,
  delay: number,
  baseline: ReadonlyMap<string, readonly Backup[]>,
): Outcome {
  const from = at - 4 * DAY;
  const to = at + 10 * DAY;
  // History: the retention before the loss; simulated a week earlier still, so that each
  // differential knows its full.
  const historyFrom = at - HISTORY_DAYS * DAY;
  const all = simulate(schedules, historyFrom - 7 * DAY, to, { dc, at, delay });
  const got = within(all, from, to);
  const act = at + delay;
  const out: Outcome = { problems: [], exposures: [], history: new Map() };
  // Stored in X: gone with it, whenever it was taken. A differential needs its full.
  const restorable = (b: Backup) =>
    b.storage !== dc && (b.type === 'full' || (b.base !== undefined && b.base.storage !== dc && b.base.expiresAt >= b.expiresAt));
  for (const i of instances.filter((x) => x.survives(dc))) {
    const mine = got.filter((b) => b.instance === i.name);
    const ok = within(all, historyFrom, to).filter((b) => b.instance === i.name && restorable(b) && b.expiresAt > at);
    // Gaps in calendar days of the DC that took each backup (a takeover may move the
    // instance's midnight to another zone): at most one missed backup.
    const limit = 2 * i.cadenceDays;
    const before = ok.filter((b) => b.at < at);
    const after = ok.filter((b) => b.at >= at);
    if (Number.isFinite(act) && !after.some((b) => b.at > act))
      out.problems.push(`${i.name}: no restorable backup after the procedure (${dc} lost ${iso(at)})`);
    if (!before.length) {
      out.problems.push(`${i.name}: no restorable backup before the loss (${dc} lost ${iso(at)})`);
      continue;
    }
    // From the loss on: the newest restorable backup before it, then each one after it.
    const seq = [before[before.length - 1]!, ...after];
    for (let k = 1; k < seq.length; k++) {
      const [p, n] = [seq[k - 1]!, seq[k]!];
      const d = days(p.localDate, n.localDate);
      if (d <= limit) continue;
      const lost = within(baseline.get(i.name) ?? [], p.at + 1, n.at).map((b) => ({
        localDate: b.localDate,
        type: b.type,
        why: (b.at >= at ? 'not taken' : b.storage === dc ? 'stored in X' : 'its full in X') as LostWhy,
      }));
      // Two backups in a row stored in X across a month end: the rotation restarts at DC 1 on
      // the 1st (daily: the 31st and the 1st with 10 DCs; every 2 days with 2 DCs: the 29th and the 1st).
      const monthEnd = lost.some(
        (l, j) => l.why === 'stored in X' && lost[j + 1]?.why === 'stored in X' && lost[j + 1]!.localDate.endsWith('-01') && !l.localDate.endsWith('-01'),
      );
      const cause = lost.some((l) => l.why === 'its full in X') ? 'chain' : monthEnd ? 'month end' : 'other';
      out.exposures.push({ instance: i.name, from: p.localDate, to: n.localDate, days: d, lost, cause });
    }
    if (to - ok[ok.length - 1]!.at > (limit + 1) * DAY)
      out.problems.push(`${i.name}: no restorable backup after ${ok[ok.length - 1]!.localDate} (${dc} lost ${iso(at)})`);
    // Lost history: restore points before the loss.
    let widest = 0;
    for (let k = 1; k < before.length; k++) widest = Math.max(widest, days(before[k - 1]!.localDate, before[k]!.localDate));
    out.history.set(i.name, widest);
    // After the procedure: the undisturbed calendar, day by day.
    for (const due of within(baseline.get(i.name) ?? [], Math.max(from, act + 1), to - DAY)) {
      const same = mine.filter((b) => !b.onDemand && b.localDate === due.localDate);
      const want = due.storage === dc ? nextInRotation(env, dc) : due.storage;
      const hit = same.find((b) => (b.type === due.type || b.type === 'full') && b.storage === want && restorable(b));
      if (!hit)
        out.problems.push(
          `${i.name} ${due.localDate}: due ${due.type} in ${due.storage}, got ${same.map((b) => `${b.type} in ${b.storage}${restorable(b) ? '' : ' (not restorable)'}`).join(', ') || 'nothing'} (${dc} lost ${iso(at)})`,
        );
    }
    const perDay = new Map<string, number>();
    for (const b of mine.filter((x) => !x.onDemand)) perDay.set(`${b.cluster} ${b.localDate}`, (perDay.get(`${b.cluster} ${b.localDate}`) ?? 0) + 1);
    for (const [day, n] of perDay) if (n > 1) out.problems.push(`${i.name}: ${n} backups on ${day}`);
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
  const from = Date.parse(`${SPANS[0]![0]}T00:00:00Z`) - (HISTORY_DAYS + 9) * DAY;
  const to = Date.parse(`${SPANS[SPANS.length - 1]![1]}T00:00:00Z`) + 12 * DAY;
  const schedules = readObjects(env, emitted, from, to);
  const all = simulate(schedules, from, to);
  const baseline = new Map<string, Backup[]>();
  for (const b of all) baseline.set(b.instance, [...(baseline.get(b.instance) ?? []), b]);
  return { schedules, all, baseline, instances: instancesOf(env) };
}

const instanceClass = (name: string) => name.replace(/-(dc|stg)\d+$/, '-*');

/** Per cause: how many losses expose an instance, and the widest gap in days per kind of instance. */
function summarize(exposures: readonly (Exposure & { dc: string; at: number })[]): Record<string, { losses: number; widest: Record<string, number> }> {
  const out: Record<string, { losses: number; widest: Record<string, number> }> = {};
  for (const c of [...new Set(exposures.map((e) => e.cause))].sort()) {
    const mine = exposures.filter((e) => e.cause === c);
    const widest: Record<string, number> = {};
    for (const e of mine) widest[instanceClass(e.instance)] = Math.max(e.days, widest[instanceClass(e.instance)] ?? 0);
    out[c] = { losses: new Set(mine.map((e) => `${e.dc}@${e.at}`)).size, widest };
  }
  return out;
}

/**
 * What the strict sweep finds and the README states (section "What is guaranteed"): the
 * widest gap, in calendar days, between a surviving instance's newest restorable backup at
 * the loss and the next ones, per cause. Daily instances may lose two backups (3 days), not
 * more, at a month end; a weekday-pair instance whose current full is stored in X loses the
 * full and its differentials until the next full or the procedure's out-of-cycle one.
 */
const EXPECTED_EXPOSURES: Record<string, Record<string, Record<string, number>>> = {
  production: {
    chain: { 'logistics-*': 5, 'warehouse-*': 5 },
    'month end': { 'logistics-*': 3, 'warehouse-*': 3, 'social-network': 3, telemetry: 3 },
  },
  staging: {
    chain: { 'logistics-*': 17, 'warehouse-*': 17 },
    'month end': { 'logistics-*': 3, 'social-network': 3, telemetry: 3, 'online-store': 6 },
  },
};

describe('losing any one DC: every surviving instance keeps its backups (simulated from the rendered Schedules)', () => {
  it('documents the procedure the simulation runs', () => {
    const cmds = dcLossProcedure('dc07');
    expect(cmds.slice(0, 3)).toEqual([
      `velero -n velero schedule pause -l ${L.dc}=dc07`,
      `velero -n velero schedule unpause -l ${L.fallback}=dc07 --skip-immediately=true`,
      `velero -n velero schedule unpause -l '${L.standby}=dc07,!${L.onDemand}' --skip-immediately=true`,
    ]);
    expect(dcRecoveryProcedure('dc07')).toEqual([
      `velero -n velero schedule unpause -l '${L.dc}=dc07,!${L.fallback},!${L.standby},!${L.onDemand}' --skip-immediately=true`,
      `velero -n velero schedule pause -l ${L.fallback}=dc07`,
      `velero -n velero schedule pause -l ${L.standby}=dc07`,
    ]);
    expect(cmds[3]).toContain(`-l '${L.onDemand}=full,!${L.standby}'`);
    expect(cmds[3]).toContain(`-l '${L.onDemand}=full,${L.standby}=dc07'`);
    expect(cmds[3]).toContain('backup create "${s#*/}-after-dc07-lost" --from-schedule "${s#*/}"');
    expect(DC_LOSS_ACTION_HOURS).toBe(12);
  });

  for (const env of environments) {
    it(`${env.name}: once the lost DC is back, dcRecoveryProcedure puts every Schedule of every other cluster back as Git has it`, async () => {
      const { schedules } = await prepared(env);
      for (const x of env.dataCenters.map((d) => d.name)) {
        const loss = stepsOf(dcLossProcedure(x));
        const recovery = stepsOf(dcRecoveryProcedure(x));
        expect(recovery.filter((s) => s.op === 'unpause').every((s) => s.skipImmediately)).toBe(true);
        const here = schedules.filter((s) => s.cluster !== x);
        const during = new Map(here.map((s) => [s, pausedAfter(loss, s.labels, s.paused)]));
        // during the loss: what stores in X is paused, the fallbacks and standbys of X run
        for (const s of here) {
          const l = s.labels;
          const want = l[L.onDemand] ? true : l[L.fallback] === x || l[L.standby] === x ? false : l[L.dc] === x ? true : s.paused;
          expect(`${s.cluster}/${s.name} paused=${during.get(s)}`).toBe(`${s.cluster}/${s.name} paused=${want}`);
        }
        expect([...during.values()].filter((p) => !p).length).toBeGreaterThan(here.filter((s) => !s.paused && s.storage !== x).length);
        // after the recovery: as in Git
        const wrong = here.filter((s) => pausedAfter(recovery, s.labels, during.get(s)!) !== s.paused).map((s) => `${s.cluster}/${s.name}`);
        expect(wrong).toEqual([]);
        // and its unpause resumes exactly the running Schedules that store in X
        const resumed = here.filter((s) => recovery.some((r) => r.op === 'unpause' && r.select(s.labels)));
        expect(resumed.every((s) => !s.paused && s.storage === x)).toBe(true);
        expect(resumed.length).toBe(here.filter((s) => !s.paused && s.storage === x).length);
      }
    });

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
      const exposures: (Exposure & { dc: string; at: number })[] = [];
      const history = new Map<string, number>();
      for (const dc of env.dataCenters.map((d) => d.name)) {
        for (const at of lossInstants) {
          scenarios++;
          checked += instances.filter((i) => i.survives(dc)).length;
          const o = violations(env, schedules, instances, dc, at, DC_LOSS_ACTION_HOURS * HOUR, baseline);
          problems.push(...o.problems);
          exposures.push(...o.exposures.map((e) => ({ ...e, dc, at })));
          for (const [k, v] of o.history) history.set(k, Math.max(v, history.get(k) ?? 0));
        }
      }
      console.info(
        `${env.name}: ${env.dataCenters.length} DCs × ${lossInstants.length / LOSS_HOURS.length} loss days × ${LOSS_HOURS.length} instants = ${scenarios} losses, ${checked} surviving-instance timelines`,
      );
      const summary = summarize(exposures);
      console.info(
        `${env.name}: from the loss on, the newest restorable backup more than one missed backup old: ${JSON.stringify(summary)}; widest gap of restore points lost before the loss: ${JSON.stringify(Object.fromEntries([...history].map(([k, v]) => [instanceClass(k), v])))}`,
      );
      expect(problems.slice(0, 20)).toEqual([]);
      // Every exposure has one of the two stated causes, none is wider than stated.
      const unexplained = exposures.filter((e) => e.cause === 'other');
      expect(unexplained.slice(0, 5).map((e) => `${e.instance} ${e.from}..${e.to} (${e.dc} lost ${iso(e.at)}): ${JSON.stringify(e.lost)}`)).toEqual([]);
      expect(Object.fromEntries(Object.entries(summary).map(([c, v]) => [c, v.widest]))).toEqual(EXPECTED_EXPOSURES[env.name]);
      expect(scenarios).toBe(env.dataCenters.length * lossInstants.length);
    }, 600_000);
  }

  it('catches the old design: without the procedure, losing DC 1 on a 31st costs a daily instance the 31st and the 1st', async () => {
    const production = environments[1]!;
    const { schedules, baseline, instances } = await prepared(production);
    const at = Date.parse('2027-01-30T22:17:00Z');
    const never = violations(production, schedules, instances, 'dc01', at, Infinity, baseline);
    // logistics-dc02 (Lisbon): the 31st's and the 1st's backups (both dc01) fail
    expect(never.exposures.find((e) => e.instance === 'logistics-dc02')).toMatchObject({
      from: '2027-01-30',
      to: '2027-02-02',
      lost: [
        { localDate: '2027-01-31', why: 'not taken' },
        { localDate: '2027-02-01', why: 'not taken' },
      ],
    });
    const acted = violations(production, schedules, instances, 'dc01', at, DC_LOSS_ACTION_HOURS * HOUR, baseline);
    expect([...acted.problems, ...acted.exposures]).toEqual([]);
  });

  it('counts what X held as gone: losing DC 1 on the 1st takes the 31st and the 1st already stored there', async () => {
    const production = environments[1]!;
    const { schedules, baseline, instances } = await prepared(production);
    // Monday 1 Feb 2027, 12:17 UTC: both backups are taken and stored in dc01.
    const v = violations(production, schedules, instances, 'dc01', Date.parse('2027-02-01T12:17:00Z'), DC_LOSS_ACTION_HOURS * HOUR, baseline);
    expect(v.problems).toEqual([]);
    expect(v.exposures.find((e) => e.instance === 'logistics-dc02')).toMatchObject({
      from: '2027-01-30',
      to: '2027-02-02',
      cause: 'month end',
      lost: [
        { localDate: '2027-01-31', why: 'stored in X' },
        { localDate: '2027-02-01', why: 'stored in X' },
      ],
    });
    // The days after the 1st are in other DCs: 10 days later, nothing of it is missing any more.
    const later = violations(production, schedules, instances, 'dc01', Date.parse('2027-02-05T12:17:00Z'), DC_LOSS_ACTION_HOURS * HOUR, baseline);
    expect(later.exposures.filter((e) => e.cause !== 'chain')).toEqual([]);
    expect(later.history.get('logistics-dc02')).toBe(3); // 30 Jan → 2 Feb: restore points lost with dc01
  });

  it("catches a takeover gap: without the daily instances' -full-now, losing the primary's DC after its own day costs two backups", async () => {
    const production = environments[1]!;
    const broken = await prepared(production, (emitted) =>
      emitted.filter(
        (e) =>
          !(
            e.type === 'object' &&
            e.object.kind === 'Schedule' &&
            e.object.metadata.name.startsWith('social-network') &&
            e.object.metadata.labels?.[L.onDemand]
          ),
      ),
    );
    // 11 Feb: social-network's backup is stored in dc01, its primary's DC, lost that afternoon; the
    // standby's 12th runs before the procedure unpauses it.
    const at = Date.parse('2027-02-11T12:17:00Z');
    const v = violations(production, broken.schedules, broken.instances, 'dc01', at, DC_LOSS_ACTION_HOURS * HOUR, broken.baseline);
    expect(v.exposures.filter((e) => e.instance === 'social-network').map((e) => [e.from, e.to, e.cause])).toEqual([['2027-02-10', '2027-02-13', 'other']]);
    const fixed = await prepared(production);
    const w = violations(production, fixed.schedules, fixed.instances, 'dc01', at, DC_LOSS_ACTION_HOURS * HOUR, fixed.baseline);
    expect(w.exposures.filter((e) => e.instance === 'social-network')).toEqual([]);
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
      .flatMap((at) => violations(staging, broken.schedules, broken.instances, 'stg01', at, DC_LOSS_ACTION_HOURS * HOUR, broken.baseline).problems);
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
    expect(v.problems.some((x) => x.startsWith('warehouse-dc01') && x.includes('not restorable'))).toBe(true);
  });
});
