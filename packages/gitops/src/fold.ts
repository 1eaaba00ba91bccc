/**
 * Folding risk flags into what a reviewer reads: one flag per rule and object across DCs
 * (objects named after their DC — `Schedule velero/shop-dc03` — are one object family),
 * most severe first, and no flag for a consequence a bigger change already explains: a
 * removed DC explains its canaries, alerts, schedules and storage location going away; a
 * service leaving a DC explains its canary and alerts there going away.
 */
import type { ParsedEnvironment } from './objects.js';
import { RISK_SEVERITY, SEVERITY_ORDER, severityOf, titleOf, whyOf, type Flag, type RiskFlag, type RiskRule } from './risks.js';

/** The placeholder for a DC name in folded subjects and rows. */
export const DC_PLACEHOLDER = '‹dc›';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** DC names of both sides (directories `clusters/<dc>/`). */
export function dcNames(...envs: readonly ParsedEnvironment[]): string[] {
  const out = new Set<string>();
  for (const e of envs) for (const o of e.objects.values()) if (o.dc) out.add(o.dc);
  return [...out].sort();
}

/** Replaces whole-token DC names (delimited by anything but a letter or digit) with the placeholder. */
export function dcMatcher(dcs: readonly string[]): (text: string) => { text: string; found: string[] } {
  if (dcs.length === 0) return (text) => ({ text, found: [] });
  const alternatives = [...dcs].sort((a, b) => b.length - a.length || cmp(a, b)).map((d) => d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`(?<![A-Za-z0-9])(${alternatives.join('|')})(?![A-Za-z0-9])`, 'g');
  return (text) => {
    const found: string[] = [];
    const out = text.replace(re, (m: string) => {
      found.push(m);
      return DC_PLACEHOLDER;
    });
    return { text: out, found };
  };
}

function placementByService(env: ParsedEnvironment): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const o of env.objects.values()) {
    const labels = (o.object.metadata as { labels?: Record<string, unknown> } | undefined)?.labels;
    const svc = labels?.['topoforge.io/service'];
    if (typeof svc === 'string' && o.dc) m.set(svc, (m.get(svc) ?? new Set()).add(o.dc));
  }
  return m;
}

// Read at call time: risks.ts imports this module, so its constants are not there yet at load.
const ruleOrder = (): RiskRule[] => Object.keys(RISK_SEVERITY) as RiskRule[];

/** Title, severity and reason: a plugin rule's own, else the core's tables. */
function finish(f: Omit<RiskFlag, 'severity' | 'why' | 'title'> & Pick<Flag, 'title' | 'severity' | 'why'>): RiskFlag {
  const { title, severity, why, ...rest } = f;
  const probe = { rule: f.rule, ...(title ? { title } : {}), ...(severity ? { severity } : {}), ...(why ? { why } : {}) };
  return { ...rest, title: titleOf(probe), severity: severityOf(probe), why: whyOf(probe) };
}

/** Consequences a removed DC explains. */
const DC_CONSEQUENCES: ReadonlySet<RiskRule> = new Set<RiskRule>(['canary-removed', 'alert-removed', 'backup-schedule-removed', 'backup-location-dropped', 'canary-loosened', 'alert-loosened']);
/** Consequences a service leaving a DC explains (its backups are still flagged: they move, and a reviewer checks where). */
const SERVICE_CONSEQUENCES: ReadonlySet<RiskRule> = new Set<RiskRule>(['canary-removed', 'alert-removed']);

export function foldFlags(envName: string, flat: readonly Flag[], a: ParsedEnvironment, b: ParsedEnvironment): RiskFlag[] {
  const dcs = dcNames(a, b);
  const match = dcMatcher(dcs);
  const after = new Set(dcNames(b));
  const removedDcs = b.objects.size > 0 ? dcNames(a).filter((d) => !after.has(d)) : [];

  // Bigger changes first: each collects what it explains.
  const explains = new Map<string, Map<string, Set<string>>>();
  const explain = (by: string, f: Flag) => {
    const m = explains.get(by) ?? new Map<string, Set<string>>();
    const where = f.where || '(environment)';
    m.set(titleOf(f), (m.get(titleOf(f)) ?? new Set()).add(`${f.subject}@${where}`));
    explains.set(by, m);
  };
  const pa = placementByService(a);
  const pb = placementByService(b);
  const kept: Flag[] = [];
  for (const f of flat) {
    if (DC_CONSEQUENCES.has(f.rule)) {
      // The object lived in a removed DC, or is a storage object named after one (a BSL of the DC, its schedules elsewhere).
      const named = f.path !== undefined ? match(f.subject).found.filter((d) => removedDcs.includes(d)) : [];
      const dc = removedDcs.includes(f.where) ? f.where : (f.rule === 'backup-schedule-removed' || f.rule === 'backup-location-dropped') ? named[0] : undefined;
      if (dc !== undefined) {
        explain(`dc|${dc}`, f);
        continue;
      }
    }
    if (SERVICE_CONSEQUENCES.has(f.rule) && f.service && f.where) {
      const left = pa.get(f.service)?.has(f.where) && !pb.get(f.service)?.has(f.where);
      if (left && flat.some((g) => g.rule === 'service-redundancy-lost' && g.service === f.service)) {
        explain(`service|${f.service}`, f);
        continue;
      }
    }
    kept.push(f);
  }

  const summary = (by: string): string[] =>
    [...(explains.get(by) ?? new Map<string, Set<string>>()).entries()]
      .sort(([x], [y]) => cmp(x, y))
      .map(([title, items]) => {
        const places = [...new Set([...items].map((i) => i.slice(i.lastIndexOf('@') + 1)))].sort();
        return `${items.size} × ${title} (${places.join(', ')})`;
      });

  const out: RiskFlag[] = [];
  for (const dc of removedDcs) {
    const objects = [...a.objects.values()].filter((o) => o.dc === dc);
    const kinds = new Map<string, number>();
    for (const o of objects) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    const list = [...kinds.entries()].sort(([x], [y]) => cmp(x, y)).map(([k, n]) => `${n} ${k}`).join(', ');
    out.push(finish({ rule: 'dc-removed', environment: envName, subject: `DC ${dc}`, detail: `its ${objects.length} objects are no longer rendered (${list})`, where: [dc], paths: [], explains: summary(`dc|${dc}`), inputs: [`/dataCenters/${dc}`] }));
  }

  // Fold the rest across DCs.
  const groups = new Map<string, Flag[]>();
  for (const f of kept) {
    const key = [f.rule, match(f.subject).text, match(f.detail).text].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const members of groups.values()) {
    const first = members[0]!;
    const sameSubject = members.every((m) => m.subject === first.subject);
    const sameDetail = members.every((m) => m.detail === first.detail);
    const where = new Set<string>();
    for (const m of members) {
      if (m.where) where.add(m.where);
      if (!sameSubject) for (const d of match(m.subject).found) where.add(d);
      if (!sameDetail) for (const d of match(m.detail).found) where.add(d);
    }
    const paths = [...new Set(members.flatMap((m) => (m.path ? [m.path] : [])))].sort();
    const service = first.service;
    // Flags about placement or the rotation as a whole have no file of their own: name the inputs they follow.
    const inputs =
      first.rule === 'service-redundancy-lost' && service ? [`/services/${service}`, '/dataCenters', '/regions'] : paths.length === 0 && first.rule === 'backup-location-dropped' ? ['/dataCenters', '/policies/backup', '/plugins/velero'] : [];
    out.push(
      finish({
        rule: first.rule,
        ...(first.title ? { title: first.title } : {}),
        ...(first.plugin ? { plugin: first.plugin } : {}),
        ...(first.severity ? { severity: first.severity } : {}),
        ...(first.why ? { why: first.why } : {}),
        environment: envName,
        subject: sameSubject ? first.subject : match(first.subject).text,
        detail: sameDetail ? first.detail : match(first.detail).text,
        where: [...where].sort(),
        paths,
        explains: first.rule === 'service-redundancy-lost' && service ? summary(`service|${service}`) : [],
        ...(inputs.length ? { inputs } : {}),
      }),
    );
  }
  // Plugins' rules after the core's within a severity.
  const builtin = ruleOrder();
  const order = (rule: RiskRule) => (builtin.includes(rule) ? builtin.indexOf(rule) : builtin.length);
  return out.sort(
    (x, y) =>
      SEVERITY_ORDER.indexOf(x.severity) - SEVERITY_ORDER.indexOf(y.severity) ||
      order(x.rule) - order(y.rule) ||
      cmp(x.rule, y.rule) ||
      cmp(x.subject, y.subject) ||
      cmp(x.detail, y.detail),
  );
}
