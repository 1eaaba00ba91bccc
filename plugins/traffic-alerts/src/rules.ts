/**
 * The traffic criterion: rules that tell "this DC lost its traffic" from "demand changed".
 *
 * A DC's traffic against last week (its ratio) is compared with the same ratio of the
 * service's other DCs together: demand changes that hit every DC alike (a holiday, a
 * marketing peak) move both; a canary split inside a DC leaves the DC's sum unchanged; the
 * week after a clock change shifts one region's daily curve by an hour, so the DC's baseline
 * is the lowest of last week's rate an hour earlier, at the same time and an hour later. Guards: the DC
 * had real traffic last week, and the service has real traffic now (a global outage of the
 * metric is a separate, non-failover warning). A DC the orchestrator drained is expected to
 * have no share, so the orchestrator's own `topoforge_failover_drained` gauge silences its
 * drop alerts (they resolve), and `TrafficFailbackReady` fires once its probes are healthy.
 * See README.md ("The criterion").
 */
import type { Environment, Service } from '@topoforge/model';
import { matchers, quoteLabelValue } from './promql.js';
import { trafficDropPolicyOf } from './policy.js';

export const ACTION_LABEL = 'action';
export const FAILOVER_ACTION = 'failover';
export const FAILBACK_ACTION = 'failback';
/** Gauge the orchestrator exports: 1 while it keeps (service, dc) drained. */
export const DRAINED_METRIC = 'topoforge_failover_drained';

export const REC_RATE = 'topoforge:service_dc_requests:rate';
export const REC_LAST_WEEK = 'topoforge:service_dc_requests:rate_1w_ago';
export const REC_BASELINE = 'topoforge:service_dc_requests:rate_1w_baseline';
export const REC_RATIO = 'topoforge:service_dc_requests:ratio_1w';
export const REC_OTHERS_RATIO = 'topoforge:service_dc_requests:others_ratio_1w';

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export interface RuleOptions {
  readonly dcLabel: string;
  readonly runbookBaseUrl: string;
  /** Namespace of the AlertmanagerConfig: the operator's OnNamespace matcher requires it on the alert. */
  readonly namespace: string;
  readonly health: { readonly metric: string; readonly failbackFor: string };
}

export const FAILOVER_ALERTS = ['TrafficDrop', 'TrafficVanished'] as const;
export const ALL_ALERTS = ['TrafficDrop', 'TrafficVanished', 'TrafficMetricMissing', 'TrafficFailbackReady'] as const;

/** `sum by (dc)` that always yields a `dc` label, whatever label carries the DC on the metric. */
function byDc(inner: string, dcLabel: string): string {
  const sum = `sum by (${dcLabel}) (${inner})`;
  return dcLabel === 'dc' ? sum : `label_replace(${sum}, "dc", "$1", "${dcLabel}", "(.*)")`;
}

export function serviceRules(env: Environment, service: Service, o: RuleOptions): RuleGroup {
  const p = trafficDropPolicyOf(service)!;
  const sel = `${service.traffic.metric}${matchers(service.traffic.selector)}`;
  const svc = matchers({ service: service.name });
  const w = p.rateWindow;
  const recLabels = { service: service.name };
  const alertLabels = (action: string | undefined, severity: string) => ({
    service: service.name,
    recovery_priority: String(service.recoveryPriority),
    severity,
    ...(action ? { [ACTION_LABEL]: action } : {}),
    environment: env.name,
    // prometheus-operator's default OnNamespace matcher strategy only routes alerts whose
    // namespace label equals the AlertmanagerConfig's namespace.
    namespace: o.namespace,
  });
  const runbook = (anchor: string) => `${o.runbookBaseUrl}#${anchor}`;
  const notDrained = `unless on(dc) (${DRAINED_METRIC}${svc} == 1)`;
  const globalNow = `on() (sum(${REC_RATE}${svc}) > ${p.minRequestsPerSecond})`;
  return {
    name: `traffic-${service.name}`,
    rules: [
      { record: REC_RATE, expr: byDc(`rate(${sel}[${w}])`, o.dcLabel), labels: recLabels },
      { record: REC_LAST_WEEK, expr: byDc(`rate(${sel}[${w}] offset 1w)`, o.dcLabel), labels: recLabels },
      {
        // The lowest of last week's rates an hour earlier, at the same time and an hour later:
        // the week after a clock change, a region's day starts an hour earlier or later in UTC.
        record: REC_BASELINE,
        expr: `min without(shift) (${[
          ['1w', '0'],
          ['167h', '-1h'],
          ['169h', '+1h'],
        ]
          .map(([off, tag]) => `label_replace(${byDc(`rate(${sel}[${w}] offset ${off})`, o.dcLabel)}, "shift", "${tag}", "", "")`)
          .join(' or ')})`,
        labels: recLabels,
      },
      { record: REC_RATIO, expr: `${REC_RATE}${svc} / ${REC_BASELINE}${svc}`, labels: recLabels },
      {
        // How the other DCs of the service fare against last week: demand changes move them too.
        record: REC_OTHERS_RATIO,
        expr: `(sum without(dc) (${REC_RATE}${svc}) - on(service) group_right() ${REC_RATE}${svc}) / (sum without(dc) (${REC_LAST_WEEK}${svc}) - on(service) group_right() ${REC_LAST_WEEK}${svc})`,
        labels: recLabels,
      },
      {
        alert: 'TrafficDrop',
        expr: `((${REC_RATIO}${svc} < ${p.dropRatio} * ${REC_OTHERS_RATIO}${svc}) and on(dc) (${REC_LAST_WEEK}${svc} > ${p.minRequestsPerSecond}) and ${globalNow}) ${notDrained}`,
        for: p.for,
        labels: alertLabels(FAILOVER_ACTION, p.severity),
        annotations: {
          summary: `${service.name} traffic in {{ $labels.dc }} fell under ${p.dropRatio} × what the other DCs kept of last week's`,
          runbook_url: runbook('traffic-drop'),
        },
      },
      {
        alert: 'TrafficVanished',
        expr: `((${REC_LAST_WEEK}${svc} > ${p.minRequestsPerSecond}) unless on(dc) ${REC_RATE}${svc}) and ${globalNow} ${notDrained}`,
        for: p.for,
        labels: alertLabels(FAILOVER_ACTION, p.severity),
        annotations: { summary: `${service.name} in {{ $labels.dc }} reports no requests while the other DCs do`, runbook_url: runbook('traffic-vanished') },
      },
      {
        // Not a failover signal: with the metric gone everywhere nothing tells which DC lost traffic.
        alert: 'TrafficMetricMissing',
        expr: `absent_over_time(${sel}[${w}])`,
        for: p.for,
        labels: alertLabels(undefined, 'warning'),
        annotations: {
          summary: `no ${service.traffic.metric} series for ${service.name} in any DC: the failover criterion is blind`,
          runbook_url: runbook('traffic-metric-missing'),
        },
      },
      {
        alert: 'TrafficFailbackReady',
        expr: `(min by (dc) (${o.health.metric}${svc}) == 1) and on(dc) (${DRAINED_METRIC}${svc} == 1)`,
        for: o.health.failbackFor,
        labels: alertLabels(FAILBACK_ACTION, 'info'),
        annotations: {
          summary: `${service.name} in {{ $labels.dc }} is drained and its probes have passed for ${o.health.failbackFor}`,
          runbook_url: runbook('traffic-failback'),
        },
      },
    ],
  };
}

/** The orchestrator's metrics the health rules read (packages/failover-orchestrator, orchestrator.ts). */
export const LEADER_METRIC = 'topoforge_failover_leader';
export const RECEIVED_METRIC = 'topoforge_failover_alerts_received_total';
export const REJECTED_METRIC = 'topoforge_failover_webhook_rejected_total';
export const HEALTH_ALERTS = ['FailoverOrchestratorNoLeader', 'FailoverAlertsNotReceived', 'FailoverWebhookRejected'] as const;

/**
 * The failover chain's own health. Failover alerts are routed to the orchestrator only, so
 * with no replica leading (down, not scraped, no majority of the Lease), with routed alerts
 * not arriving (an AlertmanagerConfig the operator rejected, a wrong URL, delivery failing) or
 * with the webhook refused (a token mismatch; Alertmanager does not retry a 401), a lost DC is
 * drained by nobody and nobody is told. These alerts carry no action label: they go wherever
 * the base Alertmanager configuration sends critical alerts, never to the orchestrator.
 */
export function orchestratorHealthRules(env: Environment, o: RuleOptions): RuleGroup {
  const labels = { severity: 'critical', environment: env.name, namespace: o.namespace };
  const runbook = (anchor: string) => `${o.runbookBaseUrl}#${anchor}`;
  // The alerts the AlertmanagerConfig routes to the orchestrator (its matchers plus the operator's namespace matcher).
  const routed = `ALERTS{alertstate="firing",${ACTION_LABEL}=~"${FAILOVER_ACTION}|${FAILBACK_ACTION}",namespace=${quoteLabelValue(o.namespace)}}`;
  return {
    name: 'failover-orchestrator-health',
    rules: [
      {
        // Absent too: an orchestrator nobody scrapes also exports no drained gauge, so drained DCs alert again and never fail back.
        alert: 'FailoverOrchestratorNoLeader',
        expr: `(sum(${LEADER_METRIC}) < 1) or absent(${LEADER_METRIC})`,
        for: '5m',
        labels,
        annotations: {
          summary: 'no failover orchestrator replica leads (down, not scraped, or none holds a majority of the Lease): no DC is drained or restored',
          runbook_url: runbook('orchestrator-no-leader'),
        },
      },
      {
        // Alertmanager repeats a firing group every 5m (repeat_interval), so 15m without one received is no timing accident.
        // Only the leader's receipts count: a standby keeps alerts for a take-over but decides nothing. Both
        // series come from one scrape target, so they share every label but the counter's `status`. With no
        // leader at all delivery is not the fault: FailoverOrchestratorNoLeader says what is, this one stays silent.
        alert: 'FailoverAlertsNotReceived',
        expr: `(count(${routed}) > 0) and on() (count(${LEADER_METRIC} == 1) > 0) unless on() (sum(increase(${RECEIVED_METRIC}[15m]) and ignoring(status) (${LEADER_METRIC} == 1)) > 0)`,
        for: '10m',
        labels,
        annotations: {
          summary:
            'failover alerts fire but the leading orchestrator replica received none in 15m: check the AlertmanagerConfig (operator status, token Secret), the webhook URL (does it reach the leader?) and alertmanager_notifications_failed_total',
          runbook_url: runbook('orchestrator-alerts-not-received'),
        },
      },
      {
        // No `for`: Alertmanager does not retry a refused notification, each one is a lost alert.
        alert: 'FailoverWebhookRejected',
        expr: `sum by (reason) (increase(${REJECTED_METRIC}{path="/alerts"}[10m])) > 0`,
        labels,
        annotations: {
          summary: 'the failover orchestrator refused webhook notifications ({{ $labels.reason }} token): the token Secrets differ between the namespaces',
          runbook_url: runbook('orchestrator-webhook-rejected'),
        },
      },
    ],
  };
}
