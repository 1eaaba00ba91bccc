/**
 * What the page shows, as plain data: collected once from a render (the resolved model
 * and what the plugins emitted), then drawn by html.ts. Keeping the two apart lets the
 * page be tested from a fixed data file, and lets `diff --html` compare two of them.
 *
 * Plugin data is read only through what plugins publish: the backup calendar through
 * velero's `backupCalendar` over the emitted Schedules (the same simulation `topoforge
 * plan` prints), the failover plan from the emitted `failover-plan.yaml` (what the
 * failover orchestrator reads), canary promotion state from the test stand's ledger.
 */
import { parse } from 'yaml';
import type { Environment } from '@topoforge/model';
import type { Emitted } from '@topoforge/plugin-sdk';
import { backupCalendar } from '@topoforge/plugin-velero';

export interface PlanRegion {
  readonly name: string;
  readonly timeZone: string;
  readonly businessUnits: readonly string[];
  readonly dataCenters: readonly string[];
}

export interface PlanDataCenter {
  readonly name: string;
  readonly region: string;
  readonly rotation: number;
  readonly context: string;
  readonly services: readonly string[];
}

export interface PlanService {
  readonly name: string;
  readonly kind: string;
  readonly tier: 'client-facing' | 'regional';
  readonly businessUnit?: string;
  readonly recoveryPriority: number;
  readonly version: string;
  readonly rollout: 'canary' | 'rolling';
  readonly database?: string;
  readonly dataCenters: readonly string[];
}

export interface PlanBackup {
  /** Day of the month, 1-based (local date of the source DC). */
  readonly day: number;
  readonly time: string;
  readonly type: string;
  /** The DC whose object storage holds the backup. */
  readonly storageDc: string;
  /** Expiry, UTC date YYYY-MM-DD. */
  readonly expires: string;
}

/** One database instance: a service's database, backed up from its source DC. */
export interface PlanDatabase {
  readonly service: string;
  readonly database: string;
  readonly sourceDc: string;
  readonly backups: readonly PlanBackup[];
}

export interface PlanFailover {
  readonly lost: string;
  readonly moves: readonly { readonly service: string; readonly recoveryPriority: number; readonly targets: readonly string[] }[];
  /** Regional services of the lost DC: they have no failover target by design. */
  readonly regionalDown: readonly string[];
}

export type CanaryState = 'verified' | 'newer-verified' | 'not-verified' | 'no-canary';

export interface PlanCanary {
  readonly service: string;
  readonly version: string;
  /** Versions the test stand verified, as listed in the ledger. */
  readonly verified: readonly string[];
  readonly state: CanaryState;
}

export interface PlanPageData {
  readonly environment: string;
  readonly stage: string;
  readonly regions: readonly PlanRegion[];
  readonly dataCenters: readonly PlanDataCenter[];
  readonly services: readonly PlanService[];
  readonly recoveryOrder: readonly { readonly priority: number; readonly services: readonly string[] }[];
  readonly calendar: {
    /** YYYY-MM */
    readonly month: string;
    readonly days: number;
    readonly databases: readonly PlanDatabase[];
    /** Why there is no calendar (velero not enabled, or the simulation failed). */
    readonly note?: string;
  };
  readonly failover: { readonly plans: readonly PlanFailover[]; readonly note?: string };
  readonly canaries: { readonly ledger: string; readonly entries: readonly PlanCanary[] };
}

export interface CollectOptions {
  /** YYYY-MM. */
  readonly month: string;
  /** Verified versions by service (the ledger of the test stand); empty when none. */
  readonly ledger: Readonly<Record<string, readonly string[]>>;
  /** Ledger file as shown on the page, e.g. `environments/verified/staging.yaml`. */
  readonly ledgerFile: string;
}

const DAY = 86_400_000;

function calendar(env: Environment, emitted: readonly Emitted[], month: string): PlanPageData['calendar'] {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) throw new Error(`month must be YYYY-MM, got "${month}"`);
  const from = Date.UTC(Number(m[1]), Number(m[2]) - 1, 1);
  const to = Date.UTC(Number(m[1]), Number(m[2]), 1);
  const days = Math.round((to - from) / DAY);
  const hasSchedules = emitted.some((e) => e.type === 'object' && e.object.kind === 'Schedule' && e.object.apiVersion.startsWith('velero.io/'));
  if (!hasSchedules) return { month, days, databases: [], note: 'no Velero Schedules were emitted (is the velero plugin enabled?)' };
  let entries;
  try {
    // Activations are by local date of the source DC: simulate a day more on each side.
    entries = backupCalendar(emitted, from - DAY, to + DAY).filter((r) => r.date.startsWith(`${month}-`));
  } catch (err) {
    return { month, days, databases: [], note: `the backup calendar could not be simulated: ${(err as Error).message}` };
  }
  const byInstance = new Map<string, { service: string; sourceDc: string; backups: PlanBackup[] }>();
  for (const e of entries) {
    const key = `${e.service}|${e.sourceDc}`;
    const g = byInstance.get(key) ?? { service: e.service, sourceDc: e.sourceDc, backups: [] };
    g.backups.push({
      day: Number(e.date.slice(8, 10)),
      time: e.time,
      type: e.type,
      storageDc: e.dc,
      expires: new Date(e.expiresAt).toISOString().slice(0, 10),
    });
    byInstance.set(key, g);
  }
  const order = new Map(env.services.map((s, i) => [s.name, i]));
  const databases = [...byInstance.values()]
    .sort((a, b) => (order.get(a.service) ?? 99) - (order.get(b.service) ?? 99) || (a.sourceDc < b.sourceDc ? -1 : 1))
    .map((g) => {
      const s = env.services.find((x) => x.name === g.service);
      return { service: g.service, database: s?.database ? `${s.database.engine}/${s.database.name}` : '?', sourceDc: g.sourceDc, backups: g.backups };
    });
  return { month, days, databases };
}

interface FailoverFile {
  plan?: { lost?: unknown; moves?: { service?: unknown; recoveryPriority?: unknown; targets?: unknown }[] }[];
}

function failover(env: Environment, emitted: readonly Emitted[]): PlanPageData['failover'] {
  const file = emitted.find((e) => e.type === 'file' && e.path.endsWith('/failover-plan.yaml'));
  if (!file || file.type !== 'file') return { plans: [], note: 'no failover plan was emitted (is the traffic-alerts plugin enabled?)' };
  const data = parse(file.content) as FailoverFile | null;
  const plans: PlanFailover[] = [];
  for (const p of data?.plan ?? []) {
    const lost = String(p.lost);
    const moves = (p.moves ?? []).map((m) => ({
      service: String(m.service),
      recoveryPriority: Number(m.recoveryPriority),
      targets: Array.isArray(m.targets) ? m.targets.map(String) : [],
    }));
    const regionalDown = env.services.filter((s) => s.tier === 'regional' && s.dataCenters.includes(lost)).map((s) => s.name);
    plans.push({ lost, moves, regionalDown });
  }
  return { plans };
}

function canaries(env: Environment, opts: CollectOptions): PlanPageData['canaries'] {
  const entries = env.services.map((s): PlanCanary => {
    const verified = opts.ledger[s.name] ?? [];
    if (s.rollout !== 'canary') return { service: s.name, version: s.version, verified, state: 'no-canary' };
    if (!verified.includes(s.version)) return { service: s.name, version: s.version, verified, state: 'not-verified' };
    // The ledger lists versions in the order they passed: the last one is the newest.
    return { service: s.name, version: s.version, verified, state: verified[verified.length - 1] !== s.version ? 'newer-verified' : 'verified' };
  });
  return { ledger: opts.ledgerFile, entries };
}

/** Collects the page data of one rendered environment. */
export function collectPlanData(env: Environment, emitted: readonly Emitted[], opts: CollectOptions): PlanPageData {
  return {
    environment: env.name,
    stage: env.stage,
    regions: env.regions.map((r) => ({ name: r.name, timeZone: r.timeZone, businessUnits: [...r.businessUnits], dataCenters: [...r.dataCenters] })),
    dataCenters: env.dataCenters.map((d) => ({ name: d.name, region: d.region, rotation: d.rotation, context: d.cluster.context, services: [...d.services] })),
    services: env.services.map((s) => ({
      name: s.name,
      kind: s.kind,
      tier: s.tier,
      ...(s.businessUnit ? { businessUnit: s.businessUnit } : {}),
      recoveryPriority: s.recoveryPriority,
      version: s.version,
      rollout: s.rollout,
      ...(s.database ? { database: `${s.database.engine}/${s.database.name}` } : {}),
      dataCenters: [...s.dataCenters],
    })),
    recoveryOrder: env.recoveryOrder.map((t) => ({ priority: t.priority, services: [...t.services] })),
    calendar: calendar(env, emitted, opts.month),
    failover: failover(env, emitted),
    canaries: canaries(env, opts),
  };
}
