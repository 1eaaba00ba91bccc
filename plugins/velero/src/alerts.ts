/**
 * Alerts per database instance, each knowing the instance's own cadence:
 *
 * - VeleroBackupMissing / VeleroBackupNeverSucceeded: Velero's
 *   `velero_backup_last_successful_timestamp{schedule}` (a gauge per Schedule, Unix
 *   seconds) — the newest over the instance's Schedules is older than its cadence plus
 *   the window plus slack, or there has never been one.
 * - VeleroBackupFailed: `velero_backup_{failure,partial_failure,validation_failure}_total`
 *   of the instance's Schedules rose. (The no-op Backup of the other half of a weekday pair
 *   counts as a success in the timestamp; a failed real backup still fails here.)
 * - VeleroScheduleNotEnabled: a Schedule's `status.phase` is not Enabled — e.g.
 *   FailedValidation because the Velero image has no tzdata for CRON_TZ (velero #9519).
 * - VeleroBackupStorageLocationUnavailable: a location the instance writes to is not
 *   Available.
 * Velero exports no metric for Schedule or BackupStorageLocation phases, so the last two
 * read kube-state-metrics' custom-resource metrics, configured by the ConfigMap below
 * (`--custom-resource-state-config-file`).
 */
import type { Environment } from '@topoforge/model';
import { ruleTestFile, type KubeObject, type RuleTestFile } from '@topoforge/plugin-sdk';
import { toYaml } from '@topoforge/yaml-emit';
import { cadenceDays, type Runner } from './schedules.js';
import { backupPolicyOf } from './policy.js';
import { LABEL_FALLBACK_FOR, LABEL_INSTANCE, LABEL_ON_DEMAND, LABEL_STANDBY_FOR } from './names.js';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}
export interface RuleGroup {
  readonly name: string;
  readonly rules: AlertRule[];
}

export interface AlertInput {
  readonly env: Environment;
  readonly runner: Runner;
  readonly schedules: readonly string[];
  readonly slackHours: number;
  readonly namespace: string;
}

/** A PromQL string literal (double-quoted, escaped). */
export const promString = (s: string): string => JSON.stringify(s);
/** An RE2 alternation matching exactly these names. */
const exactly = (names: readonly string[]): string => `^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;

export const SCHEDULE_METRIC = 'kube_customresource_velero_schedule_status';
export const LOCATION_METRIC = 'kube_customresource_velero_backupstoragelocation_status';

/** Hours after which a missing backup alerts: cadence + backup window + slack. */
export function missingAfterHours(i: AlertInput): number {
  const policy = backupPolicyOf(i.runner.service)!;
  const window = Math.ceil((minutes(policy.window.end) - minutes(policy.window.start)) / 60);
  return cadenceDays(policy) * 24 + window + i.slackHours;
}
const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function backupAlertGroup(i: AlertInput): RuleGroup {
  const inst = i.runner.instance.name;
  const sel = `schedule=~${promString(exactly(i.schedules))}`;
  const after = missingAfterHours(i);
  const labels = { database_instance: inst, service: i.runner.service.name, dc: i.runner.dc.name, environment: i.env.name };
  const locations = [...new Set(i.env.dataCenters.map((d) => d.name))];
  return {
    name: `velero-backups-${inst}`,
    rules: [
      {
        alert: 'VeleroBackupMissing',
        expr: `time() - max(velero_backup_last_successful_timestamp{${sel}}) > ${after * 3600}`,
        for: '10m',
        labels: { ...labels, severity: 'critical' },
        annotations: {
          summary: `No successful backup of ${inst} for more than ${after}h (cadence ${cadenceDays(backupPolicyOf(i.runner.service)!)}d + window + ${i.slackHours}h slack)`,
          runbook: `velero backup get -l ${LABEL_INSTANCE}=${inst}`,
        },
      },
      {
        alert: 'VeleroBackupNeverSucceeded',
        expr: `absent(velero_backup_last_successful_timestamp{${sel}})`,
        for: `${after}h`,
        labels: { ...labels, severity: 'critical' },
        annotations: { summary: `No Schedule of ${inst} has ever completed a backup` },
      },
      {
        alert: 'VeleroBackupFailed',
        expr: `sum(increase({__name__=~"velero_backup_(failure|partial_failure|validation_failure)_total",${sel}}[2h])) > 0`,
        for: '5m',
        labels: { ...labels, severity: 'warning' },
        annotations: { summary: `A backup of ${inst} failed or partially failed` },
      },
      {
        alert: 'VeleroScheduleNotEnabled',
        expr: `max by (name) (${SCHEDULE_METRIC}{namespace=${promString(i.namespace)},name=~${promString(exactly(i.schedules))},phase!="Enabled"}) > 0`,
        for: '15m',
        labels: { ...labels, severity: 'critical' },
        annotations: {
          summary: `Velero Schedule {{ $labels.name }} of ${inst} is not Enabled (FailedValidation: e.g. CRON_TZ without tzdata in the Velero image, velero #9519)`,
        },
      },
      {
        alert: 'VeleroBackupStorageLocationUnavailable',
        expr: `max by (name) (${LOCATION_METRIC}{namespace=${promString(i.namespace)},name=~${promString(exactly(locations))},phase!="Available"}) > 0`,
        for: '15m',
        labels: { ...labels, severity: 'critical' },
        annotations: { summary: `Backup storage location {{ $labels.name }} that ${inst} writes to is unavailable` },
      },
    ],
  };
}

/** Per-day success timestamps: a backup completes 10 minutes after each local midnight (t = 0). */
function dailySuccesses(days: number, cadence: number, stopAfterDay?: number): string {
  const parts = ['_'];
  for (let d = 0; d < days; d++) {
    const last = Math.floor(Math.min(d, stopAfterDay ?? d) / cadence) * cadence;
    parts.push(`${last * 86400 + 600}x143`);
  }
  return parts.join(' ');
}

/** promtool unit tests: on time → silent; each failure mode → the right alert with its labels. */
export function backupAlertTests(i: AlertInput, group: RuleGroup, rulesFile: string): RuleTestFile {
  const cadence = cadenceDays(backupPolicyOf(i.runner.service)!);
  const after = missingAfterHours(i);
  const exp = (alert: string, name?: string) => {
    const r = group.rules.find((x) => x.alert === alert)!;
    const annotations = Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, v.replaceAll('{{ $labels.name }}', name ?? '')]));
    return { exp_labels: { ...r.labels, ...(name ? { name } : {}) }, exp_annotations: annotations };
  };
  const ts = (s: string) => `velero_backup_last_successful_timestamp{schedule=${promString(s)}}`;
  const first = i.schedules[0]!;
  const days = Math.ceil(after / 24) + 1;
  const all = group.rules.map((r) => r.alert);
  const silent = (at: string) => all.map((alertname) => ({ eval_time: at, alertname, exp_alerts: [] }));
  const healthy = [
    { series: ts(first), values: dailySuccesses(days, cadence) },
    { series: `velero_backup_failure_total{schedule=${promString(first)}}`, values: `0x${days * 144}` },
    { series: `${SCHEDULE_METRIC}{namespace=${promString(i.namespace)},name=${promString(first)},phase="Enabled"}`, values: `1x${days * 144}` },
    {
      series: `${LOCATION_METRIC}{namespace=${promString(i.namespace)},name=${promString(i.env.dataCenters[0]!.name)},phase="Available"}`,
      values: `1x${days * 144}`,
    },
  ];
  return ruleTestFile(rulesFile, '5m', [
    // Backups on time: nothing fires, even just before the next one is due.
    { interval: '10m', input_series: healthy, alert_rule_test: silent(`${days * 24 - 1}h`) },
    // The last backup was on day 0: Missing fires once cadence + window + slack has passed, not before.
    {
      interval: '10m',
      input_series: [{ series: ts(first), values: dailySuccesses(days, cadence, 0) }],
      alert_rule_test: [
        { eval_time: `${after - 1}h`, alertname: 'VeleroBackupMissing', exp_alerts: [] },
        { eval_time: `${after + 1}h`, alertname: 'VeleroBackupMissing', exp_alerts: [exp('VeleroBackupMissing')] },
      ],
    },
    // Never a successful backup.
    {
      interval: '10m',
      input_series: [{ series: `up{job="velero"}`, values: `1x${days * 144}` }],
      alert_rule_test: [{ eval_time: `${after + 1}h`, alertname: 'VeleroBackupNeverSucceeded', exp_alerts: [exp('VeleroBackupNeverSucceeded')] }],
    },
    // A failed backup, a Schedule in FailedValidation, a location Unavailable.
    {
      interval: '10m',
      input_series: [
        { series: `velero_backup_partial_failure_total{schedule=${promString(first)}}`, values: '0x12 1x12' },
        { series: `${SCHEDULE_METRIC}{namespace=${promString(i.namespace)},name=${promString(first)},phase="FailedValidation"}`, values: '1x24' },
        {
          series: `${LOCATION_METRIC}{namespace=${promString(i.namespace)},name=${promString(i.env.dataCenters[0]!.name)},phase="Unavailable"}`,
          values: '1x24',
        },
      ],
      alert_rule_test: [
        { eval_time: '140m', alertname: 'VeleroBackupFailed', exp_alerts: [exp('VeleroBackupFailed')] },
        { eval_time: '140m', alertname: 'VeleroScheduleNotEnabled', exp_alerts: [exp('VeleroScheduleNotEnabled', first)] },
        {
          eval_time: '140m',
          alertname: 'VeleroBackupStorageLocationUnavailable',
          exp_alerts: [exp('VeleroBackupStorageLocationUnavailable', i.env.dataCenters[0]!.name)],
        },
      ],
    },
  ]);
}

export const PAUSED_METRIC = 'kube_customresource_velero_schedule_paused';

/**
 * One group per cluster that runs Schedules: a storage DC (or a standby's primary DC) has
 * been unreachable for an hour — its location here is Unavailable — and the Schedules that
 * take over for it are still paused: the DC-loss procedure (README) has not run. Fires
 * early enough to run it within DC_LOSS_ACTION_HOURS.
 */
export function dcLossAlertGroup(env: Environment, dc: string, namespace: string): RuleGroup {
  const ns = `namespace=${promString(namespace)}`;
  const rule = (alert: string, label: 'fallback_for' | 'standby_for', what: string, command: string): AlertRule => ({
    alert,
    // on_demand="": a standby's -full-now template is labelled standby-for too and stays paused.
    expr: `max by (${label}) (${PAUSED_METRIC}{${ns},${label}!="",on_demand=""} == 1) and on (${label}) label_replace(max by (name) (${LOCATION_METRIC}{${ns},phase="Unavailable"} == 1), "${label}", "$1", "name", "(.+)")`,
    for: '1h',
    labels: { severity: 'critical', dc, environment: env.name },
    annotations: {
      summary: `${what} {{ $labels.${label} }} has been unavailable for 1h and the Schedules here that take over for it are still paused: run the DC-loss procedure now (${command.replace('{}', `{{ $labels.${label} }}`)} --skip-immediately=true, …; plugins/velero README, Losing a DC)`,
    },
  });
  return {
    name: `velero-dc-loss-${dc}`,
    rules: [
      rule('VeleroFallbackNotActivated', 'fallback_for', 'Backup storage DC', `velero schedule unpause -l ${LABEL_FALLBACK_FOR}={}`),
      rule('VeleroStandbyNotActivated', 'standby_for', 'The primary DC', `velero schedule unpause -l '${LABEL_STANDBY_FOR}={},!${LABEL_ON_DEMAND}'`),
    ],
  };
}

/** promtool tests of the DC-loss group: a lost DC with paused fallbacks or standbys fires after 1 h, not before; activated, available or unrelated → silent. */
export function dcLossAlertTests(env: Environment, dc: string, namespace: string, group: RuleGroup, rulesFile: string): RuleTestFile {
  const lost = env.dataCenters.find((d) => d.name !== dc)?.name ?? dc;
  const other = env.dataCenters.find((d) => d.name !== dc && d.name !== lost)?.name ?? 'elsewhere';
  const ns = `namespace=${promString(namespace)}`;
  const paused = (label: string, of: string, name: string, values: string, onDemand = false) => ({
    series: `${PAUSED_METRIC}{${ns},name=${promString(name)},${label}=${promString(of)}${onDemand ? ',on_demand="full"' : ''}}`,
    values,
  });
  const location = (name: string, phase: string) => ({
    series: `${LOCATION_METRIC}{${ns},name=${promString(name)},phase=${promString(phase)}}`,
    values: '1x36',
  });
  const exp = (alert: string, label: string) => {
    const r = group.rules.find((x) => x.alert === alert)!;
    return { exp_labels: { ...r.labels, [label]: lost }, exp_annotations: { summary: r.annotations.summary!.replaceAll(`{{ $labels.${label} }}`, lost) } };
  };
  const at = (eval_time: string, fallback: ReturnType<typeof exp>[], standby: ReturnType<typeof exp>[]) => [
    { eval_time, alertname: 'VeleroFallbackNotActivated', exp_alerts: fallback },
    { eval_time, alertname: 'VeleroStandbyNotActivated', exp_alerts: standby },
  ];
  return ruleTestFile(rulesFile, '5m', [
    // The DC is gone; its fallbacks and standbys here stay paused: both fire after 1 h, not before.
    {
      interval: '10m',
      input_series: [
        location(lost, 'Unavailable'),
        paused('fallback_for', lost, `x-${other}-for-${lost}`, '1x36'),
        paused('standby_for', lost, `y-${other}`, '1x36'),
        paused('fallback_for', other, `x-${lost}-for-${other}`, '1x36'),
        location(other, 'Available'),
      ],
      alert_rule_test: [
        ...at('50m', [], []),
        ...at('80m', [exp('VeleroFallbackNotActivated', 'fallback_for')], [exp('VeleroStandbyNotActivated', 'standby_for')]),
      ],
    },
    // The procedure ran after 30 minutes: silent (the standby's -full-now template stays paused).
    {
      interval: '10m',
      input_series: [
        location(lost, 'Unavailable'),
        paused('fallback_for', lost, `x-${other}-for-${lost}`, '1 1 1 0x33'),
        paused('standby_for', lost, `y-${other}`, '1 1 1 0x33'),
        paused('standby_for', lost, 'y-full-now', '1x36', true),
      ],
      alert_rule_test: at('3h', [], []),
    },
    // Every location available: paused fallbacks are the normal state.
    {
      interval: '10m',
      input_series: [location(lost, 'Available'), paused('fallback_for', lost, `x-${other}-for-${lost}`, '1x36')],
      alert_rule_test: at('3h', [], []),
    },
  ]);
}

/** kube-state-metrics custom-resource configuration for Schedule and location phases. */
export function stateMetricsConfig(namespace: string): KubeObject {
  const resource = (kind: string, metric: string) => ({
    groupVersionKind: { group: 'velero.io', version: 'v1', kind },
    metricNamePrefix: 'kube_customresource_velero',
    labelsFromPath: { name: ['metadata', 'name'], namespace: ['metadata', 'namespace'] },
    metrics: [
      { name: metric, help: `${kind} status.phase`, each: { type: 'Info', info: { labelsFromPath: { phase: ['status', 'phase'] } } } },
      // Paused fallbacks and standbys, by the DC they take over for (the DC-loss alerts).
      ...(kind === 'Schedule'
        ? [
            {
              name: 'schedule_paused',
              help: 'Schedule spec.paused (1 = paused)',
              labelsFromPath: {
                fallback_for: ['metadata', 'labels', LABEL_FALLBACK_FOR],
                standby_for: ['metadata', 'labels', LABEL_STANDBY_FOR],
                on_demand: ['metadata', 'labels', LABEL_ON_DEMAND],
              },
              each: { type: 'Gauge', gauge: { path: ['spec', 'paused'], nilIsZero: true } },
            },
          ]
        : []),
    ],
  });
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-state-metrics-velero', namespace, labels: { 'topoforge.io/kube-state-metrics-config': 'true' } },
    data: {
      'velero.yaml': toYaml({
        kind: 'CustomResourceStateMetrics',
        spec: { resources: [resource('Schedule', 'schedule_status'), resource('BackupStorageLocation', 'backupstoragelocation_status')] },
      }),
    },
  };
}
