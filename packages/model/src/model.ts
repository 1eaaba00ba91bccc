/**
 * The resolved model: what plugins read. Everything is derived once here (placement,
 * recovery order, per-DC service lists) so that plugins never re-implement the rules.
 * All lists are in a stable order: DCs by rotation position, services by recovery
 * priority then name, regions by name.
 */
import type { SessionCachePolicyInput, WorkloadInput } from './schema.js';
import type { SourcePosition } from './diagnostics.js';
import type { SourceMap } from './source.js';
import type { Ledger } from './ledger.js';

export type Stage = 'staging' | 'production';
export type Tier = 'client-facing' | 'regional';

export interface Named {
  readonly name: string;
}

export type SessionCachePolicy = Named & SessionCachePolicyInput;
/** A named policy of any group, as written (the owning plugin's schema has checked it). */
export type Policy = Named & { readonly [field: string]: unknown };

export interface Region {
  readonly name: string;
  readonly timeZone: string;
  readonly businessUnits: readonly string[];
  readonly geoTag: string;
  /** DC names in this region, in rotation order. */
  readonly dataCenters: readonly string[];
}

export interface BackupStorage {
  readonly provider: string;
  readonly bucket: string;
  readonly prefix?: string;
  readonly config: Readonly<Record<string, string>>;
  readonly credentialSecret?: { readonly name: string; readonly key: string };
}

export interface DataCenter {
  readonly name: string;
  readonly region: string;
  readonly timeZone: string;
  readonly geoTag: string;
  /** 1-based position in the backup rotation; positions are 1..N without gaps. */
  readonly rotation: number;
  readonly cluster: { readonly context: string };
  readonly backupStorage: BackupStorage;
  /** Services placed in this DC, in recovery order. */
  readonly services: readonly string[];
}

/**
 * One database instance: a copy of the data with its own backups. A `per-dc` database has
 * one instance per DC the service runs in (regional services keep local data); a
 * `replicated` database is one instance whose primary runs in one DC and replicas in the
 * service's other DCs.
 */
export interface DatabaseInstance {
  /** `<service>-<dc>` for per-DC data, `<service>` for a replicated database. */
  readonly name: string;
  /** The DC of the primary (the only copy for per-DC data). */
  readonly primary: string;
  /** DCs with a replica, in rotation order (empty for per-DC data). */
  readonly replicas: readonly string[];
}

export interface Database {
  readonly engine: 'postgresql' | 'mysql' | 'mongodb';
  readonly name: string;
  readonly topology: 'per-dc' | 'replicated';
  /** In rotation order of their primary DC. */
  readonly instances: readonly DatabaseInstance[];
  /** The data assertion a restore drill runs. */
  readonly check?: { readonly query: string; readonly expect: string };
  readonly sizeGiB?: number;
  readonly changeGiBPerDay?: number;
}

export interface Service {
  readonly name: string;
  readonly kind: string;
  readonly tier: Tier;
  /** Business unit a region must have for a regional service. */
  readonly businessUnit?: string;
  /** 1 recovers first. */
  readonly recoveryPriority: number;
  readonly namespace: string;
  readonly image: string;
  readonly version: string;
  readonly port: number;
  readonly database?: Database;
  readonly rollout: 'canary' | 'rolling';
  readonly traffic: { readonly metric: string; readonly selector: Readonly<Record<string, string>> };
  readonly policies: {
    readonly sessionCache?: SessionCachePolicy;
    /** Groups plugins declare: group → the policy the service names. */
    readonly [group: string]: Named | undefined;
  };
  /** DCs the service runs in, in rotation order. */
  readonly dataCenters: readonly string[];
  /** What the team said about how it runs (ports, host, resources, probes…); plugins/workloads fills in the rest. */
  readonly workload?: Readonly<WorkloadInput>;
}

export interface RecoveryTier {
  readonly priority: number;
  readonly services: readonly string[];
}

export interface PluginUse {
  readonly name: string;
  readonly package: string;
  readonly options: Readonly<Record<string, unknown>>;
  /** Where the plugin entry is declared, for error messages. */
  readonly position?: SourcePosition;
}

export interface Environment {
  readonly name: string;
  readonly stage: Stage;
  /**
   * Production only: the staging environment whose ledger must hold every service version
   * here (see unverifiedVersions). Flagger runs no analysis, so no gate, when it initializes a
   * Canary (a new service, a re-created Canary, a rebuilt cluster): without this a version that
   * never passed the test stand would go live there.
   */
  readonly testStand?: string;
  /** The environment file (as given to the loader). */
  readonly file: string;
  /** Files merged into this environment, base first. */
  readonly files: readonly string[];
  readonly regions: readonly Region[];
  readonly dataCenters: readonly DataCenter[];
  readonly services: readonly Service[];
  readonly recoveryOrder: readonly RecoveryTier[];
  readonly policies: {
    readonly sessionCache: readonly SessionCachePolicy[];
    /** Every group, by name (also those plugins declare), each list by policy name. */
    readonly [group: string]: readonly Named[];
  };
  readonly plugins: readonly PluginUse[];
  /**
   * On a test stand: its ledger (`verified/<name>.yaml` beside the environment file), which
   * production's promotion gate is rendered from. Undefined for production environments.
   */
  readonly ledger?: Ledger;
  /** JSON pointer → source position of the merged input, for plugins' own error messages. */
  readonly sourceMap: SourceMap;
  /**
   * The merged, validated input the model was resolved from (what `sourceMap` points
   * into); read by provenance (which input value produced an emitted object).
   */
  readonly input?: Readonly<Record<string, unknown>>;
}

export function service(env: Environment, name: string): Service {
  const s = env.services.find((x) => x.name === name);
  if (!s) throw new Error(`no service ${name} in environment ${env.name}`);
  return s;
}

export function dataCenter(env: Environment, name: string): DataCenter {
  const d = env.dataCenters.find((x) => x.name === name);
  if (!d) throw new Error(`no data centre ${name} in environment ${env.name}`);
  return d;
}
