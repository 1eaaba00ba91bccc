/**
 * Flagger's risk rules for `topoforge diff`: the plugin that writes Canaries knows which
 * analysis fields make a rollout riskier (more failed checks tolerated, more traffic on the
 * canary, bigger steps, fewer iterations, looser metric thresholds), so the rules live here
 * rather than in the core. The Canary is read without trusting its shape: a tree read from
 * disk may hold anything.
 */
import type { KubeObject, ReviewRule, RiskRuleDefinition } from '@topoforge/plugin-sdk';
import { isObject as isObj } from '@topoforge/model';

const CANARY = { group: 'flagger.app', kind: 'Canary' } as const;

const field = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((cur, p) => (isObj(cur) ? cur[p] : undefined), v);
/** A number, or a numeric string (YAML written by hand may quote it). */
const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined;

export const canaryRemoved: RiskRuleDefinition = {
  id: 'canary-removed',
  title: 'Canary removed',
  kinds: [CANARY],
  severity: 'medium',
  why: 'new versions reach all users at once, without analysis or automatic rollback',
  compare: (before, after) => (before && !after ? ['the Canary no longer exists: changes roll out without analysis'] : []),
};

/** What got looser in the analysis of a Canary present on both sides, one line each. */
function loosened(before: Readonly<KubeObject>, after: Readonly<KubeObject>): string[] {
  const out: string[] = [];
  const aa = field(before, 'spec', 'analysis');
  const ab = field(after, 'spec', 'analysis');
  if (isObj(aa) && !isObj(ab)) return ['spec.analysis removed'];
  if (field(before, 'spec', 'skipAnalysis') !== true && field(after, 'spec', 'skipAnalysis') === true)
    out.push('spec.skipAnalysis turned on: promotion without analysis');
  const up = (name: string, why: string) => {
    const x = num(field(aa, name));
    const y = num(field(ab, name));
    if (x !== undefined && y !== undefined && y > x) out.push(`analysis.${name} ${x} → ${y} (${why})`);
    if (x !== undefined && y === undefined) out.push(`analysis.${name} ${x} → (none)`);
  };
  up('threshold', 'more failed checks tolerated before rollback');
  up('maxWeight', 'more traffic on the canary');
  up('stepWeight', 'bigger traffic steps');
  const ia = num(field(aa, 'iterations'));
  const ib = num(field(ab, 'iterations'));
  if (ia !== undefined && ib !== undefined && ib < ia) out.push(`analysis.iterations ${ia} → ${ib} (fewer checks before promotion)`);
  const sa = field(aa, 'stepWeights');
  const sb = field(ab, 'stepWeights');
  if (Array.isArray(sa) && Array.isArray(sb)) {
    const first = (xs: unknown[]) => num(xs[0]) ?? 0;
    if (first(sb) > first(sa) || sb.length < sa.length) out.push(`analysis.stepWeights ${JSON.stringify(sa)} → ${JSON.stringify(sb)} (bigger or fewer steps)`);
  }
  const metrics = (v: unknown) => new Map((Array.isArray(v) ? v : []).filter(isObj).map((m) => [String(m.name), m] as const));
  const mb = metrics(field(ab, 'metrics'));
  for (const [name, m] of metrics(field(aa, 'metrics'))) {
    const n = mb.get(name);
    if (!n) {
      out.push(`metric ${name} removed from the analysis`);
      continue;
    }
    const minA = num(field(m, 'thresholdRange', 'min'));
    const minB = num(field(n, 'thresholdRange', 'min'));
    const maxA = num(field(m, 'thresholdRange', 'max'));
    const maxB = num(field(n, 'thresholdRange', 'max'));
    if (minA !== undefined && (minB === undefined || minB < minA)) out.push(`metric ${name} thresholdRange.min ${minA} → ${minB ?? '(none)'}`);
    if (maxA !== undefined && (maxB === undefined || maxB > maxA)) out.push(`metric ${name} thresholdRange.max ${maxA} → ${maxB ?? '(none)'}`);
  }
  return out;
}

export const canaryLoosened: RiskRuleDefinition = {
  id: 'canary-loosened',
  title: 'Canary loosened',
  kinds: [CANARY],
  severity: 'low',
  why: 'a bad version gets more traffic or more failed checks before it is rolled back',
  compare: (before, after) => (before && after ? loosened(before, after) : []),
};

export const review: readonly ReviewRule[] = [canaryRemoved, canaryLoosened];
