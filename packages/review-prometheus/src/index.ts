/**
 * Review rules for prometheus-operator PrometheusRules. Several plugins emit them (traffic
 * drops from plugins/traffic-alerts, backup alerts from plugins/velero), so no one plugin owns
 * the rules: each of those plugins registers `prometheusRuleReview` in its contract `review`,
 * and `topoforge diff` runs a rule id once however many plugins register it (the first
 * registration counts). A team's plugin that emits PrometheusRules can register them too.
 *
 * Alerts are matched by DC and alert name across every PrometheusRule of the environment, so
 * an alert that moves between PrometheusRules is not "removed". Each rule reads the upstream
 * semantics (`for`, `labels.severity`, the thresholds of `expr`) and errs on the side of flagging.
 */
import { isObject } from '@topoforge/model';
import type { EnvironmentRiskRuleDefinition, ReviewedObject, ReviewRule, RiskFinding } from '@topoforge/plugin-contract';
import { parsePromDuration } from './durations.js';
import { compareExpr } from './promql.js';

export { compareExpr, type Direction, type ExprChange, type LiteralChange } from './promql.js';
export { parsePromDuration } from './durations.js';

const PROMETHEUS_RULE = { group: 'monitoring.coreos.com', kind: 'PrometheusRule' } as const;

const get = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((cur, p) => (isObject(cur) ? cur[p] : undefined), v);

interface AlertRule {
  readonly of: ReviewedObject;
  readonly subject: string;
  readonly rule: Readonly<Record<string, unknown>>;
}

/** `<where>|<alert>` → the alert rules of that name in that DC, in object order. */
function alerts(objects: readonly ReviewedObject[]): Map<string, AlertRule[]> {
  const m = new Map<string, AlertRule[]>();
  for (const o of objects) {
    const groups = get(o.object, 'spec', 'groups');
    for (const g of Array.isArray(groups) ? groups : []) {
      const rules = get(g, 'rules');
      for (const r of Array.isArray(rules) ? rules : []) {
        if (!isObject(r) || typeof r.alert !== 'string') continue;
        const key = `${o.where}|${r.alert}`;
        m.set(key, [...(m.get(key) ?? []), { of: o, subject: `alert ${r.alert}`, rule: r }]);
      }
    }
  }
  return m;
}

const SEVERITY: Readonly<Record<string, number>> = { none: 0, info: 1, warning: 2, error: 3, high: 3, critical: 4, page: 4 };

/** What got looser in an alert present on both sides, one line each. */
function loosened(before: AlertRule['rule'], after: AlertRule['rule']): string[] {
  const out: string[] = [];
  const fa = typeof before.for === 'string' ? parsePromDuration(before.for) : 0;
  const fb = typeof after.for === 'string' ? parsePromDuration(after.for) : 0;
  if (fa === undefined || fb === undefined) {
    if (before.for !== after.for) out.push(`for ${String(before.for)} → ${String(after.for)}: not a duration, check it`);
  } else if (fb > fa) out.push(`for ${String(before.for ?? '0s')} → ${String(after.for)} (must hold longer before it fires)`);
  const sa = get(before, 'labels', 'severity');
  const sb = get(after, 'labels', 'severity');
  if (typeof sa === 'string' && sa !== sb) {
    const x = SEVERITY[sa.toLowerCase()];
    const y = typeof sb === 'string' ? SEVERITY[sb.toLowerCase()] : 0;
    if (x !== undefined && (y === undefined || y < x)) out.push(`severity ${sa} → ${typeof sb === 'string' ? sb : '(none)'}`);
  }
  const ea = before.expr;
  const eb = after.expr;
  if (typeof ea === 'string' && typeof eb === 'string') {
    const c = compareExpr(ea, eb);
    if (c.kind === 'rewritten') out.push('expression rewritten beyond its thresholds: check what it fires on');
    else if (c.kind === 'literals') {
      for (const l of c.changes) {
        if (l.direction === 'looser') out.push(`threshold ${l.before} → ${l.after} (fires less often)`);
        else if (l.direction === 'unknown') out.push(`changed threshold ${l.before} → ${l.after}, check direction`);
      }
    }
  } else if (JSON.stringify(ea) !== JSON.stringify(eb)) out.push('expression changed: check what it fires on');
  return out;
}

/**
 * Pairs the alerts of each DC and name before and after (in order) and reports each pair
 * through `judge`; an alert with no partner after is `after` undefined.
 */
function eachAlert(
  before: readonly ReviewedObject[],
  after: readonly ReviewedObject[],
  judge: (was: AlertRule, now: AlertRule | undefined, count: { before: number; after: number }) => readonly string[],
): RiskFinding[] {
  const out: RiskFinding[] = [];
  const now = alerts(after);
  for (const [key, list] of alerts(before)) {
    const later = now.get(key) ?? [];
    list.forEach((was, i) => {
      const is = later[i];
      for (const detail of judge(was, is, { before: list.length, after: later.length }))
        out.push({ subject: was.subject, detail, where: was.of.where, about: (is ?? was).of });
    });
  }
  return out;
}

export const alertRemoved: EnvironmentRiskRuleDefinition = {
  id: 'alert-removed',
  title: 'Alert removed',
  kinds: [PROMETHEUS_RULE],
  severity: 'medium',
  why: 'a traffic drop goes unnoticed and failover is not triggered',
  compareAll: (before, after) =>
    eachAlert(before, after, (was, is, n) =>
      is ? [] : [n.after === 0 ? 'the alert no longer exists' : `${n.before} rules named ${String(was.rule.alert)} before, ${n.after} now`],
    ),
};

export const alertLoosened: EnvironmentRiskRuleDefinition = {
  id: 'alert-loosened',
  title: 'Alert loosened',
  kinds: [PROMETHEUS_RULE],
  severity: 'low',
  why: 'a traffic drop is noticed later, or not at all, so failover starts later',
  compareAll: (before, after) => eachAlert(before, after, (was, is) => (is ? loosened(was.rule, is.rule) : [])),
};

/** Register in every plugin that emits PrometheusRules: `review: [...ownRules, ...prometheusRuleReview]`. */
export const prometheusRuleReview: readonly ReviewRule[] = [alertRemoved, alertLoosened];
