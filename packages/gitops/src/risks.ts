/**
 * Risk flags: changes a reviewer must not miss, found by comparing the objects of one
 * environment before and after. Each rule reads the upstream semantics of the resource
 * (Velero, Flagger, prometheus-operator) and errs on the side of flagging.
 */
import type { Tier } from '@topoforge/model';
import type { KubeObject, RiskRuleDefinition, RiskSeverity } from '@topoforge/plugin-contract';
import { parsePromDuration } from './durations.js';
import { objectLabel, type Json, type JsonObject, type ObjectRecord, type ParsedEnvironment } from './objects.js';
import { compareExpr } from './promql.js';
import { scanObject, scanText } from './secrets.js';
import { foldFlags } from './fold.js';
import type { InputChange } from './provenance.js';

/** The core's own rules (and velero's, whose tables stay here); plugins add theirs (`review` in the plugin contract), so a rule id is any string. */
export type BuiltinRiskRule =
  | 'backup-retention-reduced'
  | 'backup-schedule-removed'
  | 'backup-location-dropped'
  | 'canary-removed'
  | 'canary-loosened'
  | 'alert-removed'
  | 'alert-loosened'
  | 'service-redundancy-lost'
  | 'secret-in-plain-text'
  | 'dc-removed';
// `string & {}` keeps editor completion for the built-in ids.
export type RiskRule = BuiltinRiskRule | (string & {});

export type Severity = RiskSeverity;
export const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

export const RISK_TITLES: Readonly<Record<BuiltinRiskRule, string>> = {
  'backup-retention-reduced': 'Backup retention reduced',
  'backup-schedule-removed': 'Backup schedule removed',
  'backup-location-dropped': 'DC dropped from the backup rotation',
  'canary-removed': 'Canary removed',
  'canary-loosened': 'Canary loosened',
  'alert-removed': 'Alert removed',
  'alert-loosened': 'Alert loosened',
  'service-redundancy-lost': 'Client-facing service lost DC redundancy',
  'secret-in-plain-text': 'Secret value in plain text',
  'dc-removed': 'DC removed',
};

/** How bad each kind of change is; flags are listed most severe first. */
export const RISK_SEVERITY: Readonly<Record<BuiltinRiskRule, Severity>> = {
  'secret-in-plain-text': 'critical',
  'dc-removed': 'high',
  'backup-location-dropped': 'high',
  'service-redundancy-lost': 'high',
  'backup-schedule-removed': 'high',
  'backup-retention-reduced': 'medium',
  'canary-removed': 'medium',
  'alert-removed': 'medium',
  'canary-loosened': 'low',
  'alert-loosened': 'low',
};

/** One line a reviewer reads to judge the flag. */
export const RISK_WHY: Readonly<Record<BuiltinRiskRule, string>> = {
  'secret-in-plain-text': 'anyone who can read the GitOps repository can read it, and git history keeps it after a fix',
  'dc-removed': 'everything that ran there stops: its users fail over to other DCs and it leaves the backup rotation',
  'backup-location-dropped': 'backups no longer land in this storage: the rotation shrinks and restores from there find only old backups',
  'service-redundancy-lost': 'fewer DCs to fail over to: one more DC loss can take the service down',
  'backup-schedule-removed': 'no new backups from this schedule: a restore goes back to the last one taken',
  'backup-retention-reduced': 'older backups expire sooner: damage found late can no longer be restored from before it began',
  'canary-removed': 'new versions reach all users at once, without analysis or automatic rollback',
  'alert-removed': 'a traffic drop goes unnoticed and failover is not triggered',
  'canary-loosened': 'a bad version gets more traffic or more failed checks before it is rolled back',
  'alert-loosened': 'a traffic drop is noticed later, or not at all, so failover starts later',
};

export interface RiskFlag {
  readonly rule: RiskRule;
  /** The rule's title, e.g. `Backup retention reduced`. */
  readonly title: string;
  /** The plugin that contributed the rule; absent for the core's rules. */
  readonly plugin?: string;
  readonly environment: string;
  /** What the flag is about, e.g. `Schedule velero/social-network-daily`. */
  readonly subject: string;
  /** What changed, e.g. `spec.template.ttl 168h0m0s → 72h0m0s (7d → 3d)`. */
  readonly detail: string;
  /** DCs (or top-level directories) where it happens; sorted. */
  readonly where: readonly string[];
  readonly severity: Severity;
  /** Why it matters, one line. */
  readonly why: string;
  /** Files of the flagged objects (for provenance); sorted. */
  readonly paths: readonly string[];
  /** Consequences this change explains, not flagged on their own (e.g. `2 × Canary removed`). */
  readonly explains: readonly string[];
  /** Input subtrees (JSON pointers) it draws on besides those of its objects' files. */
  readonly inputs?: readonly string[];
  /** The input values whose change produced it (when both sides come from environment files). */
  readonly because?: readonly InputChange[];
}

/** A flag as a rule finds it: one object in one place (folded across DCs later, in fold.ts). */
export interface Flag {
  readonly rule: RiskRule;
  readonly environment: string;
  readonly subject: string;
  readonly detail: string;
  /** The DC (scope) of the object, or '' for flags about the environment as a whole. */
  readonly where: string;
  /** The object's file, to find the input values that produced it. */
  readonly path?: string;
  /** The service the object belongs to (label topoforge.io/service). */
  readonly service?: string;
  /** Set by a plugin's rule: its title, plugin, severity and reason (the core's rules use the tables above). */
  readonly title?: string;
  readonly plugin?: string;
  readonly severity?: Severity;
  readonly why?: string;
}

/** A review rule a plugin contributes, with the plugin's name. */
export interface PluginRiskRule {
  readonly plugin: string;
  readonly rule: RiskRuleDefinition;
}

const isBuiltin = (rule: RiskRule): rule is BuiltinRiskRule => Object.hasOwn(RISK_TITLES, rule);
/** A flag's title: the plugin rule's own, else the core's table, else its id. */
export const titleOf = (f: { rule: RiskRule; title?: string }): string => f.title ?? (isBuiltin(f.rule) ? RISK_TITLES[f.rule] : f.rule);
/** A plugin rule without a severity is `medium`: worth a reviewer's look, not an alarm. */
export const severityOf = (f: { rule: RiskRule; severity?: Severity }): Severity => f.severity ?? (isBuiltin(f.rule) ? RISK_SEVERITY[f.rule] : 'medium');
export const whyOf = (f: { rule: RiskRule; why?: string }): string => f.why ?? (isBuiltin(f.rule) ? RISK_WHY[f.rule] : 'the plugin that rendered it flags this change for review');

const svcOf = (o: { object: Json }): string | undefined => {
  const s = get(o.object, 'metadata', 'labels', 'topoforge.io/service');
  return typeof s === 'string' ? s : undefined;
};
const about = (o: ObjectRecord): { path: string; service?: string } => {
  const service = svcOf(o);
  return { path: o.path, ...(service ? { service } : {}) };
};

const isObj = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const get = (v: Json | undefined, ...path: string[]): Json | undefined => {
  let cur: Json | undefined = v;
  for (const p of path) cur = isObj(cur) ? cur[p] : undefined;
  return cur;
};
const num = (v: Json | undefined): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined);

const EMPTY: ParsedEnvironment = { name: '', objects: new Map(), files: new Map(), duplicates: [] };

function byKind(env: ParsedEnvironment, group: string, kind: string): ObjectRecord[] {
  return [...env.objects.values()].filter((o) => o.group === group && o.kind === kind);
}

function backupRules(envName: string, a: ParsedEnvironment, b: ParsedEnvironment, out: Flag[]): void {
  for (const before of byKind(a, 'velero.io', 'Schedule')) {
    const after = b.objects.get(before.id);
    if (!after || after.kind !== 'Schedule') {
      out.push({ rule: 'backup-schedule-removed', environment: envName, subject: objectLabel(before), detail: `schedule ${JSON.stringify(get(before.object, 'spec', 'schedule') ?? '')} no longer exists`, where: before.scope, ...about(before) });
    }
    // A shorter ttl is velero's own review rule (plugins/velero/src/review.ts).
  }
  for (const before of byKind(a, 'velero.io', 'BackupStorageLocation')) {
    if (!b.objects.has(before.id)) {
      out.push({ rule: 'backup-location-dropped', environment: envName, subject: objectLabel(before), detail: `BackupStorageLocation removed (bucket ${JSON.stringify(get(before.object, 'spec', 'objectStorage', 'bucket') ?? '?')})`, where: before.scope, ...about(before) });
    }
  }
  const locations = (env: ParsedEnvironment) => {
    const m = new Map<string, Set<string>>();
    for (const s of byKind(env, 'velero.io', 'Schedule')) {
      const loc = get(s.object, 'spec', 'template', 'storageLocation');
      const name = typeof loc === 'string' && loc !== '' ? loc : '(default location)';
      m.set(name, (m.get(name) ?? new Set()).add(s.scope));
    }
    return m;
  };
  const la = locations(a);
  const lb = locations(b);
  for (const [loc, scopes] of la) {
    if (!lb.has(loc)) {
      out.push({ rule: 'backup-location-dropped', environment: envName, subject: `storage location ${loc}`, detail: `no Schedule writes to ${loc} any more (it was used by Schedules in ${[...scopes].sort().join(', ')})`, where: '' });
    }
  }
}

function canaryRules(envName: string, a: ParsedEnvironment, b: ParsedEnvironment, out: Flag[]): void {
  for (const before of byKind(a, 'flagger.app', 'Canary')) {
    const after = b.objects.get(before.id);
    const flag = (detail: string, rule: RiskRule = 'canary-loosened') => out.push({ rule, environment: envName, subject: objectLabel(before), detail, where: before.scope, ...about(after ?? before) });
    if (!after) {
      flag('the Canary no longer exists: changes roll out without analysis', 'canary-removed');
      continue;
    }
    const aa = get(before.object, 'spec', 'analysis');
    const ab = get(after.object, 'spec', 'analysis');
    if (isObj(aa) && !isObj(ab)) {
      flag('spec.analysis removed');
      continue;
    }
    if (get(before.object, 'spec', 'skipAnalysis') !== true && get(after.object, 'spec', 'skipAnalysis') === true) flag('spec.skipAnalysis turned on: promotion without analysis');
    const up = (field: string, why: string) => {
      const x = num(get(aa, field));
      const y = num(get(ab, field));
      if (x !== undefined && y !== undefined && y > x) flag(`analysis.${field} ${x} → ${y} (${why})`);
      if (x !== undefined && y === undefined) flag(`analysis.${field} ${x} → (none)`);
    };
    up('threshold', 'more failed checks tolerated before rollback');
    up('maxWeight', 'more traffic on the canary');
    up('stepWeight', 'bigger traffic steps');
    const ia = num(get(aa, 'iterations'));
    const ib = num(get(ab, 'iterations'));
    if (ia !== undefined && ib !== undefined && ib < ia) flag(`analysis.iterations ${ia} → ${ib} (fewer checks before promotion)`);
    const sa = get(aa, 'stepWeights');
    const sb = get(ab, 'stepWeights');
    if (Array.isArray(sa) && Array.isArray(sb)) {
      const first = (xs: Json[]) => num(xs[0]) ?? 0;
      if (first(sb) > first(sa) || sb.length < sa.length) flag(`analysis.stepWeights ${JSON.stringify(sa)} → ${JSON.stringify(sb)} (bigger or fewer steps)`);
    }
    const metrics = (v: Json | undefined) => new Map((Array.isArray(v) ? v : []).filter(isObj).map((m) => [String(m.name), m] as const));
    const ma = metrics(get(aa, 'metrics'));
    const mb = metrics(get(ab, 'metrics'));
    for (const [name, m] of ma) {
      const n = mb.get(name);
      if (!n) {
        flag(`metric ${name} removed from the analysis`);
        continue;
      }
      const ra = get(m, 'thresholdRange');
      const rb = get(n, 'thresholdRange');
      const minA = num(get(ra, 'min'));
      const minB = num(get(rb, 'min'));
      const maxA = num(get(ra, 'max'));
      const maxB = num(get(rb, 'max'));
      if (minA !== undefined && (minB === undefined || minB < minA)) flag(`metric ${name} thresholdRange.min ${minA} → ${minB ?? '(none)'}`);
      if (maxA !== undefined && (maxB === undefined || maxB > maxA)) flag(`metric ${name} thresholdRange.max ${maxA} → ${maxB ?? '(none)'}`);
    }
  }
}

interface AlertRule {
  readonly scope: string;
  readonly path: string;
  readonly service?: string;
  readonly subject: string;
  readonly rule: JsonObject;
}

function alerts(env: ParsedEnvironment): Map<string, AlertRule[]> {
  const m = new Map<string, AlertRule[]>();
  for (const o of byKind(env, 'monitoring.coreos.com', 'PrometheusRule')) {
    const groups = get(o.object, 'spec', 'groups');
    for (const g of Array.isArray(groups) ? groups : []) {
      const rules = get(g, 'rules');
      for (const r of Array.isArray(rules) ? rules : []) {
        if (!isObj(r) || typeof r.alert !== 'string') continue;
        const key = `${o.scope}|${r.alert}`;
        m.set(key, [...(m.get(key) ?? []), { scope: o.scope, ...about(o), subject: `alert ${r.alert}`, rule: r }]);
      }
    }
  }
  return m;
}

const SEVERITY: Readonly<Record<string, number>> = { none: 0, info: 1, warning: 2, error: 3, high: 3, critical: 4, page: 4 };

function alertRules(envName: string, a: ParsedEnvironment, b: ParsedEnvironment, out: Flag[]): void {
  const aa = alerts(a);
  const ab = alerts(b);
  for (const [key, list] of aa) {
    const now = ab.get(key) ?? [];
    list.forEach((before, i) => {
      const after = now[i];
      const flag = (detail: string, rule: RiskRule = 'alert-loosened') =>
        out.push({ rule, environment: envName, subject: before.subject, detail, where: before.scope, path: (after ?? before).path, ...(before.service ? { service: before.service } : {}) });
      if (!after) {
        flag(now.length === 0 ? 'the alert no longer exists' : `${list.length} rules named ${String(before.rule.alert)} before, ${now.length} now`, 'alert-removed');
        return;
      }
      const fa = typeof before.rule.for === 'string' ? parsePromDuration(before.rule.for) : 0;
      const fb = typeof after.rule.for === 'string' ? parsePromDuration(after.rule.for) : 0;
      if (fa === undefined || fb === undefined) {
        if (before.rule.for !== after.rule.for) flag(`for ${String(before.rule.for)} → ${String(after.rule.for)}: not a duration, check it`);
      } else if (fb > fa) flag(`for ${String(before.rule.for ?? '0s')} → ${String(after.rule.for)} (must hold longer before it fires)`);
      const sa = get(before.rule, 'labels', 'severity');
      const sb = get(after.rule, 'labels', 'severity');
      if (typeof sa === 'string' && sa !== sb) {
        const x = SEVERITY[sa.toLowerCase()];
        const y = typeof sb === 'string' ? SEVERITY[sb.toLowerCase()] : 0;
        if (x !== undefined && (y === undefined || y < x)) flag(`severity ${sa} → ${typeof sb === 'string' ? sb : '(none)'}`);
      }
      const ea = before.rule.expr;
      const eb = after.rule.expr;
      if (typeof ea === 'string' && typeof eb === 'string') {
        const c = compareExpr(ea, eb);
        if (c.kind === 'rewritten') flag('expression rewritten beyond its thresholds: check what it fires on');
        else if (c.kind === 'literals') {
          for (const l of c.changes) {
            if (l.direction === 'looser') flag(`threshold ${l.before} → ${l.after} (fires less often)`);
            else if (l.direction === 'unknown') flag(`changed threshold ${l.before} → ${l.after}, check direction`);
          }
        }
      } else if (JSON.stringify(ea) !== JSON.stringify(eb)) flag('expression changed: check what it fires on');
    });
  }
}

/** service → DCs it has objects in (labels topoforge.io/service and topoforge.io/dc). */
function placement(env: ParsedEnvironment): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const o of env.objects.values()) {
    const labels = get(o.object, 'metadata', 'labels');
    const svc = get(labels, 'topoforge.io/service');
    const dc = get(labels, 'topoforge.io/dc');
    if (typeof svc === 'string' && typeof dc === 'string') m.set(svc, (m.get(svc) ?? new Set()).add(dc));
  }
  return m;
}

function redundancyRules(envName: string, a: ParsedEnvironment, b: ParsedEnvironment, tiers: ReadonlyMap<string, Tier> | undefined, out: Flag[]): void {
  const pa = placement(a);
  const pb = placement(b);
  const services = [...new Set([...pa.keys(), ...pb.keys()])].sort();
  for (const s of services) {
    // Without the model (a directory on both sides) every service counts as client-facing.
    if ((tiers?.get(s) ?? 'client-facing') !== 'client-facing') continue;
    const before = pa.get(s) ?? new Set<string>();
    const after = pb.get(s) ?? new Set<string>();
    const dropped = [...before].filter((d) => !after.has(d)).sort();
    if (after.size < before.size) {
      out.push({ rule: 'service-redundancy-lost', environment: envName, subject: `service ${s}`, detail: `${before.size} → ${after.size} DCs (no longer in ${dropped.join(', ')})`, where: '', service: s });
    } else if (after.size > 0 && after.size < 2 && (before.size >= 2 || before.size === 0)) {
      out.push({ rule: 'service-redundancy-lost', environment: envName, subject: `service ${s}`, detail: `runs in ${after.size} DC only (${[...after].join(', ')}): no failover target`, where: '', service: s });
    }
  }
}

function secretRules(envName: string, a: ParsedEnvironment, b: ParsedEnvironment, out: Flag[]): void {
  for (const o of b.objects.values()) {
    const before = a.objects.get(o.id);
    if (before && JSON.stringify(before.object) === JSON.stringify(o.object)) continue;
    for (const f of scanObject(o.object)) out.push({ rule: 'secret-in-plain-text', environment: envName, subject: objectLabel(o), detail: `${f.where}: ${f.reason}`, where: o.scope, ...about(o) });
  }
  for (const f of b.files.values()) {
    if (a.files.get(f.path)?.content === f.content) continue;
    for (const s of scanText(f.content)) out.push({ rule: 'secret-in-plain-text', environment: envName, subject: f.path, detail: `${s.where}: ${s.reason}`, where: '', path: f.path });
  }
}

/** Plugins' rules: each compares the objects of its kinds that exist on either side. */
function pluginRules(envName: string, a: ParsedEnvironment, b: ParsedEnvironment, tiers: ReadonlyMap<string, Tier> | undefined, rules: readonly PluginRiskRule[], out: Flag[]): void {
  for (const { plugin, rule } of rules) {
    const wanted = (o: ObjectRecord) => rule.kinds.some((k) => k.group === o.group && k.kind === o.kind);
    const ids = new Set([...[...a.objects.values()].filter(wanted), ...[...b.objects.values()].filter(wanted)].map((o) => o.id));
    for (const id of [...ids].sort()) {
      const x = a.objects.get(id);
      const y = b.objects.get(id);
      const shown = (y ?? x)!;
      const details = rule.compare(x?.object as Readonly<KubeObject> | undefined, y?.object as Readonly<KubeObject> | undefined, { environment: envName, where: shown.scope, tier: (s) => tiers?.get(s) });
      for (const detail of details) {
        out.push({
          rule: rule.id,
          title: rule.title,
          plugin,
          ...(rule.severity ? { severity: rule.severity } : {}),
          ...(rule.why ? { why: rule.why } : {}),
          environment: envName,
          subject: objectLabel(shown),
          detail,
          where: shown.scope,
          ...about(shown),
        });
      }
    }
  }
}

/** Every risk flag between two versions of one environment (either may be missing). */
export function riskFlags(envName: string, before: ParsedEnvironment | undefined, after: ParsedEnvironment | undefined, tiers?: ReadonlyMap<string, Tier>, rules: readonly PluginRiskRule[] = []): RiskFlag[] {
  const a = before ?? EMPTY;
  const b = after ?? EMPTY;
  const flat: Flag[] = [];
  backupRules(envName, a, b, flat);
  canaryRules(envName, a, b, flat);
  alertRules(envName, a, b, flat);
  redundancyRules(envName, a, b, tiers, flat);
  secretRules(envName, a, b, flat);
  pluginRules(envName, a, b, tiers, rules, flat);
  // The same change in many DCs is one flag listing the DCs; consequences of a bigger
  // change (a DC or a service leaving a DC) are counted on it, not flagged again.
  return foldFlags(envName, flat, a, b);
}
