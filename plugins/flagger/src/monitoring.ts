/**
 * Monitoring of the promotion gate and of the canaries waiting on it, per DC where the gate
 * runs: Prometheus scrapes the gate (ServiceMonitor), a PrometheusRule alerts, and an
 * AlertmanagerConfig routes the alerts to the platform's Slack channel.
 *
 * Without it a gate that is down or blind holds every production rollout in Flagger's
 * `Waiting` phase, which has no deadline, and the only sign is a chat message that reads like
 * a deliberate refusal.
 *
 * What the alerts read:
 * - `up{job="promotion-gate", namespace=<gate namespace>}`: prometheus-operator sets `job` to
 *   the Service's name and `namespace` to the target's (pkg/prometheus/promcfg.go,
 *   generateServiceMonitorConfig, v0.93.0).
 * - The gate's `promotion_gate_undecided_total{hook}` (every hook from 0) and
 *   `promotion_gate_answers_total{hook, allowed, code}` (packages/promotion-gate).
 * - Flagger's own `flagger_canary_status{name, namespace}`, a gauge set from the Canary's phase
 *   by `Recorder.SetStatus` (fluxcd/flagger pkg/metrics/recorder.go): `Progressing` → 0,
 *   `Failed` → 2, **every other phase → 1** — `Waiting`, `WaitingPromotion`, `Promoting`,
 *   `Finalising`, `Succeeded` alike. `name` is the Canary's `targetRef.name`. So a canary
 *   stuck in `Waiting` looks exactly like one that succeeded; its own metrics cannot tell.
 *   `flagger_canary_duration_seconds{name, namespace}` (histogram) is observed only by
 *   passes that get past the confirm-rollout check (pkg/controller/scheduler.go,
 *   advanceCanary's deferred `SetDuration`), so it stays flat in `Waiting` as it does when
 *   idle. A canary waiting at the gate is therefore seen from the gate's side: Flagger asks
 *   confirm-rollout again at every analysis interval while it waits, and each refusal is
 *   counted. What Flagger's metric does show is a canary stuck in `Progressing` (0) longer
 *   than its analysis can take.
 * - Flagger's chart scrapes Flagger with `honorLabels: false` (charts/flagger/templates
 *   servicemonitor.yaml; its podmonitor.yaml sets none), so the canary's `namespace` label
 *   clashes with the target's and arrives as `exported_namespace`; with `honorLabels: true`
 *   it stays `namespace`. The rules accept both.
 */
import { labelsIfAny, ruleTestFile, type KubeObject, type RuleTest, type RuleTestFile } from '@topoforge/plugin-sdk';
import type { Environment, Service } from '@topoforge/model';
import { canaryPolicyOf } from './policy.js';
import { GATE_NAME } from './gate.js';
import type { FlaggerOptions } from './options.js';

/** The label every alert here carries, and the AlertmanagerConfig route matches. */
export const COMPONENT_LABEL = 'component';
export const COMPONENT = 'promotion-gate';
export const GATE_RECEIVER = 'platform';
export const GATE_ALERTS = [
  'PromotionGateDown',
  'PromotionGateNotScraped',
  'PromotionGateUndecided',
  'PromotionGateResultUnrecorded',
  'PromotionGateHoldingRollout',
  'FlaggerCanaryStuckProgressing',
  'FlaggerCanaryMetricsMissing',
] as const;

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}
export interface RuleGroup {
  readonly name: string;
  readonly rules: AlertRule[];
}

const q = (s: string): string => JSON.stringify(s);
const re = (names: readonly string[]): string => q(names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
const seconds = (d: string): number => Number(d.slice(0, -1)) * (d.endsWith('m') ? 60 : 1);

/** The ServiceMonitor that makes Prometheus scrape the gate's `/metrics` on its Service port `http`. */
export function gateServiceMonitor(o: FlaggerOptions): KubeObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: {
      name: GATE_NAME,
      namespace: o.gate.namespace,
      labels: { 'app.kubernetes.io/name': GATE_NAME, 'app.kubernetes.io/component': 'promotion-gate', ...o.monitoring.ruleLabels },
    },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': GATE_NAME } },
      namespaceSelector: { matchNames: [o.gate.namespace] },
      endpoints: [{ port: 'http', path: '/metrics', interval: o.monitoring.scrapeInterval, scheme: 'http' }],
    },
  };
}

/**
 * The longest a canary can rightly stay `Progressing`, in minutes: one interval per weight
 * step up to maxWeight, one per failed check before the rollback (threshold), two for the
 * promotion, and the progress deadline for canary pods that never become ready (Flagger rolls
 * back then). Rounded up, plus 5 minutes for scrapes and evaluation.
 */
export function progressingBoundMinutes(s: Service, o: FlaggerOptions): number {
  const p = canaryPolicyOf(s)!;
  const steps = Math.ceil(p.maxWeight / p.stepWeight);
  return Math.ceil(((steps + p.threshold + 2) * seconds(p.interval) + o.progressDeadlineSeconds) / 60) + 5;
}

/** One group per DC: the gate's health and answers, and Flagger's view of this DC's canaries. */
export function gateAlertGroup(env: Environment, dc: string, canaries: readonly Service[], o: FlaggerOptions): RuleGroup {
  const production = env.stage === 'production';
  const gate = `job=${q(GATE_NAME)},namespace=${q(o.gate.namespace)}`;
  // prometheus-operator's default OnNamespace matcher routes an AlertmanagerConfig only the
  // alerts whose namespace label is its own: every alert sets it.
  const labels = (severity: string, extra: Record<string, string> = {}) => ({
    [COMPONENT_LABEL]: COMPONENT,
    severity,
    environment: env.name,
    dc,
    ...extra,
    namespace: o.monitoring.namespace,
  });
  const blocking = production ? 'critical' : 'warning';
  const where = `${env.name}/${dc}`;
  const rules: AlertRule[] = [
    {
      alert: 'PromotionGateDown',
      expr: `max(up{${gate}}) == 0`,
      for: '5m',
      labels: labels(blocking),
      annotations: {
        summary: `No replica of the promotion gate in ${where} answers Prometheus: ${production ? 'every production canary waits in Waiting, with no deadline' : "the test stand's results are not recorded"}`,
        runbook: `kubectl -n ${o.gate.namespace} get pods -l app.kubernetes.io/name=${GATE_NAME}; kubectl -n ${o.gate.namespace} logs deploy/${GATE_NAME}`,
      },
    },
    {
      alert: 'PromotionGateNotScraped',
      expr: `absent(up{${gate}})`,
      for: '10m',
      labels: labels(blocking),
      annotations: {
        summary: `Prometheus has no target for the promotion gate in ${where}: the gate is not deployed, or its ServiceMonitor ${o.gate.namespace}/${GATE_NAME} is not selected (serviceMonitorSelector: set monitoring.ruleLabels)`,
      },
    },
    {
      // At least one undecided answer in every 5 minutes for 10 minutes: Flagger asks again at
      // each interval while a canary waits, so a lasting cause keeps this true; a blip does not.
      alert: 'PromotionGateUndecided',
      expr: `sum by (hook) (increase(promotion_gate_undecided_total{${gate},hook!="post-rollout"}[5m])) > 0`,
      for: '10m',
      labels: labels(blocking),
      annotations: {
        summary: `The promotion gate in ${where} cannot decide {{ $labels.hook }} hooks (API server, ledger or configuration, see promotion_gate_answers_total by code and its log): canaries wait in Waiting`,
      },
    },
    {
      // Flagger does not retry post-rollout: one lost result is a version that stays pending.
      alert: 'PromotionGateResultUnrecorded',
      expr: `sum(increase(promotion_gate_undecided_total{${gate},hook="post-rollout"}[1h])) > 0`,
      labels: labels('warning'),
      annotations: {
        summary: `The promotion gate in ${where} could not record a canary result in the last hour (its log says which and why); Flagger does not resend it, so that version stays unverified until the canary runs again`,
      },
    },
  ];
  if (production)
    rules.push({
      alert: 'PromotionGateHoldingRollout',
      expr: `sum(increase(promotion_gate_answers_total{${gate},hook="confirm-rollout",allowed="false"}[5m])) > 0`,
      for: o.monitoring.waitingFor,
      labels: labels('warning'),
      annotations: {
        summary: `A production canary in ${dc} has been refused at confirm-rollout for ${o.monitoring.waitingFor} and waits in Waiting: its image is not a version ${o.gate.testStand} verified, or the gate cannot tell (the gate's log names the canary and the reason)`,
      },
    });
  // One rule per canary: each has its own bound.
  for (const s of canaries) {
    const bound = progressingBoundMinutes(s, o);
    const status = `max(flagger_canary_status{name=${q(s.name)},exported_namespace=${q(s.namespace)}} or flagger_canary_status{name=${q(s.name)},exported_namespace="",namespace=${q(s.namespace)}})`;
    rules.push({
      alert: 'FlaggerCanaryStuckProgressing',
      expr: `${status} == 0`,
      for: `${bound}m`,
      labels: labels('warning', { service: s.name, canary_namespace: s.namespace }),
      annotations: {
        summary: `Canary ${s.namespace}/${s.name} in ${where} has been Progressing for ${bound} minutes, longer than its analysis can take: kubectl -n ${s.namespace} describe canary ${s.name}`,
      },
    });
  }
  rules.push({
    alert: 'FlaggerCanaryMetricsMissing',
    expr: `absent(flagger_canary_status{name=~${re(canaries.map((s) => s.name))}})`,
    for: '15m',
    labels: labels('warning'),
    annotations: {
      summary: `No flagger_canary_status for the canaries of ${where}: Prometheus does not scrape Flagger (its chart's podMonitor.enabled or serviceMonitor.enabled), so stuck canaries go unnoticed`,
    },
  });
  return { name: `promotion-gate-${dc}`, rules };
}

export function gatePrometheusRule(group: RuleGroup, o: FlaggerOptions): KubeObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: GATE_NAME, namespace: o.monitoring.namespace, ...labelsIfAny(o.monitoring.ruleLabels) },
    spec: { groups: [group] },
  };
}

/** Routes the alerts above (`component="promotion-gate"`) to the platform's Slack channel; the webhook URL stays in a Secret. */
export function gateAlertmanagerConfig(env: Environment, o: FlaggerOptions): KubeObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1alpha1',
    kind: 'AlertmanagerConfig',
    metadata: { name: GATE_NAME, namespace: o.monitoring.namespace },
    spec: {
      route: {
        receiver: GATE_RECEIVER,
        matchers: [{ name: COMPONENT_LABEL, value: COMPONENT, matchType: '=' }],
        groupBy: ['alertname', 'dc'],
        groupWait: '30s',
        groupInterval: '5m',
        repeatInterval: env.stage === 'production' ? '1h' : '4h',
      },
      receivers: [
        {
          name: GATE_RECEIVER,
          slackConfigs: [
            {
              apiURL: { name: o.monitoring.secretName, key: o.monitoring.secretKey },
              channel: o.monitoring.channel,
              sendResolved: true,
              title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.environment }}/{{ .CommonLabels.dc }}',
              text: '{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}',
            },
          ],
        },
      ],
    },
  };
}

/**
 * promtool unit tests of one DC's group: healthy → silent; each failure → its alert with its
 * labels, not before its `for`.
 */
export function gateAlertTests(env: Environment, group: RuleGroup, canaries: readonly Service[], o: FlaggerOptions, rulesFile: string): RuleTestFile {
  const gate = `job=${q(GATE_NAME)},namespace=${q(o.gate.namespace)}`;
  const up = (pod: string, values: string) => ({ series: `up{${gate},pod=${q(pod)}}`, values });
  const undecided = (hook: string, values: string) => ({ series: `promotion_gate_undecided_total{${gate},pod="gate-a",hook=${q(hook)}}`, values });
  const answers = (allowed: string, code: string, values: string) => ({
    series: `promotion_gate_answers_total{${gate},pod="gate-a",hook="confirm-rollout",allowed=${q(allowed)},code=${q(code)}}`,
    values,
  });
  // Scraped by Flagger's chart (honorLabels: false): the canary's namespace is exported_namespace.
  const status = (s: Service, values: string, honor = false) => ({
    series: honor
      ? `flagger_canary_status{name=${q(s.name)},namespace=${q(s.namespace)}}`
      : `flagger_canary_status{job="flagger",namespace="flagger-system",name=${q(s.name)},exported_namespace=${q(s.namespace)}}`,
    values,
  });
  const rule = (alert: string, service?: string) => group.rules.find((r) => r.alert === alert && (service === undefined || r.labels['service'] === service))!;
  const exp = (alert: string, extra: Record<string, string> = {}, service?: string) => {
    const r = rule(alert, service);
    return {
      exp_labels: { ...r.labels, ...extra },
      exp_annotations: Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, v.replaceAll('{{ $labels.hook }}', extra['hook'] ?? '')])),
    };
  };
  const alerts = [...new Set(group.rules.map((r) => r.alert))];
  const at = (eval_time: string, fired: Record<string, ReturnType<typeof exp>[]>) =>
    alerts.map((alertname) => ({ eval_time, alertname, exp_alerts: fired[alertname] ?? [] }));
  const healthyCanaries = canaries.map((s) => status(s, '1x180'));
  const healthy = [
    up('gate-a', '1x180'),
    up('gate-b', '1x180'),
    ...['confirm-rollout', 'confirm-promotion', 'post-rollout', 'rollback'].map((h) => undecided(h, '0x180')),
    answers('true', 'verified', '0+1x180'),
    ...healthyCanaries,
  ];
  const first = canaries[0]!;
  const bounds = canaries.map((s) => progressingBoundMinutes(s, o));
  const shortest = Math.min(...bounds);
  const longest = Math.max(...bounds);
  const production = env.stage === 'production';
  const waiting = seconds(o.monitoring.waitingFor) / 60;
  const tests: RuleTest[] = [
    // Everything answers, canaries idle or done: silent all along.
    { interval: '1m', input_series: healthy, alert_rule_test: [...at('30m', {}), ...at('179m', {})] },
    // One replica down: the Service still answers, silent. Both down: Down after 5 minutes, not before.
    {
      interval: '1m',
      input_series: [up('gate-a', '1x9 0x30'), up('gate-b', '1x19 0x20'), ...healthyCanaries],
      alert_rule_test: [...at('18m', {}), ...at('23m', {}), ...at('26m', { PromotionGateDown: [exp('PromotionGateDown')] })],
    },
    // Never scraped: NotScraped after 10 minutes.
    {
      interval: '1m',
      input_series: healthyCanaries,
      // absent() keeps the selector's equality labels: job stays, namespace is the rule's.
      alert_rule_test: [...at('9m', {}), ...at('12m', { PromotionGateNotScraped: [exp('PromotionGateNotScraped', { job: GATE_NAME })] })],
    },
    // The API server unreachable: an undecided confirm-rollout every minute (Flagger retries each
    // interval) fires after 10 minutes; one blip on confirm-promotion does not.
    {
      interval: '1m',
      input_series: [up('gate-a', '1x60'), undecided('confirm-rollout', '0x10 1+1x50'), undecided('confirm-promotion', '0x5 1x55'), ...healthyCanaries],
      alert_rule_test: [...at('18m', {}), ...at('25m', { PromotionGateUndecided: [exp('PromotionGateUndecided', { hook: 'confirm-rollout' })] })],
    },
    // A result lost once: fires at once, for the hour it stays in the window.
    {
      interval: '1m',
      input_series: [up('gate-a', '1x90'), undecided('post-rollout', '0x10 1x80'), ...healthyCanaries],
      alert_rule_test: [...at('5m', {}), ...at('15m', { PromotionGateResultUnrecorded: [exp('PromotionGateResultUnrecorded')] }), ...at('80m', {})],
    },
    // Canaries stuck Progressing (0) beyond their bounds, not before; the metric read with either label layout.
    {
      interval: '1m',
      input_series: [
        up('gate-a', `1x${longest + 30}`),
        status(first, `1x9 0x${longest + 20}`),
        ...canaries.slice(1).map((s) => status(s, `1x9 0x${longest + 20}`, true)),
      ],
      alert_rule_test: [
        ...at(`${shortest + 5}m`, {}),
        ...at(`${longest + 12}m`, {
          FlaggerCanaryStuckProgressing: canaries.map((s) => exp('FlaggerCanaryStuckProgressing', {}, s.name)),
        }),
      ],
    },
    // Flagger not scraped.
    {
      interval: '1m',
      input_series: [up('gate-a', '1x30')],
      alert_rule_test: [...at('14m', {}), ...at('17m', { FlaggerCanaryMetricsMissing: [exp('FlaggerCanaryMetricsMissing')] })],
    },
  ];
  if (production)
    // A version the test stand never verified: refused at every interval; HoldingRollout after waitingFor.
    tests.push({
      interval: '1m',
      input_series: [up('gate-a', `1x${waiting + 30}`), answers('false', 'unverified', `0x10 1+1x${waiting + 20}`), ...healthyCanaries],
      alert_rule_test: [...at(`${waiting}m`, {}), ...at(`${waiting + 15}m`, { PromotionGateHoldingRollout: [exp('PromotionGateHoldingRollout')] })],
    });
  return ruleTestFile(rulesFile, '1m', tests);
}
