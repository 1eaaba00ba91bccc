/**
 * Velero: backup storage locations and Schedules that implement each service's backup
 * policy exactly, restore drills on the test stand, and the backup calendar in
 * `topoforge plan`. See README.md for the rules and why they are expressed this way.
 */
import { definePlugin, Type, type KubeObject } from '@topoforge/plugin-sdk';
import type { BackupPolicy, DataCenter, Environment, Service } from '@topoforge/model';
import { CronParseError, goDate, civil, isGoLocation, parse } from '@topoforge/robfig-cron';
import { backupCalendar, formatCalendar } from './calendar.js';
import { fixedCommand, weekdayCommand, type BackupType } from './hooks.js';
import { ANNOTATION_FULL_WEEKDAYS, ANNOTATION_RULE, LABEL_BACKUP_DC, LABEL_BACKUP_TYPE } from './names.js';
import { cronDays, dailySlots, everyNDaysSlots, type Slot } from './rotation.js';
import { drillObjects } from './drill.js';

export { backupCalendar, formatCalendar, type CalendarEntry } from './calendar.js';
export { dailySlots, everyNDaysSlots } from './rotation.js';
export { readHookCommand, typeOfInvocation, type HookRule } from './hooks.js';

const Options = Type.Object(
  {
    namespace: Type.String({ default: 'velero', description: 'namespace Velero runs in' }),
    databaseSelector: Type.Record(Type.String(), Type.String(), { default: { 'topoforge.io/role': 'database' }, description: 'labels of the database pod the backup hook runs in' }),
    databaseContainer: Type.String({ default: 'database', description: 'container of the database pod that has the backup tool' }),
    planFrom: Type.String({ default: '', pattern: '^(\\d{4}-\\d{2}-\\d{2})?$', description: 'first day (YYYY-MM-DD) of the plan\'s backup calendar; `topoforge plan --from` wins; empty = today' }),
    restoreDrill: Type.Object(
      {
        fromEnvironment: Type.String({ default: '', description: 'environment whose latest backups the drills restore (set in staging)' }),
        schedule: Type.String({ default: 'CRON_TZ=UTC 0 6 * * 1', description: 'when drills run' }),
        image: Type.String({ default: 'bitnami/kubectl:1.32', description: 'image with kubectl for the drill job' }),
        credentialSecret: Type.String({
          default: 'velero-{environment}-{dc}-read-only',
          description: 'Secret (in Velero\'s namespace) with READ-ONLY credentials for the source environment\'s storage of DC {dc}; the key is the source DC\'s credential key',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

/** The DC whose cluster takes a service's backups: its first DC in rotation order. */
export function sourceDc(env: Environment, service: Service): DataCenter | undefined {
  return env.dataCenters.find((d) => d.name === service.dataCenters[0]);
}

/**
 * Problems of a wall-clock time in a zone that would change the calendar: a window start
 * that DST skips (robfig then takes no backup that day) or repeats (robfig takes two).
 * Checked over a fixed span of years so that the render stays deterministic.
 */
export function dstProblems(timeZone: string, hh: number, mm: number, fromYear = 2026, toYear = 2040): string[] {
  const out: string[] = [];
  for (let day = Date.UTC(fromYear, 0, 1); day < Date.UTC(toYear + 1, 0, 1); day += 86_400_000) {
    const d = new Date(day);
    const [y, mo, dd] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    const at = goDate(timeZone, y, mo, dd, hh, mm, 0);
    const c = civil(timeZone, at);
    const date = `${y}-${String(mo).padStart(2, '0')}-${String(dd).padStart(2, '0')}`;
    if (c.hour !== hh || c.minute !== mm) out.push(`${date}: skipped by DST`);
    else {
      // The same wall time an hour (or half an hour) earlier or later in absolute time means it repeats.
      for (const delta of [-3_600_000, -1_800_000, 1_800_000, 3_600_000]) {
        const o = civil(timeZone, at + delta);
        if (o.year === y && o.month === mo && o.day === dd && o.hour === hh && o.minute === mm) {
          out.push(`${date}: repeated by DST`);
          break;
        }
      }
    }
  }
  return out;
}

export function ttlOf(policy: BackupPolicy): string {
  return `${policy.retentionDays * 24}h0m0s`;
}

interface PlannedSchedule {
  readonly slot: Slot;
  readonly type: BackupType | 'weekday-rule';
}

function plan(policy: BackupPolicy, dcCount: number): PlannedSchedule[] | string {
  if (policy.full.everyDays !== undefined) {
    if (policy.differential) return 'a differential between fulls every N days is not supported; use weekday fulls with a daily differential';
    const slots = policy.full.everyDays === 1 ? dailySlots(dcCount) : everyNDaysSlots(dcCount, policy.full.everyDays);
    return slots.map((slot) => ({ slot, type: 'full' }));
  }
  if (!policy.differential) return 'fulls on weekdays without a daily differential cannot rotate across DCs by day of month in cron (day-of-month and day-of-week would be ORed)';
  return dailySlots(dcCount).map((slot) => ({ slot, type: 'weekday-rule' }));
}

function minutesBetween(a: string, b: string): number {
  const m = (x: string) => Number(x.slice(0, 2)) * 60 + Number(x.slice(3, 5));
  return m(b) - m(a);
}

export default definePlugin({
  name: 'velero',
  description: 'Velero backup storage locations, Schedules per backup policy, restore drills and the backup calendar.',
  options: Options,
  render(ctx) {
    const env = ctx.env;
    const o = ctx.options;
    const withBackups = env.services.filter((s) => s.policies.backup);
    for (const s of withBackups) {
      if (!s.database) ctx.error(`service ${s.name} has a backup policy but no database`, { field: `services.${s.name}.policies.backup`, hint: 'add database: {engine, name} or remove the backup policy' });
    }
    const sources = new Map<string, Service[]>();
    for (const s of withBackups.filter((x) => x.database)) {
      const dc = sourceDc(env, s);
      if (!dc) {
        ctx.error(`service ${s.name} has a backup policy but runs in no data centre`, { field: `services.${s.name}.placement`, hint: 'place the service in at least one DC; its first DC in rotation order takes the backups' });
        continue;
      }
      sources.set(dc.name, [...(sources.get(dc.name) ?? []), s]);
    }
    if (env.dataCenters.length === 0) ctx.error('the backup rotation is empty: no data centres', { field: 'dataCenters', hint: 'add at least one DC with a rotation position and backupStorage' });
    // CRON_TZ must load in Velero (Go's time.LoadLocation) and the window start must exist
    // exactly once every day in the zone, or robfig skips or doubles that day's backup.
    const checked = new Set<string>();
    for (const [source, services] of sources) {
      const dc = env.dataCenters.find((d) => d.name === source)!;
      if (!isGoLocation(dc.timeZone)) ctx.error(`time zone "${dc.timeZone}" of region ${dc.region} is unknown to Velero's CRON_TZ (Go time.LoadLocation)`, { field: `regions.${dc.region}.timeZone`, hint: 'use an exact IANA name such as Europe/Lisbon' });
      for (const s of services) {
        const policy = s.policies.backup!;
        const key = `${dc.timeZone}|${policy.window.start}`;
        if (checked.has(key) || !isGoLocation(dc.timeZone)) continue;
        checked.add(key);
        const [hh, mm] = policy.window.start.split(':').map(Number) as [number, number];
        const problems = dstProblems(dc.timeZone, hh, mm);
        if (problems.length) {
          ctx.error(`backup window start ${policy.window.start} of policy ${policy.name} does not occur exactly once a day in ${dc.timeZone} (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}): Velero would skip or double those backups`, {
            field: `policies.backup.${policy.name}.window.start`,
            hint: 'start the window at a time DST does not touch in this zone',
          });
        }
      }
    }
    // One BackupStorageLocation per DC's object storage, in every cluster that takes backups;
    // the cluster's own storage is the default for ad-hoc `velero backup create`.
    for (const source of sources.keys()) {
      for (const dc of env.dataCenters) {
        ctx.object({ dc: source }, bsl(dc, dc.name, o.namespace, 'ReadWrite', dc.backupStorage.credentialSecret, dc.name === source));
      }
    }
    for (const [source, services] of sources) {
      const src = env.dataCenters.find((d) => d.name === source)!;
      for (const s of services) {
        const policy = s.policies.backup!;
        const planned = plan(policy, env.dataCenters.length);
        if (typeof planned === 'string') {
          ctx.error(`backup policy ${policy.name}: ${planned}`, { field: `policies.backup.${policy.name}` });
          continue;
        }
        const windowMinutes = minutesBetween(policy.window.start, policy.window.end);
        const [hh, mm] = policy.window.start.split(':').map(Number) as [number, number];
        for (const { slot, type } of planned) {
          if (slot.days.length === 0) continue; // more DCs than backup days in a month
          const target = env.dataCenters[slot.position - 1]!;
          const command = type === 'weekday-rule' ? weekdayCommand(s, policy.full.weekdays!, src.timeZone) : fixedCommand(s, type);
          if (!command) {
            ctx.error(`service ${s.name}: ${s.database!.engine} has no differential backup`, { field: `services.${s.name}.policies.backup`, hint: 'use a full-only backup policy for this engine' });
            continue;
          }
          const templateLabels: Record<string, string> = {
            'topoforge.io/service': s.name,
            'topoforge.io/environment': env.name,
            [LABEL_BACKUP_DC]: target.name,
            ...(type !== 'weekday-rule' ? { [LABEL_BACKUP_TYPE]: type } : {}),
          };
          const rule =
            type === 'weekday-rule'
              ? `full on ${policy.full.weekdays!.join(' and ')}, differential on other days (local weekday in ${src.timeZone}); kept ${policy.retentionDays} days`
              : `${type} ${policy.full.everyDays === 1 ? 'every day' : `every ${policy.full.everyDays} days`}; kept ${policy.retentionDays} days`;
          const schedule: KubeObject = {
            apiVersion: 'velero.io/v1',
            kind: 'Schedule',
            metadata: {
              name: `${s.name}-${target.name}`,
              namespace: o.namespace,
              labels: { ...(type !== 'weekday-rule' ? { [LABEL_BACKUP_TYPE]: type } : {}), [LABEL_BACKUP_DC]: target.name },
              annotations: {
                [ANNOTATION_RULE]: `${rule}; this schedule covers days ${cronDays(slot.days)} of each month, stored in ${target.name}`,
                ...(type === 'weekday-rule' ? { [ANNOTATION_FULL_WEEKDAYS]: policy.full.weekdays!.join(',') } : {}),
              },
            },
            spec: {
              schedule: `CRON_TZ=${src.timeZone} ${mm} ${hh} ${cronDays(slot.days)} * *`,
              useOwnerReferencesInBackup: false,
              template: {
                // Backups keep these labels: GitOps tools that prune by label must not see them as orphans.
                metadata: { labels: templateLabels },
                includedNamespaces: [s.namespace],
                storageLocation: target.name,
                ttl: ttlOf(policy),
                defaultVolumesToFsBackup: true,
                hooks: {
                  resources: [
                    {
                      name: `${s.database!.engine}-${type === 'weekday-rule' ? 'by-weekday' : type}`,
                      includedNamespaces: [s.namespace],
                      labelSelector: { matchLabels: { ...o.databaseSelector } },
                      pre: [{ exec: { container: o.databaseContainer, command, onError: 'Fail', timeout: `${Math.max(1, windowMinutes)}m` } }],
                    },
                  ],
                },
              },
            },
          };
          try {
            parse((schedule.spec as { schedule: string }).schedule);
          } catch (e) {
            if (!(e instanceof CronParseError)) throw e;
            ctx.error(`Schedule ${schedule.metadata.name}: robfig/cron rejects "${(schedule.spec as { schedule: string }).schedule}": ${e.message}`, { field: `policies.backup.${policy.name}` });
            continue;
          }
          ctx.object({ dc: source }, schedule, { service: s.name });
        }
      }
    }
    if (o.restoreDrill.fromEnvironment) {
      if (env.stage !== 'staging') {
        ctx.error('restore drills run on the test stand only', { field: `plugins.velero.options.restoreDrill.fromEnvironment`, hint: 'set restoreDrill in the staging environment' });
        return;
      }
      const from = ctx.environment(o.restoreDrill.fromEnvironment);
      if (!from) {
        ctx.error(`restore drill source environment "${o.restoreDrill.fromEnvironment}" does not exist`, { field: 'plugins.velero.options.restoreDrill.fromEnvironment' });
        return;
      }
      const drillDc = env.dataCenters[0]!;
      // Staging reads production's storage with its OWN read-only credentials: production's
      // write credentials never reach the test stand.
      for (const dc of from.dataCenters) {
        const credential = { name: o.restoreDrill.credentialSecret.replaceAll('{environment}', from.name).replaceAll('{dc}', dc.name), key: dc.backupStorage.credentialSecret?.key ?? 'cloud' };
        ctx.object({ dc: drillDc.name }, bsl(dc, `${from.name}-${dc.name}`, o.namespace, 'ReadOnly', credential, false));
      }
      for (const { object, service } of drillObjects(from, o.namespace, o.restoreDrill, o.databaseSelector, o.databaseContainer)) {
        ctx.object({ dc: drillDc.name }, object, service ? { service } : {});
      }
    }
  },
  plan(ctx) {
    const { fromMs, toMs } = calendarRange(ctx.args, ctx.options.planFrom, new Date());
    // Activations are listed by LOCAL date of the source DC; simulate a day more on each side
    // and keep the local dates inside the range.
    const first = new Date(fromMs).toISOString().slice(0, 10);
    const last = new Date(toMs - 1).toISOString().slice(0, 10);
    const rows = backupCalendar(ctx.emitted(), fromMs - 86_400_000, toMs + 86_400_000).filter((r) => r.date >= first && r.date <= last);
    return [{ title: `Backup calendar ${first} – ${last} (simulated from the emitted Schedules)`, body: rows.length ? formatCalendar(rows) : 'no backups scheduled' }];
  },
});

/**
 * The plan's range: `month` (YYYY-MM) = that month; else 31 days from `from` (YYYY-MM-DD),
 * else from the `planFrom` option, else from `today` (UTC date). The plan is not rendered
 * output, so reading the clock here does not make renders nondeterministic.
 */
export function calendarRange(args: Readonly<Record<string, string>>, planFrom: string, today: Date): { fromMs: number; toMs: number } {
  if (args.month !== undefined) {
    const m = /^(\d{4})-(\d{2})$/.exec(args.month);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new Error(`--month must be YYYY-MM (e.g. 2027-02), got "${args.month}"`);
    return { fromMs: Date.UTC(Number(m[1]), Number(m[2]) - 1, 1), toMs: Date.UTC(Number(m[1]), Number(m[2]), 1) };
  }
  const from = args.from ?? (planFrom || undefined);
  let fromMs: number;
  if (from !== undefined) {
    const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(from);
    fromMs = d ? Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3])) : NaN;
    if (!d || new Date(fromMs).toISOString().slice(0, 10) !== from) throw new Error(`--from (or the velero option planFrom) must be a date YYYY-MM-DD, got "${from}"`);
  } else fromMs = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return { fromMs, toMs: fromMs + 31 * 86_400_000 };
}

function bsl(dc: DataCenter, name: string, namespace: string, accessMode: 'ReadWrite' | 'ReadOnly', credential: { name: string; key: string } | undefined, isDefault: boolean): KubeObject {
  const st = dc.backupStorage;
  return {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name, namespace, labels: { [LABEL_BACKUP_DC]: dc.name } },
    spec: {
      provider: st.provider,
      accessMode,
      ...(isDefault ? { default: true } : {}),
      objectStorage: { bucket: st.bucket, ...(st.prefix ? { prefix: st.prefix } : {}) },
      ...(Object.keys(st.config).length ? { config: { ...st.config } } : {}),
      // A reference to the credential Secret; its value never appears in the output.
      ...(credential ? { credential: { name: credential.name, key: credential.key } } : {}),
    },
  };
}
