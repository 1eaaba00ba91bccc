/**
 * Velero: backup storage locations and Schedules that implement each service's backup
 * policy exactly, restore drills on the test stand, and the backup calendar in
 * `topoforge plan`. See README.md for the rules and why they are expressed this way.
 */
import { definePlugin, Type, type KubeObject } from '@topoforge/plugin-sdk';
import type { BackupPolicy, DataCenter, Environment, Service } from '@topoforge/model';
import { backupCalendar, formatCalendar } from './calendar.js';
import { fixedCommand, weekdayCommand, type BackupType } from './hooks.js';
import { ANNOTATION_FULL_WEEKDAYS, ANNOTATION_RULE, LABEL_BACKUP_DC, LABEL_BACKUP_TYPE } from './names.js';
import { cronDays, dailySlots, everyNDaysSlots, type Slot } from './rotation.js';
import { drillObjects } from './drill.js';

export { backupCalendar, formatCalendar, type CalendarEntry } from './calendar.js';
export { dailySlots, everyNDaysSlots } from './rotation.js';

const Options = Type.Object(
  {
    namespace: Type.String({ default: 'velero', description: 'namespace Velero runs in' }),
    databaseSelector: Type.Record(Type.String(), Type.String(), { default: { 'topoforge.io/role': 'database' }, description: 'labels of the database pod the backup hook runs in' }),
    databaseContainer: Type.String({ default: 'database', description: 'container of the database pod that has the backup tool' }),
    restoreDrill: Type.Object(
      {
        fromEnvironment: Type.String({ default: '', description: 'environment whose latest backups the drills restore (set in staging)' }),
        schedule: Type.String({ default: 'CRON_TZ=UTC 0 6 * * 1', description: 'when drills run' }),
        image: Type.String({ default: 'bitnami/kubectl:1.32', description: 'image with kubectl for the drill job' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

/** The DC whose cluster takes a service's backups: its first DC in rotation order. */
export function sourceDc(env: Environment, service: Service): DataCenter {
  return env.dataCenters.find((d) => d.name === service.dataCenters[0])!;
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
      sources.set(dc.name, [...(sources.get(dc.name) ?? []), s]);
    }
    // One BackupStorageLocation per DC's object storage, in every cluster that takes backups.
    for (const source of sources.keys()) {
      for (const dc of env.dataCenters) {
        ctx.object({ dc: source }, bsl(dc, dc.name, o.namespace, 'ReadWrite'));
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
      for (const dc of from.dataCenters) ctx.object({ dc: drillDc.name }, bsl(dc, `${from.name}-${dc.name}`, o.namespace, 'ReadOnly'));
      for (const { object, service } of drillObjects(from, o.namespace, o.restoreDrill, o.databaseSelector, o.databaseContainer)) {
        ctx.object({ dc: drillDc.name }, object, service ? { service } : {});
      }
    }
  },
  plan(ctx) {
    const fromMs = ctx.args.month ? Date.parse(`${ctx.args.month}-01T00:00:00Z`) : ctx.args.from ? Date.parse(`${ctx.args.from}T00:00:00Z`) : Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    let toMs = fromMs + 31 * 86_400_000;
    if (ctx.args.month) {
      const d = new Date(fromMs);
      toMs = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
    // Fires are grouped by local date; widen by a day each side and keep the local dates inside.
    const first = new Date(fromMs).toISOString().slice(0, 10);
    const last = new Date(toMs - 1).toISOString().slice(0, 10);
    const rows = backupCalendar(ctx.emitted(), fromMs - 86_400_000, toMs + 86_400_000).filter((r) => r.date >= first && r.date <= last);
    return [{ title: `Backup calendar ${first} – ${last} (simulated from the emitted Schedules)`, body: rows.length ? formatCalendar(rows) : 'no backups scheduled' }];
  },
});

function bsl(dc: DataCenter, name: string, namespace: string, accessMode: 'ReadWrite' | 'ReadOnly'): KubeObject {
  const st = dc.backupStorage;
  return {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name, namespace, labels: { [LABEL_BACKUP_DC]: dc.name } },
    spec: {
      provider: st.provider,
      accessMode,
      objectStorage: { bucket: st.bucket, ...(st.prefix ? { prefix: st.prefix } : {}) },
      ...(Object.keys(st.config).length ? { config: { ...st.config } } : {}),
      // A reference to the credential Secret; its value never appears in the output.
      ...(st.credentialSecret ? { credential: { name: st.credentialSecret.name, key: st.credentialSecret.key } } : {}),
    },
  };
}
