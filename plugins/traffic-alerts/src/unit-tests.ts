/**
 * promtool unit tests for one service's rules, one scenario per real-traffic situation the
 * criterion must survive. Every test simulates a week of history (so `offset 1w` has data)
 * and then the situations on day 8; each ends with a real loss that must fire, so a test that
 * stays silent everywhere cannot pass by accident. Two tests (two simulated weeks) per service
 * keep promtool's work per file small.
 */
import type { Environment, Service } from '@topoforge/model';
import type { RuleTest } from '@topoforge/plugin-sdk';
import { BUSINESS_DAY, drainedSeries, serviceSeries, type Effect, type SimSpec } from './simulate.js';
import { type RuleGroup, type RuleOptions } from './rules.js';
import { trafficDropPolicyOf } from './policy.js';

export const durationMinutes = (d: string): number => {
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w)/g))
    total += Number(m[1]) * { ms: 1 / 60000, s: 1 / 60, m: 1, h: 60, d: 1440, w: 10080 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd' | 'w'];
  return total;
};

const DAY = 1440;
const T0 = 7 * DAY; // day 8, 00:00 UTC
const h = (hours: number): number => T0 + Math.round(hours * 60);
const at = (m: number): string => `${m}m`;

export function serviceTests(env: Environment, service: Service, group: RuleGroup, o: RuleOptions): RuleTest[] {
  const p = trafficDropPolicyOf(service)!;
  const dcs = service.dataCenters;
  const lost = dcs[0]!;
  const peak = Math.max(40, Math.ceil(p.minRequestsPerSecond * 8)); // night (×0.1) stays under the guard
  const detect = Math.ceil(durationMinutes(p.rateWindow) + durationMinutes(p.for)) + 2;
  const failback = durationMinutes(o.health.failbackFor);
  const spec = (effects: Effect[], minutes: number): SimSpec => ({
    minutes,
    dcs: dcs.map((name) => ({ name, utcOffsetMinutes: 0, peakRps: peak })),
    shape: BUSINESS_DAY,
    effects,
  });
  const seriesOpts = { metric: service.traffic.metric, selector: service.traffic.selector, dcLabel: o.dcLabel, healthMetric: o.health.metric };
  const rule = (alert: string) => group.rules.find((r) => r.alert === alert)!;
  const expected = (alert: string, dc?: string) => {
    const r = rule(alert);
    // absent_over_time keeps the selector's equality matchers as labels; the rule's labels win.
    const fromExpr = dc ? { dc } : { ...service.traffic.selector };
    const annotations = Object.fromEntries(Object.entries(r.annotations ?? {}).map(([k, v]) => [k, v.replaceAll('{{ $labels.dc }}', dc ?? '')]));
    return { exp_labels: { ...fromExpr, ...r.labels, alertname: undefined }, exp_annotations: annotations };
  };
  const clean = (x: { exp_labels: Record<string, string | undefined>; exp_annotations: Record<string, string> }) => ({
    // A type guard, so the result is the Record<string, string> ExpectedAlert needs.
    exp_labels: Object.fromEntries(Object.entries(x.exp_labels).filter((e): e is [string, string] => e[1] !== undefined)),
    exp_annotations: x.exp_annotations,
  });
  const fires = (m: number, alert: string, dc?: string) => ({ eval_time: at(m), alertname: alert, exp_alerts: [clean(expected(alert, dc))] });
  const silent = (m: number, alert: string) => ({ eval_time: at(m), alertname: alert, exp_alerts: [] });
  const silentFailover = (m: number) => [silent(m, 'TrafficDrop'), silent(m, 'TrafficVanished')];

  // 1. demand changes, a canary, a quiet-night dip, then a real loss, the drain and the failback.
  const lossAt = h(13);
  const drainAt = lossAt + detect + 5;
  const probesBackAt = h(15);
  const demand = spec(
    [
      { type: 'scale', from: h(2), to: h(3), factor: 0.2, dcs: [lost] }, // a quiet-night dip: under the guard
      { type: 'scale', from: h(8), to: h(10), factor: 0.3 }, // a holiday: every DC at 30 %
      { type: 'canary', from: h(11), to: h(12), weight: 0.5, dcs: [lost] }, // canary split at 50 % in one DC
      { type: 'scale', from: lossAt, factor: 0, dcs: [lost] }, // connectivity lost
      { type: 'probe-down', from: lossAt, to: probesBackAt, dcs: [lost] },
    ],
    h(16),
  );
  const demandTest = {
    name: `${service.name}: holiday dip, canary split and quiet night are silent; losing ${lost} fires within ${detect}m; draining resolves it; failback after probes pass ${o.health.failbackFor}`,
    interval: '1m',
    input_series: [
      ...serviceSeries(demand, service.name, seriesOpts),
      drainedSeries(service.name, lost, [{ from: drainAt }], demand.minutes),
      ...dcs.slice(1).map((dc) => drainedSeries(service.name, dc, [], demand.minutes)),
    ],
    alert_rule_test: [
      ...silentFailover(h(2) + 55),
      ...silentFailover(h(8.5)),
      ...silentFailover(h(9.9)),
      ...silentFailover(h(11.5)),
      ...silentFailover(h(11.95)),
      silent(lossAt + 2, 'TrafficDrop'),
      fires(lossAt + detect, 'TrafficDrop', lost),
      silent(lossAt + detect, 'TrafficVanished'),
      silent(drainAt + 2, 'TrafficDrop'), // drained: a share of 0 is expected
      silent(h(14.5), 'TrafficFailbackReady'), // probes still failing
      silent(probesBackAt + failback - 2, 'TrafficFailbackReady'),
      fires(probesBackAt + failback + 2, 'TrafficFailbackReady', lost),
      silent(probesBackAt + failback + 2, 'TrafficMetricMissing'),
    ],
  };

  // 2. the week after a clock change: the lost DC's day starts an hour later in UTC than last
  // week; then its series vanishes (failover), then every series (a blind criterion, no failover).
  const vanishAt = h(22);
  const missingAt = h(23);
  const clock = spec(
    [
      { type: 'shift', from: 6 * DAY, minutes: -60, dcs: [lost] },
      { type: 'vanish', from: vanishAt, dcs: [lost] },
      { type: 'vanish', from: missingAt },
    ],
    missingAt + detect + 2,
  );
  const clockChecks: number[] = [];
  for (let m = h(6); m <= h(10); m += 10) clockChecks.push(m);
  for (let m = h(19); m <= h(21.9); m += 10) clockChecks.push(m);
  const clockTest = {
    name: `${service.name}: the week after a clock change is silent at every ramp; a vanished DC fires TrafficVanished; the metric missing everywhere warns without failover`,
    interval: '1m',
    input_series: serviceSeries(clock, service.name, seriesOpts),
    alert_rule_test: [
      ...clockChecks.flatMap(silentFailover),
      silent(vanishAt + 2, 'TrafficVanished'),
      fires(vanishAt + detect, 'TrafficVanished', lost),
      silent(vanishAt + detect, 'TrafficDrop'),
      silent(vanishAt + detect, 'TrafficMetricMissing'),
      ...silentFailover(missingAt + detect),
      fires(missingAt + detect, 'TrafficMetricMissing'),
    ],
  };
  return [demandTest, clockTest];
}
