import { describe, expect, it } from 'vitest';
import type { KubeObject, ReviewedObject } from '@topoforge/plugin-contract';
import { alertLoosened, alertRemoved, compareExpr, parsePromDuration, prometheusRuleReview } from '../src/index.js';

const rule = (name: string, where: string, ...rules: Record<string, unknown>[]): ReviewedObject => ({
  where,
  object: {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name, namespace: 'monitoring' },
    spec: { groups: [{ name, rules }] },
  } as KubeObject,
});
const drop = (extra: Record<string, unknown> = {}) => ({ alert: 'TrafficDrop', expr: 'x < 0.5', for: '5m', labels: { severity: 'critical' }, ...extra });
const ctx = { environment: 'prod', tier: () => undefined };

describe('the PrometheusRule review rules', () => {
  it('are one list of two environment-wide rules on PrometheusRules', () => {
    expect(prometheusRuleReview.map((r) => r.id)).toEqual(['alert-removed', 'alert-loosened']);
    expect(parsePromDuration('1h30m')).toBe(5_400_000);
    expect(compareExpr('x < 0.5', 'x < 0.3').kind).toBe('literals');
  });

  it('flag an alert gone from a DC, pointing at the object it was in', () => {
    const before = [rule('a', 'dc1', drop()), rule('a', 'dc2', drop())];
    const after = [rule('a', 'dc1', drop())];
    const found = alertRemoved.compareAll(before, after, ctx);
    expect(found.map((f) => [f.subject, f.detail, f.where])).toEqual([['alert TrafficDrop', 'the alert no longer exists', 'dc2']]);
    expect(found[0]!.about).toBe(before[1]);
    expect(alertLoosened.compareAll(before, after, ctx)).toEqual([]);
  });

  it('do not flag an alert that moved to another PrometheusRule of the same DC', () => {
    expect(alertRemoved.compareAll([rule('a', 'dc1', drop())], [rule('b', 'dc1', drop())], ctx)).toEqual([]);
  });

  it('flag a longer for, a lower severity and a looser threshold, one line each', () => {
    const after = [rule('a', 'dc1', drop({ for: '15m', labels: { severity: 'warning' }, expr: 'x < 0.3' }))];
    expect(alertLoosened.compareAll([rule('a', 'dc1', drop())], after, ctx).map((f) => f.detail)).toEqual([
      'for 5m → 15m (must hold longer before it fires)',
      'severity critical → warning',
      'threshold 0.5 → 0.3 (fires less often)',
    ]);
  });
});
