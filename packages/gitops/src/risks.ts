/**
 * Risk flags: changes a reviewer must not miss, found by comparing the objects of one
 * environment before and after. The core keeps the rules about the topology (DCs, service
 * placement) and secrets; the rules about objects plugins emit are the plugins' `review`
 * contribution: Velero's backup rules live in plugins/velero, Flagger's canary rules in
 * plugins/flagger, and the PrometheusRule rules (alert removed / loosened), which several
 * plugins share, in @topoforge/review-prometheus, registered by each plugin that emits
 * PrometheusRules (traffic-alerts, velero) and run once per rule id. Each rule reads the
 * upstream semantics of the resource and errs on the side of flagging.
 */
import type { Tier } from '@topoforge/model';
import { LABEL_DC, LABEL_SERVICE, type KubeObject, type ReviewedObject, type ReviewRule, type RiskSeverity } from '@topoforge/plugin-contract';
import { isObj, objectLabel, ordered, serviceOf, type ObjectRecord, type ParsedEnvironment } from './objects.js';
import { scanObject, scanText } from './secrets.js';
import { foldFlags } from './fold.js';
import type { InputChange } from './provenance.js';

/** The core's own rules; plugins add theirs (`review` in the plugin contract), so a rule id is any string. */
export type BuiltinRiskRule = 'service-redundancy-lost' | 'secret-in-plain-text' | 'dc-removed';
// `string & {}` keeps editor completion for the built-in ids.
export type RiskRule = BuiltinRiskRule | (string & {});

export type Severity = RiskSeverity;
export const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

export const RISK_TITLES: Readonly<Record<BuiltinRiskRule, string>> = {
  'service-redundancy-lost': 'Client-facing service lost DC redundancy',
  'secret-in-plain-text': 'Secret value in plain text',
  'dc-removed': 'DC removed',
};

/** How bad each kind of change is; flags are listed most severe first. */
export const RISK_SEVERITY: Readonly<Record<BuiltinRiskRule, Severity>> = {
  'secret-in-plain-text': 'critical',
  'dc-removed': 'high',
  'service-redundancy-lost': 'high',
};

/** One line a reviewer reads to judge the flag. */
export const RISK_WHY: Readonly<Record<BuiltinRiskRule, string>> = {
  'secret-in-plain-text': 'anyone who can read the GitOps repository can read it, and git history keeps it after a fix',
  'dc-removed': 'everything that ran there stops: its users fail over to other DCs and it leaves the backup rotation',
  'service-redundancy-lost': 'fewer DCs to fail over to: one more DC loss can take the service down',
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
  readonly rule: ReviewRule;
}

const isBuiltin = (rule: RiskRule): rule is BuiltinRiskRule => Object.hasOwn(RISK_TITLES, rule);
/** A flag's title: the plugin rule's own, else the core's table, else its id. */
export const titleOf = (f: { rule: RiskRule; title?: string }): string => f.title ?? (isBuiltin(f.rule) ? RISK_TITLES[f.rule] : f.rule);
/** A plugin rule without a severity is `medium`: worth a reviewer's look, not an alarm. */
export const severityOf = (f: { rule: RiskRule; severity?: Severity }): Severity => f.severity ?? (isBuiltin(f.rule) ? RISK_SEVERITY[f.rule] : 'medium');
export const whyOf = (f: { rule: RiskRule; why?: string }): string =>
  f.why ?? (isBuiltin(f.rule) ? RISK_WHY[f.rule] : 'the plugin that rendered it flags this change for review');

const about = (o: ObjectRecord): { path: string; service?: string } => {
  const service = serviceOf(o);
  return { path: o.path, ...(service ? { service } : {}) };
};

const EMPTY: ParsedEnvironment = { name: '', objects: new Map(), files: new Map(), duplicates: [] };

/** service → DCs it has objects in (labels topoforge.io/service and topoforge.io/dc). */
function placement(env: ParsedEnvironment): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const o of env.objects.values()) {
    // The labels read once, in place: every object of both sides passes here.
    const meta = o.object.metadata;
    const labels = isObj(meta) ? meta.labels : undefined;
    if (!isObj(labels)) continue;
    const svc = labels[LABEL_SERVICE];
    const dc = labels[LABEL_DC];
    if (typeof svc === 'string' && typeof dc === 'string') {
      const dcs = m.get(svc);
      if (dcs) dcs.add(dc);
      else m.set(svc, new Set([dc]));
    }
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
      out.push({
        rule: 'service-redundancy-lost',
        environment: envName,
        subject: `service ${s}`,
        detail: `${before.size} → ${after.size} DCs (no longer in ${dropped.join(', ')})`,
        where: '',
        service: s,
      });
    } else if (after.size > 0 && after.size < 2 && (before.size >= 2 || before.size === 0)) {
      out.push({
        rule: 'service-redundancy-lost',
        environment: envName,
        subject: `service ${s}`,
        detail: `runs in ${after.size} DC only (${[...after].join(', ')}): no failover target`,
        where: '',
        service: s,
      });
    }
  }
}

function secretRules(envName: string, a: ParsedEnvironment, b: ParsedEnvironment, out: Flag[]): void {
  for (const o of b.objects.values()) {
    const before = a.objects.get(o.id);
    // The same documents (a file both sides share, see shareDocuments) need no comparison.
    if (before && (before.object === o.object || JSON.stringify(ordered(before.object)) === JSON.stringify(ordered(o.object)))) continue;
    for (const f of scanObject(ordered(o.object)))
      out.push({ rule: 'secret-in-plain-text', environment: envName, subject: objectLabel(o), detail: `${f.where}: ${f.reason}`, where: o.scope, ...about(o) });
  }
  for (const f of b.files.values()) {
    if (a.files.get(f.path)?.content === f.content) continue;
    for (const s of scanText(f.content))
      out.push({ rule: 'secret-in-plain-text', environment: envName, subject: f.path, detail: `${s.where}: ${s.reason}`, where: '', path: f.path });
  }
}

/** Plugins' rules: each compares the objects of its kinds that exist on either side. */
function pluginRules(
  envName: string,
  a: ParsedEnvironment,
  b: ParsedEnvironment,
  tiers: ReadonlyMap<string, Tier> | undefined,
  rules: readonly PluginRiskRule[],
  out: Flag[],
): void {
  for (const { plugin, rule } of rules) {
    const wanted = (o: ObjectRecord) => rule.kinds.some((k) => k.group === o.group && k.kind === o.kind);
    const own = {
      rule: rule.id,
      title: rule.title,
      plugin,
      ...(rule.severity ? { severity: rule.severity } : {}),
      ...(rule.why ? { why: rule.why } : {}),
      environment: envName,
    };
    if ('compareAll' in rule) {
      // The rule reads plain objects; each keeps its record so a finding about one points at its file.
      const records = new Map<ReviewedObject, ObjectRecord>();
      const side = (env: ParsedEnvironment): ReviewedObject[] =>
        [...env.objects.values()]
          .filter(wanted)
          .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
          .map((o) => {
            const r: ReviewedObject = { object: ordered(o.object) as Readonly<KubeObject>, where: o.scope };
            records.set(r, o);
            return r;
          });
      for (const f of rule.compareAll(side(a), side(b), { environment: envName, tier: (s) => tiers?.get(s) })) {
        const record = f.about ? records.get(f.about) : undefined;
        out.push({ ...own, subject: f.subject, detail: f.detail, where: f.where ?? '', ...(record ? about(record) : {}) });
      }
      continue;
    }
    const ids = new Set([...[...a.objects.values()].filter(wanted), ...[...b.objects.values()].filter(wanted)].map((o) => o.id));
    for (const id of [...ids].sort()) {
      const x = a.objects.get(id);
      const y = b.objects.get(id);
      const shown = (y ?? x)!;
      const details = rule.compare((x && ordered(x.object)) as Readonly<KubeObject> | undefined, (y && ordered(y.object)) as Readonly<KubeObject> | undefined, {
        environment: envName,
        where: shown.scope,
        tier: (s) => tiers?.get(s),
      });
      for (const detail of details) out.push({ ...own, subject: objectLabel(shown), detail, where: shown.scope, ...about(shown) });
    }
  }
}

/** Every risk flag between two versions of one environment (either may be missing). */
export function riskFlags(
  envName: string,
  before: ParsedEnvironment | undefined,
  after: ParsedEnvironment | undefined,
  tiers?: ReadonlyMap<string, Tier>,
  rules: readonly PluginRiskRule[] = [],
): RiskFlag[] {
  const a = before ?? EMPTY;
  const b = after ?? EMPTY;
  const flat: Flag[] = [];
  redundancyRules(envName, a, b, tiers, flat);
  secretRules(envName, a, b, flat);
  pluginRules(envName, a, b, tiers, rules, flat);
  // The same change in many DCs is one flag listing the DCs; consequences of a bigger
  // change (a DC or a service leaving a DC) are counted on it, not flagged again.
  return foldFlags(envName, flat, a, b);
}
