/**
 * Which cluster backs up which database instance, and the Schedules that do it.
 *
 * - A per-DC instance is backed up by the cluster of its own DC (nowhere else holds its
 *   data). Losing that DC loses the instance; no other instance's backups depend on it.
 * - A replicated database is backed up by the cluster of its primary DC. Its standby DC
 *   (the first replica DC in another region, else the first replica DC) carries the same
 *   Schedules PAUSED, labelled `standby-for=<primary DC>`, with the primary DC's own
 *   rotation days already redirected to the fallback storage (that DC is gone when they run).
 * - Each Schedule runs in the zone of the DC where it runs, stores in the DC the
 *   day-of-month rotation names, and ships only the set its hook just took.
 * - Losing a STORAGE DC: every rotation slot of a running instance has a PAUSED fallback
 *   twin (same days, same hook) storing in the next DC in rotation order, labelled
 *   `fallback-for=<storage DC>`. Every instance (and standby) also gets a paused
 *   `-full-now` template for one out-of-cycle full: the differentials after the loss must
 *   not depend on a full that was stored in the lost DC, and the backups already stored
 *   there (the primary's own rotation days; the 31st and the 1st in DC 1) are gone. `dcLossProcedure` says what the
 *   orchestrator runs, `dcRecoveryProcedure` how it is undone once the DC is back; the
 *   calendar test simulates both, test/dc-loss-sandbox.test.ts runs them on a real API server.
 */
import type { DatabaseInstance, DataCenter, Environment, Service } from '@topoforge/model';
import { backupPolicyOf, maxWeekdayGap, type BackupPolicy } from './policy.js';
import { LABEL_ENVIRONMENT, LABEL_SERVICE, type KubeObject } from '@topoforge/plugin-sdk';
import { hookCommand, inIsoOrder, type BackupType, type HookMode, type HookPaths } from './hooks.js';
import {
  ANNOTATION_FULL_WEEKDAYS,
  ANNOTATION_ON_DC_LOSS,
  ANNOTATION_RULE,
  LABEL_BACKUP_DC,
  LABEL_BACKUP_TYPE,
  LABEL_FALLBACK_FOR,
  LABEL_INSTANCE,
  LABEL_ON_DEMAND,
  LABEL_SOURCE_DC,
  LABEL_STANDBY,
  LABEL_STANDBY_FOR,
} from './names.js';
import { cronDays, dailySlots, everyNDaysSlots, type Slot } from './rotation.js';

export interface Runner {
  readonly service: Service;
  readonly instance: DatabaseInstance;
  /** The DC whose cluster runs the Schedules. */
  readonly dc: DataCenter;
  readonly standby: boolean;
}

/** The DC that takes over a replicated database's backups when its primary DC is lost. */
export function standbyDc(env: Environment, instance: DatabaseInstance): string | undefined {
  const primaryRegion = env.dataCenters.find((d) => d.name === instance.primary)?.region;
  return instance.replicas.find((r) => env.dataCenters.find((d) => d.name === r)?.region !== primaryRegion) ?? instance.replicas[0];
}

/**
 * Where the days of a lost storage DC go: the next DC in rotation order (the last wraps to
 * the first). With one DC lost it always survives; undefined with a single DC.
 */
export function fallbackDc(env: Environment, storage: string): DataCenter | undefined {
  const order = [...env.dataCenters].sort((a, b) => a.rotation - b.rotation);
  if (order.length < 2) return undefined;
  const i = order.findIndex((d) => d.name === storage);
  return i < 0 ? undefined : order[(i + 1) % order.length];
}

/** Highest wait, after a DC is lost, before `dcLossProcedure` has run (README; the calendar test simulates it). */
export const DC_LOSS_ACTION_HOURS = 12;

/**
 * What the failover orchestrator (or the operator) runs in EVERY surviving cluster, within
 * DC_LOSS_ACTION_HOURS of losing `lost`. Unpausing with --skip-immediately: a never-run
 * Schedule would otherwise back up at once (Velero runs a Schedule whose next time after
 * its last backup, or its creation, has passed).
 */
export function dcLossProcedure(lost: string, namespace = 'velero'): string[] {
  const v = `velero -n ${namespace}`;
  return [
    `${v} schedule pause -l ${LABEL_BACKUP_DC}=${lost}`,
    `${v} schedule unpause -l ${LABEL_FALLBACK_FOR}=${lost} --skip-immediately=true`,
    // not the standby's -full-now template (labelled standby-for too): it is only ever a template
    `${v} schedule unpause -l '${LABEL_STANDBY_FOR}=${lost},!${LABEL_ON_DEMAND}' --skip-immediately=true`,
    `for s in $(kubectl -n ${namespace} get schedules.velero.io -l '${LABEL_ON_DEMAND}=full,!${LABEL_STANDBY_FOR}' -o name) $(kubectl -n ${namespace} get schedules.velero.io -l '${LABEL_ON_DEMAND}=full,${LABEL_STANDBY_FOR}=${lost}' -o name); do ${v} backup create "\${s#*/}-after-${lost}-lost" --from-schedule "\${s#*/}"; done`,
  ];
}

/**
 * The reverse of dcLossProcedure, run in every cluster that ran it once `lost` is back: its
 * BackupStorageLocation is `Available` again here, and the replicated databases whose
 * primary was in it have failed back there (if a primary stays where it was promoted, move
 * `database.primary` in the model and re-render instead of re-pausing that standby).
 *
 * 1. resume the Schedules that store in it and are not paused in Git (the loss procedure
 *    paused every Schedule labelled backup-dc=<lost>; fallbacks, standbys and -full-now
 *    templates storing there were paused before and stay so), with --skip-immediately: each
 *    ran before the loss, so its next time after its last Backup has passed and Velero
 *    would back up at once;
 * 2. pause its fallbacks again, then its standbys.
 * Resuming first: a day between the two steps gets two Backups rather than none. Afterwards
 * every Schedule's `spec.paused` is what Git says (the GitOps exception on /spec/paused can go).
 * The `-after-<lost>-lost` Backups stay until their ttl.
 */
export function dcRecoveryProcedure(lost: string, namespace = 'velero'): string[] {
  const v = `velero -n ${namespace}`;
  return [
    `${v} schedule unpause -l '${LABEL_BACKUP_DC}=${lost},!${LABEL_FALLBACK_FOR},!${LABEL_STANDBY_FOR},!${LABEL_ON_DEMAND}' --skip-immediately=true`,
    `${v} schedule pause -l ${LABEL_FALLBACK_FOR}=${lost}`,
    `${v} schedule pause -l ${LABEL_STANDBY_FOR}=${lost}`,
  ];
}

/** Every (instance, cluster) pair that carries an instance's Schedules, in a stable order. */
export function runners(env: Environment): Runner[] {
  const out: Runner[] = [];
  for (const service of env.services) {
    if (!backupPolicyOf(service) || !service.database) continue;
    for (const instance of service.database.instances) {
      const dc = env.dataCenters.find((d) => d.name === instance.primary)!;
      out.push({ service, instance, dc, standby: false });
      const standby = service.database.topology === 'replicated' ? standbyDc(env, instance) : undefined;
      if (standby) out.push({ service, instance, dc: env.dataCenters.find((d) => d.name === standby)!, standby: true });
    }
  }
  return out;
}

export interface PlannedSchedule {
  readonly slot: Slot;
  readonly mode: HookMode;
  /** What the Schedule's Backups hold; a weekday pair has one of each. */
  readonly type: BackupType;
}

/** The Schedules a policy needs per rotation slot, or why it cannot be expressed. */
export function plan(policy: BackupPolicy, dcCount: number): PlannedSchedule[] | string {
  if (policy.full.everyDays !== undefined) {
    if (policy.differential) return 'a differential between fulls every N days is not supported; use weekday fulls with a daily differential';
    const slots = policy.full.everyDays === 1 ? dailySlots(dcCount) : everyNDaysSlots(dcCount, policy.full.everyDays);
    return slots.map((slot) => ({ slot, mode: 'full', type: 'full' }));
  }
  if (!policy.differential)
    return 'fulls on weekdays without a daily differential cannot rotate across DCs by day of month in cron (day-of-month and day-of-week would be ORed)';
  return dailySlots(dcCount).flatMap((slot): PlannedSchedule[] => [
    { slot, mode: 'weekday-full', type: 'full' },
    { slot, mode: 'weekday-diff', type: 'differential' },
  ]);
}

/**
 * Retention per type. A differential needs its full: a full is kept as long as the last
 * differential taken on it, i.e. retention + (longest gap between fulls − 1) days, so no
 * kept differential ever outlives its full (Fri full, Mon differential: 14 + 3 days).
 */
export function ttlDays(policy: BackupPolicy, type: BackupType): number {
  if (type === 'differential' || !policy.differential || !policy.full.weekdays) return policy.retentionDays;
  return policy.retentionDays + maxWeekdayGap(policy.full.weekdays) - 1;
}

/**
 * The largest change of a zone's clock at a DST transition (Antarctica/Troll: 2 h; most zones
 * 1 h). Velero's ttl is absolute time, but the Schedules run at LOCAL midnight: when the clocks
 * go back between a full and a differential on it (Friday → Monday across the last Sunday of
 * October in Europe), the differential starts 73 h after the full, not 72 h, and a full kept
 * exactly 17 × 24 h expired an hour before the differential that needs it.
 */
export const DST_SHIFT_MAX_HOURS = 2;

/** Extra hours on a ttl beyond its days: only fulls that differentials build on need them. */
export const ttlExtraHours = (policy: BackupPolicy, type: BackupType): number =>
  type === 'full' && policy.differential && policy.full.weekdays ? DST_SHIFT_MAX_HOURS : 0;

export const goDuration = (days: number, extraHours = 0): string => `${days * 24 + extraHours}h0m0s`;

/** How often an instance gets a backup at most days apart (alerts use it). */
export function cadenceDays(policy: BackupPolicy): number {
  return policy.full.everyDays ?? 1;
}

export interface ScheduleInput {
  readonly env: Environment;
  readonly runner: Runner;
  readonly planned: PlannedSchedule;
  readonly target: DataCenter;
  readonly namespace: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly container: string;
  readonly paths: HookPaths;
  /** A paused fallback taking the days of this lost storage DC (the slot's own DC). */
  readonly fallbackFor?: DataCenter;
  /** The paused template of an out-of-cycle full (`-full-now`). */
  readonly onDemand?: boolean;
}

export const scheduleName = (instance: string, target: string, planned: PlannedSchedule, fallbackFor?: string): string =>
  `${instance}-${target}${fallbackFor ? `-for-${fallbackFor}` : ''}${planned.mode.startsWith('weekday-') ? `-${planned.type === 'full' ? 'full' : 'diff'}` : ''}`;

/** One Velero Schedule; undefined when the engine has no backup of that type. */
export function schedule(i: ScheduleInput): KubeObject | undefined {
  const { runner, planned, target } = i;
  const s = runner.service;
  const policy = backupPolicyOf(s)!;
  const zone = runner.dc.timeZone;
  const command = hookCommand(s, planned.mode, zone, policy.full.weekdays ?? [], i.paths);
  if (!command) return undefined;
  const [hh, mm] = policy.window.start.split(':').map(Number) as [number, number];
  const windowMinutes = minutesBetween(policy.window.start, policy.window.end);
  const weekday = planned.mode.startsWith('weekday-');
  const ttl = ttlDays(policy, planned.type);
  const extraHours = ttlExtraHours(policy, planned.type);
  const kept = `kept ${ttl} days${extraHours ? ` ${extraHours} h (the differentials on it may start up to ${extraHours} h later after a DST change)` : ''}`;
  const paused = runner.standby || i.fallbackFor !== undefined || i.onDemand === true;
  const labels: Record<string, string> = {
    [LABEL_INSTANCE]: runner.instance.name,
    [LABEL_BACKUP_TYPE]: planned.type,
    [LABEL_BACKUP_DC]: target.name,
    [LABEL_SOURCE_DC]: runner.dc.name,
    ...(runner.standby ? { [LABEL_STANDBY]: 'true', [LABEL_STANDBY_FOR]: runner.instance.primary } : {}),
    ...(i.fallbackFor ? { [LABEL_FALLBACK_FOR]: i.fallbackFor.name } : {}),
    ...(i.onDemand ? { [LABEL_ON_DEMAND]: 'full' } : {}),
  };
  const fullDays = inIsoOrder(policy.full.weekdays ?? []);
  const days = weekday
    ? `${planned.type === 'full' ? 'full' : 'differential'} on ${planned.type === 'full' ? fullDays.join(' and ') : `days other than ${fullDays.join(' and ')}`} (local weekday in ${zone}; on other days its Backup ships nothing)`
    : `${planned.type} ${policy.full.everyDays === 1 ? 'every day' : `every ${policy.full.everyDays} days`}`;
  const rule = i.onDemand
    ? `template of one out-of-cycle full after a DC loss (velero backup create --from-schedule); never unpause; ${kept}, stored in ${target.name}`
    : `${days}; ${kept}; days ${cronDays(planned.slot.days)} of each month, stored in ${target.name}${i.fallbackFor ? ` instead of ${i.fallbackFor.name}` : ''}`;
  // The procedure itself is in the README ("Losing a DC") and dcLossProcedure; the
  // annotation says which part of it concerns this Schedule.
  const role = !paused
    ? ''
    : i.onDemand
      ? `paused template, never unpause: after losing any DC X, velero backup create ${runner.instance.name}-full-now-after-X-lost --from-schedule ${runner.instance.name}-full-now${runner.standby ? ` (only when X is ${runner.instance.primary})` : ''}`
      : runner.standby
        ? `paused standby of ${runner.instance.primary}: after promoting the replica in ${runner.dc.name}, velero schedule unpause -l '${LABEL_STANDBY_FOR}=${runner.instance.primary},!${LABEL_ON_DEMAND}' --skip-immediately=true`
        : `paused fallback of storage ${i.fallbackFor!.name}: after losing it, velero schedule unpause -l ${LABEL_FALLBACK_FOR}=${i.fallbackFor!.name} --skip-immediately=true`;
  const cron = i.onDemand ? `CRON_TZ=${zone} ${mm} ${hh} 1 1 *` : `CRON_TZ=${zone} ${mm} ${hh} ${cronDays(planned.slot.days)} * *`;
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Schedule',
    metadata: {
      name: i.onDemand ? `${runner.instance.name}-full-now` : scheduleName(runner.instance.name, target.name, planned, i.fallbackFor?.name),
      namespace: i.namespace,
      labels,
      annotations: {
        [ANNOTATION_RULE]: rule,
        ...(weekday ? { [ANNOTATION_FULL_WEEKDAYS]: fullDays.join(',') } : {}),
        ...(paused ? { [ANNOTATION_ON_DC_LOSS]: `${role} (whole procedure: plugins/velero README, Losing a DC)` } : {}),
      },
    },
    spec: {
      schedule: cron,
      ...(paused ? { paused: true } : {}),
      useOwnerReferencesInBackup: false,
      template: {
        // Backups keep these labels: GitOps tools that prune by label must not see them as
        // orphans, and drills and alerts select by instance and type.
        metadata: { labels: { [LABEL_SERVICE]: s.name, [LABEL_ENVIRONMENT]: i.env.name, ...labels } },
        includedNamespaces: [s.namespace],
        storageLocation: target.name,
        ttl: goDuration(ttl, extraHours),
        // Only the outbox volume travels (the pod opts it in with
        // backup.velero.io/backup-volumes: backup-outbox); no volume snapshots of the data.
        defaultVolumesToFsBackup: false,
        snapshotVolumes: false,
        hooks: {
          resources: [
            {
              name: `${s.database!.engine}-${planned.mode}`,
              includedNamespaces: [s.namespace],
              labelSelector: { matchLabels: { ...i.selector } },
              pre: [{ exec: { container: i.container, command, onError: 'Fail', timeout: `${Math.max(1, windowMinutes)}m` } }],
            },
          ],
        },
      },
    },
  };
}

function minutesBetween(a: string, b: string): number {
  const m = (x: string) => Number(x.slice(0, 2)) * 60 + Number(x.slice(3, 5));
  return m(b) - m(a);
}

/** The BackupStorageLocation name, in a source cluster, of a storage DC. */
export const locationName = (storage: string): string => storage;

/**
 * Each cluster writes under its own prefix of every DC's bucket, with a key that is
 * scoped to that prefix (see README for the bucket policy and object lock).
 */
export function storagePrefix(dc: DataCenter, source: string): string {
  return `${dc.backupStorage.prefix ? `${dc.backupStorage.prefix.replace(/\/+$/, '')}/` : ''}from-${source}`;
}
