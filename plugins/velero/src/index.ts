/**
 * Velero: backup storage locations and Schedules that back up every database instance
 * by its service's policy from the cluster where it runs, alerts that watch them, restore
 * drills on the test stand, and the backup calendar in `topoforge plan`. See README.md
 * for the rules and why they are expressed this way.
 */
import {
  checkDerivedNames,
  checkNamespaceCollisions,
  definePlugin,
  KubernetesName,
  labelsIfAny,
  SelectorLabels,
  Type,
  type KubeObject,
  type RenderContext,
  type Static,
} from '@topoforge/plugin-sdk';
import type { DataCenter, Environment } from '@topoforge/model';
import { CronParseError, goDate, civil, offsetAt, parse } from '@topoforge/robfig-cron';
import { toYaml } from '@topoforge/yaml-emit';
import { prometheusRuleReview } from '@topoforge/review-prometheus';
import { backupCalendar, formatCalendar } from './calendar.js';
import { fallbackDc, locationName, plan, runners, schedule, storagePrefix } from './schedules.js';
import { backupAlertGroup, backupAlertTests, dcLossAlertGroup, dcLossAlertTests, stateMetricsConfig } from './alerts.js';
import { drillDeadlineMinutes, drillObjects, drillAlertGroup, drillAlertTests } from './drill.js';
import { formatTransfer, transferPerDay } from './transfer.js';
import { zoneProblem } from './zones.js';
import type { HookPaths } from './hooks.js';
import { LABEL_BACKUP_DC, LABEL_SOURCE_DC } from './names.js';
import { review } from './review.js';
import { backupNames, backupPolicyOf, checkBackup, policies } from './policy.js';

export { backupCalendar, formatCalendar, type CalendarEntry } from './calendar.js';
export { dailySlots, everyNDaysSlots } from './rotation.js';
export { BackupPolicySchema, backupPolicies, backupPolicyOf, maxWeekdayGap, WEEKDAYS, Weekday, type BackupPolicy, type BackupPolicyInput } from './policy.js';
export { locationRemoved, locationUnused, retentionReduced, review, scheduleRemoved } from './review.js';
export { hookCommand, readHookCommand, POSTGRESQL_SCRIPT, type HookRule } from './hooks.js';
export { DC_LOSS_ACTION_HOURS, dcLossProcedure, dcRecoveryProcedure, fallbackDc, runners, standbyDc, ttlDays, type Runner } from './schedules.js';
export { DATABASE_SCRIPT, DRILL_SCRIPT, drillDeadlineMinutes, drillLateHours, drillObjects, drillRestore, drillStart } from './drill.js';
export { DRILL_LEASE, LEASE_SCRIPT, LEASE_TIMING } from './lease.js';
export { transferPerDay } from './transfer.js';
export { zoneProblem } from './zones.js';

/**
 * Where each PostgreSQL operator marks the primary pod, and the container with the tools.
 * The hook must run on the primary only: a backup taken on a replica of a per-DC or
 * replicated database would need pgBackRest's backup-from-standby setup.
 */
export const OPERATORS = {
  'cloudnative-pg': { selector: { 'cnpg.io/instanceRole': 'primary' }, container: 'postgres' },
  zalando: { selector: { 'spilo-role': 'master' }, container: 'postgres' },
  crunchy: { selector: { 'postgres-operator.crunchydata.com/role': 'master' }, container: 'database' },
  custom: { selector: {}, container: 'database' },
} as const;

const Options = Type.Object(
  {
    namespace: KubernetesName('namespace Velero runs in', 'velero'),
    databaseOperator: Type.Union([Type.Literal('custom'), Type.Literal('cloudnative-pg'), Type.Literal('zalando'), Type.Literal('crunchy')], {
      default: 'custom',
      description: 'operator running the databases: selects its primary pod and container; custom uses databaseSelector and databaseContainer',
    }),
    databaseSelector: Type.Record(Type.String(), Type.String(), {
      default: { 'topoforge.io/role': 'database', 'topoforge.io/database-role': 'primary' },
      description: 'custom operator: labels of the PRIMARY database pod the backup hook runs in',
    }),
    databaseContainer: Type.String({ default: '', description: "container with the backup tool; empty = the operator's" }),
    repositoryPath: Type.String({ default: '/var/lib/pgbackrest', description: "the backup tool's working repository in the pod (not shipped)" }),
    outboxPath: Type.String({ default: '/backup-outbox', description: 'mount path of the backup-outbox volume, the only volume Velero ships' }),
    writerCredentialSecret: Type.String({
      default: 'velero-{storage}-writer-{source}',
      description:
        "Secret (in Velero's namespace) of the cluster of DC {source} for DC {storage}'s bucket, scoped to its prefix; the own DC uses the model's credentialSecret",
    }),
    planFrom: Type.String({
      default: '',
      pattern: '^(\\d{4}-\\d{2}-\\d{2})?$',
      description: "first day (YYYY-MM-DD) of the plan's backup calendar; `topoforge plan --from` wins; empty = today",
    }),
    alerts: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        slackHours: Type.Integer({ minimum: 1, maximum: 72, default: 6, description: 'grace after a backup is due before alerting' }),
        ruleLabels: SelectorLabels(
          'labels on every PrometheusRule for the Prometheus ruleSelector, e.g. { release: kube-prometheus-stack } (a default kube-prometheus-stack selects rules by its release label and ignores the others)',
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    restoreDrill: Type.Object(
      {
        fromEnvironment: Type.String({ default: '', description: 'environment whose latest backups the drills restore (set in staging)' }),
        weekday: Type.Union(
          ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'].map((d) => Type.Literal(d)),
          { default: 'monday' },
        ),
        start: Type.String({
          default: '06:00',
          pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
          description: 'start of the drill window; each drill starts at a minute of it chosen by its instance name alone',
        }),
        timeZone: Type.String({ default: 'UTC', description: 'zone of start (CronJob timeZone)' }),
        windowMinutes: Type.Integer({
          minimum: 1,
          maximum: 1440,
          default: 480,
          description: 'length of the drill window from start; the drill Lease runs one drill at a time whatever their start times',
        }),
        waitMinutes: Type.Integer({
          minimum: 0,
          maximum: 1440,
          default: 180,
          description: 'how long a drill waits for the drill Lease (another drill restoring) before it fails; part of the Job deadline and of RestoreDrillLate',
        }),
        image: Type.String({ default: 'docker.io/alpine/k8s:1.32.4', description: 'maintained image with sh, kubectl, tar and wget for the drill job' }),
        databaseImage: Type.String({
          default: 'docker.io/pgbackrest/pgbackrest:2.54-pg15',
          description: 'image of the fresh PostgreSQL instance the drill restores into: PostgreSQL (production major version) and pgBackRest',
        }),
        pushgateway: Type.String({
          default: 'http://pushgateway.monitoring.svc:9091',
          description: 'Prometheus Pushgateway the drill pushes its result and RTO to',
        }),
        restoreTimeoutMinutes: Type.Integer({ minimum: 5, maximum: 600, default: 60 }),
        credentialSecret: Type.String({
          default: 'velero-{environment}-{storage}-read-only',
          description: "Secret (in Velero's namespace) with READ-ONLY credentials for the source environment's storage of DC {storage}",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);
export type VeleroOptions = Static<typeof Options>;

/**
 * Problems of a wall-clock time in a zone that would change the calendar: a window start
 * that DST skips (robfig then takes no backup that day) or repeats (robfig takes two).
 * Checked over a fixed span of years so that the render stays deterministic.
 */
export function dstProblems(timeZone: string, hh: number, mm: number, fromYear = 2026, toYear = 2040): string[] {
  const key = `${timeZone}|${hh}|${mm}|${fromYear}|${toYear}`;
  let found = dstCache.get(key);
  if (!found) {
    found = dstScan(timeZone, hh, mm, fromYear, toYear, true);
    dstCache.set(key, found);
  }
  return [...found];
}
// Every environment and every policy with the same window asks again; the answer never changes.
const dstCache = new Map<string, readonly string[]>();

/**
 * `onlyNearTransitions`: a wall time on day D lies within [D-1 00:00, D+2 00:00) UTC for any
 * offset (±14 h), and so do the ±1 h probes. Where the zone's offset does not change in that span,
 * the local clock is a plain shift of UTC and the time occurs exactly once, so only days near an
 * offset change need the full check. Changes are found by comparing the offset a week apart (no
 * zone changes its offset and back within a week; Casablanca's Ramadan break lasts about a month).
 * That is ~50× fewer clock conversions: `render` of the bundled environments spent seconds here.
 * `false` checks every day (the reference the fast path is tested against).
 */
export function dstScan(timeZone: string, hh: number, mm: number, fromYear: number, toYear: number, onlyNearTransitions: boolean): string[] {
  const out: string[] = [];
  const DAY = 86_400_000;
  const WEEK = 7 * DAY;
  const [first, end] = [Date.UTC(fromYear, 0, 1), Date.UTC(toYear + 1, 0, 1)];
  const near = new Set<number>();
  if (onlyNearTransitions) {
    for (let w = first - WEEK; w < end + WEEK; w += WEEK) {
      if (offsetAt(timeZone, w) === offsetAt(timeZone, w + WEEK)) continue;
      for (let day = w - 2 * DAY; day <= w + WEEK + DAY; day += DAY) near.add(day);
    }
  }
  for (let day = first; day < end; day += DAY) {
    if (onlyNearTransitions && !near.has(day)) continue;
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

export default definePlugin({
  name: 'velero',
  description: 'Velero backup storage locations, Schedules per database instance, backup alerts, restore drills and the backup calendar.',
  options: Options,
  policies,
  check(ctx) {
    checkBackup(ctx);
    checkDerivedNames(ctx, backupNames(ctx.env, ctx.options));
    checkNamespaceCollisions(ctx, [{ namespace: ctx.options.namespace, option: 'plugins.velero.options.namespace', what: 'Velero' }]);
  },
  // Its own rules, and the shared PrometheusRule rules for its backup and drill alerts (traffic-alerts registers them too; diff runs them once).
  review: [...review, ...prometheusRuleReview],
  render(ctx) {
    const env = ctx.env;
    const o = ctx.options;
    const operator = OPERATORS[o.databaseOperator];
    const selector = o.databaseOperator === 'custom' ? o.databaseSelector : operator.selector;
    const container = o.databaseContainer || operator.container;
    const paths = { repository: o.repositoryPath, outbox: o.outboxPath };
    for (const s of env.services.filter((x) => backupPolicyOf(x))) {
      if (!s.database)
        ctx.error(`service ${s.name} has a backup policy but no database`, {
          field: `services.${s.name}.policies.backup`,
          hint: 'add database: {engine, name} or remove the backup policy',
        });
      else if (s.database.instances.length === 0)
        ctx.error(`service ${s.name} has a backup policy but runs in no data centre`, {
          field: `services.${s.name}.placement`,
          hint: 'place the service in at least one DC',
        });
    }
    if (env.dataCenters.length === 0)
      ctx.error('the backup rotation is empty: no data centres', {
        field: 'dataCenters',
        hint: 'add at least one DC with a rotation position and backupStorage',
      });
    const all = runners(env);
    // CRON_TZ must load in Velero (Go's time.LoadLocation) and the window start must exist
    // exactly once every day in the zone, or robfig skips or doubles that day's backup.
    const checked = new Set<string>();
    const badZones = new Set<string>();
    for (const r of all) {
      const dc = r.dc;
      const problem = zoneProblem(dc.timeZone);
      if (problem) {
        if (!badZones.has(dc.region))
          ctx.error(`VELERO_TIME_ZONE: ${problem}; region ${dc.region} (DC ${dc.name}) backs up ${r.instance.name}`, {
            field: `regions.${dc.region}.timeZone`,
            hint: 'use an exact IANA name such as Europe/Lisbon, America/Chicago, Asia/Kolkata or Asia/Tokyo',
          });
        badZones.add(dc.region);
        continue;
      }
      const policy = backupPolicyOf(r.service)!;
      const key = `${dc.timeZone}|${policy.window.start}`;
      if (checked.has(key)) continue;
      checked.add(key);
      const [hh, mm] = policy.window.start.split(':').map(Number) as [number, number];
      const problems = dstProblems(dc.timeZone, hh, mm);
      if (problems.length) {
        ctx.error(
          `backup window start ${policy.window.start} of policy ${policy.name} does not occur exactly once a day in ${dc.timeZone} (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}): Velero would skip or double those backups`,
          {
            field: `policies.backup.${policy.name}.window.start`,
            hint: 'start the window at a time DST does not touch in this zone',
          },
        );
      }
    }
    // One BackupStorageLocation per DC's object storage in every cluster that runs
    // Schedules, under that cluster's own prefix, with a key scoped to it.
    const sources = [...new Set(all.map((r) => r.dc.name))].sort((a, b) => rotationOf(env, a) - rotationOf(env, b));
    for (const source of sources) {
      for (const dc of env.dataCenters) {
        const own = dc.name === source;
        const key = dc.backupStorage.credentialSecret?.key ?? 'cloud';
        const credential =
          own && dc.backupStorage.credentialSecret
            ? dc.backupStorage.credentialSecret
            : { name: fill(o.writerCredentialSecret, { storage: dc.name, source, environment: env.name }), key };
        ctx.object({ dc: source }, bsl(dc, locationName(dc.name), o.namespace, 'ReadWrite', credential, own, storagePrefix(dc, source)));
      }
      ctx.object({ dc: source }, stateMetricsConfig(o.namespace));
      if (o.alerts.enabled && env.dataCenters.length > 1) {
        const group = dcLossAlertGroup(env, source, o.namespace);
        ctx.object(
          { dc: source },
          {
            apiVersion: 'monitoring.coreos.com/v1',
            kind: 'PrometheusRule',
            metadata: { name: 'velero-dc-loss', namespace: o.namespace, ...labelsIfAny(o.alerts.ruleLabels) },
            spec: { groups: [group] },
          },
        );
        const dir = `environment/velero/promtool/${source}`;
        ctx.file(`${dir}/dc-loss.rules.yaml`, toYaml({ groups: [group] }), { dc: source });
        ctx.file(`${dir}/dc-loss.test.yaml`, toYaml(dcLossAlertTests(env, source, o.namespace, group, 'dc-loss.rules.yaml')), { dc: source });
      }
    }
    const emittedSchedules = new Map<string, string[]>();
    for (const r of all) {
      const policy = backupPolicyOf(r.service)!;
      const planned = plan(policy, env.dataCenters.length);
      if (typeof planned === 'string') {
        ctx.error(`backup policy ${policy.name}: ${planned}`, { field: `policies.backup.${policy.name}` });
        continue;
      }
      // Per rotation slot: the Schedule storing in the slot's DC and its paused fallback
      // storing in the next DC in rotation, for when the slot's DC is lost. A standby runs
      // only once the primary's DC is lost, so its slot of that DC is the fallback only.
      const variants: { p: (typeof planned)[number]; target: DataCenter; fallbackFor?: DataCenter; onDemand?: boolean }[] = [];
      for (const p of planned) {
        if (p.slot.days.length === 0) continue; // more DCs than backup days in a month
        const slotDc = env.dataCenters[p.slot.position - 1]!;
        const fallback = fallbackDc(env, slotDc.name);
        const primarysOwn = r.standby && slotDc.name === r.instance.primary;
        if (!primarysOwn) variants.push({ p, target: slotDc });
        if (fallback && (!r.standby || primarysOwn)) variants.push({ p, target: fallback, fallbackFor: slotDc });
      }
      // The procedure takes one out-of-cycle full from this paused template, stored in the
      // runner's own DC: a differential after a DC loss must not build on a full stored there,
      // and a backup stored there (the 31st and the 1st in DC 1; the primary's own rotation
      // days) is gone with it, so every surviving instance gets a restorable backup at once
      // (a standby's only when X is its primary's DC, once it has taken over).
      const first = planned.find((p) => p.slot.days.length > 0);
      if (first) variants.push({ p: { slot: first.slot, mode: 'full', type: 'full' }, target: r.dc, onDemand: true });
      for (const { p, target, fallbackFor, onDemand } of variants) {
        const object = schedule({
          env,
          runner: r,
          planned: p,
          target,
          namespace: o.namespace,
          selector,
          container,
          paths,
          ...(fallbackFor ? { fallbackFor } : {}),
          ...(onDemand ? { onDemand } : {}),
        });
        if (!object) {
          ctx.error(`service ${r.service.name}: ${r.service.database!.engine} has no differential backup`, {
            field: `services.${r.service.name}.policies.backup`,
            hint: 'use a full-only backup policy for this engine',
          });
          break;
        }
        const cron = (object.spec as { schedule: string }).schedule;
        try {
          parse(cron);
        } catch (e) {
          if (!(e instanceof CronParseError)) throw e;
          ctx.error(`Schedule ${object.metadata.name}: robfig/cron rejects "${cron}": ${e.message}`, { field: `policies.backup.${policy.name}` });
          continue;
        }
        ctx.object({ dc: r.dc.name }, object, { service: r.service.name });
        // The instance's alerts watch its fallbacks too: after a loss they take its backups.
        if (!r.standby && !onDemand) emittedSchedules.set(r.instance.name, [...(emittedSchedules.get(r.instance.name) ?? []), object.metadata.name]);
      }
    }
    // Alerts per instance, in the cluster that backs it up. (A standby's paused Schedules
    // would alert all the time; after a takeover the rules follow with the model change
    // that moves the primary — see README.)
    if (o.alerts.enabled) {
      for (const r of all.filter((x) => !x.standby)) {
        const names = emittedSchedules.get(r.instance.name);
        if (!names) continue;
        const group = backupAlertGroup({ env, runner: r, schedules: names, slackHours: o.alerts.slackHours, namespace: o.namespace });
        ctx.object(
          { dc: r.dc.name },
          {
            apiVersion: 'monitoring.coreos.com/v1',
            kind: 'PrometheusRule',
            metadata: { name: `velero-backups-${r.instance.name}`, namespace: o.namespace, ...labelsIfAny(o.alerts.ruleLabels) },
            spec: { groups: [group] },
          },
          { service: r.service.name },
        );
        const dir = `environment/velero/promtool/${r.dc.name}`;
        ctx.file(`${dir}/${r.instance.name}.rules.yaml`, toYaml({ groups: [group] }), { dc: r.dc.name, service: r.service.name });
        ctx.file(
          `${dir}/${r.instance.name}.test.yaml`,
          toYaml(
            backupAlertTests(
              { env, runner: r, schedules: names, slackHours: o.alerts.slackHours, namespace: o.namespace },
              group,
              `${r.instance.name}.rules.yaml`,
            ),
          ),
          { dc: r.dc.name, service: r.service.name },
        );
      }
    }
    if (o.restoreDrill.fromEnvironment) renderDrills(ctx, env, o, selector, container, paths);
  },
  plan(ctx) {
    const { fromMs, toMs } = calendarRange(ctx.args, ctx.options.planFrom, new Date());
    // Activations are listed by LOCAL date of the source DC; simulate a day more on each side
    // and keep the local dates inside the range.
    const first = new Date(fromMs).toISOString().slice(0, 10);
    const last = new Date(toMs - 1).toISOString().slice(0, 10);
    const rows = backupCalendar(ctx.emitted(), fromMs - 86_400_000, toMs + 86_400_000).filter((r) => r.date >= first && r.date <= last);
    return [
      {
        title: `Backup calendar ${first} – ${last} per database instance (simulated from the emitted Schedules)`,
        body: rows.length ? formatCalendar(rows) : 'no backups scheduled',
      },
      { title: 'Backup transfer per day (bundled sizes)', body: formatTransfer(transferPerDay(ctx.env)) },
    ];
  },
});

const rotationOf = (env: Environment, dc: string): number => env.dataCenters.find((d) => d.name === dc)?.rotation ?? 0;

const fill = (template: string, values: Readonly<Record<string, string>>): string => template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);

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
    if (!d || new Date(fromMs).toISOString().slice(0, 10) !== from)
      throw new Error(`--from (or the velero option planFrom) must be a date YYYY-MM-DD, got "${from}"`);
  } else fromMs = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return { fromMs, toMs: fromMs + 31 * 86_400_000 };
}

export function bsl(
  dc: DataCenter,
  name: string,
  namespace: string,
  accessMode: 'ReadWrite' | 'ReadOnly',
  credential: { name: string; key: string } | undefined,
  isDefault: boolean,
  prefix: string,
  source?: string,
): KubeObject {
  const st = dc.backupStorage;
  return {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name, namespace, labels: { [LABEL_BACKUP_DC]: dc.name, ...(source ? { [LABEL_SOURCE_DC]: source } : {}) } },
    spec: {
      provider: st.provider,
      accessMode,
      ...(isDefault ? { default: true } : {}),
      objectStorage: { bucket: st.bucket, prefix },
      ...(Object.keys(st.config).length ? { config: { ...st.config } } : {}),
      // A reference to the credential Secret; its value never appears in the output.
      ...(credential ? { credential: { name: credential.name, key: credential.key } } : {}),
    },
  };
}

/**
 * Restore drills (staging only): read-only locations on the source environment's storage
 * (every source cluster's prefix of every DC's bucket, with staging's own read-only keys),
 * the drill CronJobs, and the drill alerts.
 */
function renderDrills(
  ctx: RenderContext<VeleroOptions>,
  env: Environment,
  o: VeleroOptions,
  selector: Readonly<Record<string, string>>,
  container: string,
  paths: HookPaths,
): void {
  if (env.stage !== 'staging') {
    ctx.error('restore drills run on the test stand only', {
      field: 'plugins.velero.options.restoreDrill.fromEnvironment',
      hint: 'set restoreDrill in the staging environment',
    });
    return;
  }
  const from = ctx.environment(o.restoreDrill.fromEnvironment);
  if (!from) {
    ctx.error(`restore drill source environment "${o.restoreDrill.fromEnvironment}" does not exist`, {
      field: 'plugins.velero.options.restoreDrill.fromEnvironment',
    });
    return;
  }
  const problem = zoneProblem(o.restoreDrill.timeZone);
  if (problem) {
    ctx.error(`VELERO_TIME_ZONE: restore drill ${problem}`, {
      field: 'plugins.velero.options.restoreDrill.timeZone',
      hint: 'use an exact IANA name such as Europe/Lisbon',
    });
    return;
  }
  const unsupported = runners(from).filter((r) => r.service.database!.engine !== 'postgresql');
  for (const r of unsupported)
    ctx.error(`restore drills restore PostgreSQL only; ${r.service.name} uses ${r.service.database!.engine}`, {
      field: 'plugins.velero.options.restoreDrill.fromEnvironment',
    });
  if (unsupported.length) return;
  const drillDc = env.dataCenters[0]!;
  const sources = [...new Set(runners(from).map((r) => r.dc.name))].sort((a, b) => rotationOf(from, a) - rotationOf(from, b));
  for (const source of sources) {
    for (const dc of from.dataCenters) {
      const credential = {
        name: fill(o.restoreDrill.credentialSecret, { environment: from.name, storage: dc.name, dc: dc.name, source }),
        key: dc.backupStorage.credentialSecret?.key ?? 'cloud',
      };
      ctx.object(
        { dc: drillDc.name },
        bsl(dc, `${from.name}-${dc.name}-from-${source}`, o.namespace, 'ReadOnly', credential, false, storagePrefix(dc, source), source),
      );
    }
  }
  for (const { object, service } of drillObjects(from, { ...o.restoreDrill, namespace: o.namespace, selector, container, paths })) {
    ctx.object({ dc: drillDc.name }, object, service ? { service } : {});
  }
  if (o.alerts.enabled) {
    const deadline = drillDeadlineMinutes(o.restoreDrill);
    const group = drillAlertGroup(from, deadline, o.alerts.slackHours);
    ctx.object(
      { dc: drillDc.name },
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
        metadata: { name: `restore-drills-${from.name}`, namespace: o.namespace, ...labelsIfAny(o.alerts.ruleLabels) },
        spec: { groups: [group] },
      },
    );
    const dir = `environment/velero/promtool/${drillDc.name}`;
    ctx.file(`${dir}/restore-drills-${from.name}.rules.yaml`, toYaml({ groups: [group] }), { dc: drillDc.name });
    ctx.file(
      `${dir}/restore-drills-${from.name}.test.yaml`,
      toYaml(drillAlertTests(from, group, `restore-drills-${from.name}.rules.yaml`, deadline, o.alerts.slackHours)),
      { dc: drillDc.name },
    );
  }
}
