/**
 * Traffic-drop alert rules and their promtool unit tests.
 *
 * TrafficDrop: the request rate is below `dropRatio` × the rate at the same time last week,
 * and last week had at least `minRequestsPerSecond` (quiet nights don't page), for `for`.
 * TrafficVanished: the ratio above returns nothing once the series is gone, so a second
 * rule fires when no sample arrived for a rate window while last week had traffic.
 */
import type { Environment, Service } from '@topoforge/model';

export const ACTION_LABEL = 'action';
export const FAILOVER_ACTION = 'failover';

export interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export interface RuleOptions {
  readonly dcLabel: string;
  readonly runbookBaseUrl: string;
}

function selector(service: Service, dc: string, dcLabel: string): string {
  const m = { ...service.traffic.selector, [dcLabel]: dc };
  return Object.keys(m)
    .sort()
    .map((k) => `${k}="${m[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',');
}

export function serviceRules(env: Environment, service: Service, dc: string, targets: readonly string[], o: RuleOptions): RuleGroup {
  const p = service.policies.trafficDrop!;
  const sel = `${service.traffic.metric}{${selector(service, dc, o.dcLabel)}}`;
  const now = `sum(rate(${sel}[${p.rateWindow}]))`;
  const lastWeek = `sum(rate(${sel}[${p.rateWindow}] offset 1w))`;
  const labels = {
    service: service.name,
    dc,
    recovery_priority: String(service.recoveryPriority),
    severity: p.severity,
    [ACTION_LABEL]: FAILOVER_ACTION,
    environment: env.name,
  };
  const annotations = (what: string) => ({
    summary: `${service.name} traffic in ${dc} ${what}`,
    failover_targets: targets.join(','),
    runbook_url: `${o.runbookBaseUrl}#${what === 'dropped' ? 'traffic-drop' : 'traffic-vanished'}`,
  });
  return {
    name: `traffic-${service.name}-${dc}`,
    rules: [
      {
        alert: 'TrafficDrop',
        expr: `(${now} < ${p.dropRatio} * ${lastWeek}) and (${lastWeek} > ${p.minRequestsPerSecond})`,
        for: p.for,
        labels,
        annotations: annotations('dropped'),
      },
      {
        alert: 'TrafficVanished',
        expr: `absent_over_time(${sel}[${p.rateWindow}]) and on() (${lastWeek} > ${p.minRequestsPerSecond})`,
        for: p.for,
        labels,
        annotations: annotations('vanished'),
      },
    ],
  };
}

const durationMinutes = (d: string): number => {
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(m[1]) * ({ ms: 1 / 60000, s: 1 / 60, m: 1, h: 60 }[m[2] as 'ms' | 's' | 'm' | 'h'] ?? 0);
  return total;
};

/** promtool input notation for a counter going through (minutes, requests per second) segments. */
export function counterSeries(segments: readonly (readonly [minutes: number, rps: number])[]): string {
  const parts: string[] = [];
  let value = 0;
  let first = true;
  for (const [minutes, rps] of segments) {
    const inc = Math.round(rps * 60);
    const start = first ? 0 : value + inc;
    // `a+bxn` is n+1 samples: a, a+b, …, a+nb
    const n = first ? minutes : minutes - 1;
    parts.push(`${start}+${inc}x${n}`);
    value = start + inc * n;
    first = false;
  }
  return parts.join(' ');
}

/**
 * promtool unit test for one service in one DC: one counter over a week and a day with
 * quiet nights (below the minimum-traffic guard) and busy days, so `offset 1w` sees the
 * same pattern; then, on the second week's first day:
 *   - a quiet night that matches last week, with a dip → silent (the guard);
 *   - a normal busy morning → silent;
 *   - a sharp drop → TrafficDrop fires within rate window + for;
 *   - the series vanishes → TrafficVanished fires.
 * One series and one group per test file keeps promtool fast: it evaluates every rule of
 * the file at every step of the simulated week.
 */
export function serviceTests(env: Environment, service: Service, dc: string, group: RuleGroup, o: RuleOptions): unknown[] {
  const p = service.policies.trafficDrop!;
  const series = `${service.traffic.metric}{${selector(service, dc, o.dcLabel)}}`;
  const busy = Math.max(10, Math.ceil(p.minRequestsPerSecond * 4)); // well above the guard
  const quiet = Math.max(1 / 60, p.minRequestsPerSecond / 2); // a night below the guard
  const night = 360; // 00:00–06:00
  const day = 1440;
  const week: [number, number][] = [];
  for (let d = 0; d < 7; d++) week.push([night, quiet], [day - night, busy]);
  const detect = Math.ceil(durationMinutes(p.rateWindow) + durationMinutes(p.for)) + 1;
  const t0 = 7 * day; // second week, 00:00
  const dipAt = t0 + 120;
  const morning = t0 + night + 60;
  const dropAt = t0 + night + 120;
  const vanishAt = dropAt + 60;
  const segments: [number, number][] = [
    ...week,
    [120, quiet], // like last week
    [60, quiet / 4], // a dip at night: ratio < dropRatio, but last week was below the guard
    [night - 180, quiet],
    [120, busy], // normal morning
    [60, busy * p.dropRatio / 5], // sharp drop
  ];
  const exp = (alert: string) => {
    const r = group.rules.find((x) => x.alert === alert)!;
    return [{ exp_labels: r.labels, exp_annotations: r.annotations }];
  };
  const at = (m: number) => `${m}m`;
  return [
    {
      name: `${service.name}/${dc}: quiet night silent, normal day silent, sharp drop fires within ${detect}m, vanished series fires`,
      interval: '1m',
      input_series: [{ series, values: counterSeries(segments) }],
      alert_rule_test: [
        { eval_time: at(dipAt + 55), alertname: 'TrafficDrop', exp_alerts: [] },
        { eval_time: at(dipAt + 55), alertname: 'TrafficVanished', exp_alerts: [] },
        { eval_time: at(morning), alertname: 'TrafficDrop', exp_alerts: [] },
        { eval_time: at(dropAt + 2), alertname: 'TrafficDrop', exp_alerts: [] },
        { eval_time: at(dropAt + detect), alertname: 'TrafficDrop', exp_alerts: exp('TrafficDrop') },
        { eval_time: at(dropAt + detect), alertname: 'TrafficVanished', exp_alerts: [] },
        { eval_time: at(vanishAt + detect + 1), alertname: 'TrafficVanished', exp_alerts: exp('TrafficVanished') },
      ],
    },
  ];
}
