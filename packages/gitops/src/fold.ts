/**
 * Folding risk flags into what a reviewer reads: one flag per rule and object across DCs
 * (objects named after their DC — `Schedule velero/shop-dc03` — are one object family, and
 * so are a service's objects of one kind: its per-instance Schedules, their paused
 * fallbacks and standbys), most severe first, and no flag for a consequence a bigger
 * change already explains: a removed DC explains its canaries, alerts, schedules and
 * storage location going away, the alerts elsewhere that only stop selecting its
 * Schedules, and other environments' locations on its bucket; a service leaving a DC
 * explains its canary and alerts there going away.
 */
import { objectLabel, serviceOf, type ObjectRecord, type ParsedEnvironment } from './objects.js';
import { byString } from '@topoforge/model';
import { RISK_SEVERITY, SEVERITY_ORDER, severityOf, titleOf, whyOf, type Flag, type RiskFlag, type RiskRule } from './risks.js';

/** The placeholder for a DC name in folded subjects and rows. */
export const DC_PLACEHOLDER = '‹dc›';

const cmp = byString;

/**
 * The DCs of each parsed environment, found once: a diff asks for them about ten times per
 * environment, and each time looked at every object of the side (at 100k objects, ~15 passes
 * over 112k records). A parsed environment does not change.
 */
const dcsOfEnvironment = new WeakMap<ParsedEnvironment, readonly string[]>();

function dcsOf(e: ParsedEnvironment): readonly string[] {
  let dcs = dcsOfEnvironment.get(e);
  if (dcs === undefined) {
    const found = new Set<string>();
    for (const o of e.objects.values()) if (o.dc) found.add(o.dc);
    dcs = [...found].sort();
    dcsOfEnvironment.set(e, dcs);
  }
  return dcs;
}

/** DC names of both sides (directories `clusters/<dc>/`). */
export function dcNames(...envs: readonly ParsedEnvironment[]): string[] {
  if (envs.length === 1) return [...dcsOf(envs[0]!)];
  const out = new Set<string>();
  for (const e of envs) for (const d of dcsOf(e)) out.add(d);
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

/** Whether a file path lies in a DC's cluster directory or names the DC (a Schedule `shop-dc01-for-dc10` in dc01 names dc10). */
export function pathNamesDc(path: string, dc: string): boolean {
  const parts = path.split('/');
  if (parts[0] === 'clusters' && parts[1] === dc) return true;
  return dcMatcher([dc])(parts[parts.length - 1] ?? '').found.length > 0;
}

/** Name tokens of an object as text (`online-store-dc01-for-dc10`, `dc10`, `5m`): what a rename or a dropped reference changes. */
const tokens = (v: unknown): Map<string, number> => {
  const m = new Map<string, number>();
  for (const t of JSON.stringify(v).match(/[A-Za-z0-9_.:-]+/g) ?? []) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
};

/**
 * The removed DC that explains an object's change, when the change only drops references
 * to removed DCs (names containing one) and adds the names of objects the same change
 * adds (the fallbacks that take over): an alert whose Schedule list follows the rotation
 * (e.g. `velero-backups-shop` no longer selecting `shop-dc10`). Anything else in the
 * change (a threshold, a duration, another Schedule) leaves it unexplained.
 */
function removalExplaining(before: unknown, after: unknown, removedDcs: readonly string[], addedNames: ReadonlySet<string>): string | undefined {
  const match = dcMatcher(removedDcs);
  const ta = tokens(before);
  const tb = tokens(after);
  const named = new Set<string>();
  for (const [t, n] of ta) {
    if ((tb.get(t) ?? 0) >= n) continue;
    const found = match(t).found;
    if (found.length === 0) return undefined;
    for (const d of found) named.add(d);
  }
  for (const [t, n] of tb) if ((ta.get(t) ?? 0) < n && !addedNames.has(t)) return undefined;
  return named.size === 1 ? [...named][0] : undefined;
}

function placementByService(env: ParsedEnvironment): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const o of env.objects.values()) {
    const svc = serviceOf(o);
    if (svc && o.dc) m.set(svc, (m.get(svc) ?? new Set()).add(o.dc));
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
const DC_CONSEQUENCES: ReadonlySet<RiskRule> = new Set<RiskRule>([
  'canary-removed',
  'alert-removed',
  'backup-schedule-removed',
  'backup-location-dropped',
  'canary-loosened',
  'alert-loosened',
]);
/** Consequences a service leaving a DC explains (its backups are still flagged: they move, and a reviewer checks where). */
const SERVICE_CONSEQUENCES: ReadonlySet<RiskRule> = new Set<RiskRule>(['canary-removed', 'alert-removed']);

/** `Schedule velero/shop-‹dc›, shop-‹dc›-for-‹dc› (service shop)`: the name patterns of a folded family, at most four. */
function familySubject(subjects: readonly string[], service: string | undefined): string {
  const [head, ...rest] = subjects;
  const prefix = head!.slice(0, head!.indexOf(' ') + 1) + (head!.includes('/') ? head!.slice(head!.indexOf(' ') + 1, head!.indexOf('/') + 1) : '');
  const short = [head!, ...rest.map((r) => (r.startsWith(prefix) ? r.slice(prefix.length) : r))];
  const shown = short.length <= 4 ? short.join(', ') : `${short.slice(0, 3).join(', ')} and ${short.length - 3} more name patterns`;
  return `${shown}${service ? ` (service ${service})` : ''}`;
}

/**
 * Flags of one rule with the same change in the same objects and DCs are one flag naming
 * each subject: `alert TrafficDrop, TrafficMetricMissing` when one policy edit loosened
 * several alerts of the same PrometheusRules.
 */
function sameChangeSameObjects(flags: readonly RiskFlag[]): RiskFlag[] {
  const groups = new Map<string, RiskFlag[]>();
  flags.forEach((f, i) => {
    const kind = f.subject.slice(0, f.subject.indexOf(' ') + 1);
    const key = f.paths.length > 0 && kind ? JSON.stringify([f.rule, f.plugin ?? '', kind, f.detail, f.where, f.paths]) : String(i);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  });
  return [...groups.values()].map((members) => {
    const first = members[0]!;
    if (members.length === 1) return first;
    const kind = first.subject.slice(0, first.subject.indexOf(' ') + 1);
    const inputs = [...new Set(members.flatMap((m) => m.inputs ?? []))];
    return {
      ...first,
      subject:
        kind +
        members
          .map((m) => m.subject.slice(kind.length))
          .sort()
          .join(', '),
      explains: [...new Set(members.flatMap((m) => m.explains))],
      ...(inputs.length ? { inputs } : {}),
    };
  });
}

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
  // Each index of every object of a side is made when a flag first needs it: most diffs have few
  // flags or none, and at 100k objects making them all up front was ~5 % of a diff.
  let placements: readonly [Map<string, Set<string>>, Map<string, Set<string>>] | undefined;
  const placed = () => (placements ??= [placementByService(a), placementByService(b)]);
  const byPath = (env: ParsedEnvironment) => {
    const m = new Map<string, ObjectRecord>();
    for (const o of env.objects.values()) m.set(o.path, o);
    return m;
  };
  let atPath: readonly [Map<string, ObjectRecord>, Map<string, ObjectRecord>] | undefined;
  const objectsAt = () => (atPath ??= [byPath(a), byPath(b)]);
  let added: ReadonlySet<string> | undefined;
  const addedNames = () => {
    if (added === undefined) {
      const names = new Set<string>();
      for (const o of b.objects.values()) if (!a.objects.has(o.id)) names.add(o.name);
      added = names;
    }
    return added;
  };
  const kept: Flag[] = [];
  for (const f of flat) {
    if (DC_CONSEQUENCES.has(f.rule)) {
      // The object lived in a removed DC, or is a storage object named after one (a BSL of the DC, its schedules elsewhere).
      const named = f.path !== undefined ? match(f.subject).found.filter((d) => removedDcs.includes(d)) : [];
      // Or it stays, changed only by following the removal (an alert no longer selecting the DC's Schedules).
      const [oa, ob] = f.path !== undefined && removedDcs.length > 0 ? [objectsAt()[0].get(f.path), objectsAt()[1].get(f.path)] : [undefined, undefined];
      const followed = oa && ob ? removalExplaining(oa.object, ob.object, removedDcs, addedNames()) : undefined;
      const dc = removedDcs.includes(f.where)
        ? f.where
        : (f.rule === 'backup-schedule-removed' || f.rule === 'backup-location-dropped') && named[0] !== undefined
          ? named[0]
          : followed;
      if (dc !== undefined) {
        explain(`dc|${dc}`, f);
        continue;
      }
    }
    if (SERVICE_CONSEQUENCES.has(f.rule) && f.service && f.where) {
      const [pa, pb] = placed();
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
    const list = [...kinds.entries()]
      .sort(([x], [y]) => cmp(x, y))
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    out.push(
      finish({
        rule: 'dc-removed',
        environment: envName,
        subject: `DC ${dc}`,
        detail: `its ${objects.length} objects are no longer rendered (${list})`,
        where: [dc],
        paths: [],
        explains: summary(`dc|${dc}`),
        inputs: [`/dataCenters/${dc}`],
      }),
    );
  }

  // Fold the rest across DCs, and a service's objects of one kind into one subject: its
  // per-instance Velero Schedules (`shop-dc01-dc03-full`), their paused fallbacks
  // (`…-for-dc02-…`) and standbys are one family, flagged once per change with the names.
  const family = (f: Flag): string | undefined => {
    const o = f.path !== undefined ? (objectsAt()[1].get(f.path) ?? objectsAt()[0].get(f.path)) : undefined;
    return o && f.service && f.subject === objectLabel(o) ? `${o.kind} ${o.namespace ?? ''}|${f.service}` : undefined;
  };
  const groups = new Map<string, Flag[]>();
  for (const f of kept) {
    const key = [f.rule, family(f) ?? match(f.subject).text, match(f.detail).text].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const members of groups.values()) {
    const first = members[0]!;
    const names = [...new Set(members.map((m) => match(m.subject).text))].sort();
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
      first.rule === 'service-redundancy-lost' && service
        ? [`/services/${service}`, '/dataCenters', '/regions']
        : paths.length === 0 && first.rule === 'backup-location-dropped'
          ? ['/dataCenters', '/policies/backup', '/plugins/velero']
          : [];
    out.push(
      finish({
        rule: first.rule,
        ...(first.title ? { title: first.title } : {}),
        ...(first.plugin ? { plugin: first.plugin } : {}),
        ...(first.severity ? { severity: first.severity } : {}),
        ...(first.why ? { why: first.why } : {}),
        environment: envName,
        subject: sameSubject ? first.subject : names.length === 1 ? names[0]! : familySubject(names, first.service),
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
  return sameChangeSameObjects(out).sort(
    (x, y) =>
      SEVERITY_ORDER.indexOf(x.severity) - SEVERITY_ORDER.indexOf(y.severity) ||
      order(x.rule) - order(y.rule) ||
      cmp(x.rule, y.rule) ||
      cmp(x.subject, y.subject) ||
      cmp(x.detail, y.detail),
  );
}

/** One environment's DCs: those it renders on either side, and those it removed. */
export interface EnvironmentDcs {
  readonly dcs: readonly string[];
  readonly removed: readonly string[];
}

/** Storage flags whose objects name another environment's DC (a restore drill reading that DC's bucket). */
const CROSS_ENVIRONMENT_CONSEQUENCES: ReadonlySet<RiskRule> = new Set<RiskRule>(['backup-location-dropped', 'backup-schedule-removed']);

/**
 * A DC removed from one environment also explains what other environments lose of it:
 * staging's read-only restore-drill locations on production `dc10`'s bucket
 * (`production-dc10-from-dc01`) go with dc10. Counted on that DC's flag, not flagged in
 * the other environment, when the name is unambiguous: a DC of exactly one other
 * environment, removed there, and not a DC of the flag's own environment.
 */
export function foldAcrossEnvironments(flags: readonly RiskFlag[], envs: ReadonlyMap<string, EnvironmentDcs>): RiskFlag[] {
  const owners = new Map<string, string[]>();
  for (const [env, { dcs }] of envs) for (const d of dcs) owners.set(d, [...(owners.get(d) ?? []), env]);
  const removedElsewhere = (env: string): string[] =>
    [...envs].flatMap(([other, { removed }]) => (other === env ? [] : removed.filter((d) => owners.get(d)?.length === 1 && !envs.get(env)?.dcs.includes(d))));
  const explained = new Map<string, Map<string, { count: number; where: Set<string> }>>();
  const kept: RiskFlag[] = [];
  for (const f of flags) {
    const candidates = CROSS_ENVIRONMENT_CONSEQUENCES.has(f.rule) && f.paths.length > 0 ? removedElsewhere(f.environment) : [];
    const named = [...new Set(dcMatcher(candidates)(f.subject).found)];
    if (named.length !== 1) {
      kept.push(f);
      continue;
    }
    const dc = named[0]!;
    const key = `${owners.get(dc)![0]!}\u0000${dc}`;
    const m = explained.get(key) ?? new Map<string, { count: number; where: Set<string> }>();
    const label = `${f.title}|${f.environment}`;
    const e = m.get(label) ?? { count: 0, where: new Set<string>() };
    e.count += f.paths.length;
    for (const w of f.where) e.where.add(w);
    m.set(label, e);
    explained.set(key, m);
  }
  return kept.map((f) => {
    const m = f.rule === 'dc-removed' ? explained.get(`${f.environment}\u0000${f.where[0] ?? ''}`) : undefined;
    if (!m) return f;
    const more = [...m.entries()]
      .sort(([x], [y]) => cmp(x, y))
      .map(([label, e]) => {
        const [title, env] = label.split('|') as [string, string];
        return `${e.count} × ${title} (${env}: ${[...e.where].sort().join(', ')})`;
      });
    return { ...f, explains: [...f.explains, ...more] };
  });
}
