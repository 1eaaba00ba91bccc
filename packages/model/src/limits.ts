/**
 * Kubernetes length limits on the names plugins derive from the model's names. A name that
 * is fine on its own (a 63-character DNS label) can still produce an object Kubernetes
 * refuses at apply time — `restore-drill-<service>` as a CronJob, `redis-<policy>-sentinel`
 * as a StatefulSet, `<service>-primary` as the label Flagger selects on. Checking them here
 * reports the problem at load time, at the name that causes it, instead of in a failed sync.
 */
import { escapePointer } from './source.js';
import type { TopologyInput } from './schema.js';

/** Label values and most object names (DNS-1123 labels). */
export const LABEL_VALUE_MAX = 63;
/** CronJob names: the Job controller appends an 11-character suffix and Job names feed a 63-character label. */
export const CRONJOB_NAME_MAX = 52;
/** StatefulSet names: the `controller-revision-hash` label is `<name>-<hash>` and must fit 63 characters. */
export const STATEFULSET_NAME_MAX = 52;

export interface DerivedName {
  /** The name Kubernetes will see. */
  readonly name: string;
  readonly limit: number;
  /** What the name is used as, and who makes it. */
  readonly usedAs: string;
  /** JSON pointer of the model name it is derived from. */
  readonly pointer: string;
}

/** Every derived name with a limit stricter than the DNS label its source already satisfies. */
export function derivedNames(input: TopologyInput): DerivedName[] {
  const out: DerivedName[] = [];
  const services = Object.entries(input.services ?? {});
  const dcs = Object.keys(input.dataCenters ?? {});
  const veleroOptions = input.plugins?.['velero']?.options as { restoreDrill?: unknown } | undefined;
  const drills = input.stage === 'staging' && input.plugins?.['velero']?.enabled !== false && veleroOptions?.restoreDrill !== undefined;
  for (const [name, s] of services) {
    const p = `/services/${escapePointer(name)}`;
    if (s.rollout === 'canary') {
      // Flagger copies the target into `<name>-primary` and selects its pods by that label value.
      out.push({ name: `${name}-primary`, limit: LABEL_VALUE_MAX, usedAs: 'Flagger primary Deployment and its selector label (plugins/flagger)', pointer: p });
    }
    // The backup group is plugins/velero's (contract v2): only whether the service names one matters here.
    if ((s.policies as Record<string, string | undefined> | undefined)?.['backup'] !== undefined) {
      // Velero labels every Backup with its Schedule's name.
      for (const dc of dcs)
        out.push({
          name: `${name}-${dc}`,
          limit: LABEL_VALUE_MAX,
          usedAs: `Velero Schedule name and velero.io/schedule-name label in ${dc} (plugins/velero)`,
          pointer: p,
        });
      if (drills) out.push({ name: `restore-drill-${name}`, limit: CRONJOB_NAME_MAX, usedAs: 'restore-drill CronJob (plugins/velero)', pointer: p });
    }
  }
  // The sessionCache group is plugins/session-cache's (contract v2): read it untyped here.
  const used = new Set(
    services.map(([, s]) => (s.policies as Record<string, string | undefined> | undefined)?.['sessionCache']).filter((x): x is string => x !== undefined),
  );
  const sessionCaches = ((input.policies as Record<string, unknown> | undefined)?.['sessionCache'] ?? {}) as Record<string, { replication?: unknown }>;
  for (const [name, policy] of Object.entries(sessionCaches)) {
    if (!used.has(name)) continue;
    const p = `/policies/sessionCache/${escapePointer(name)}`;
    out.push({ name: `redis-${name}`, limit: STATEFULSET_NAME_MAX, usedAs: 'Redis StatefulSet (plugins/session-cache)', pointer: p });
    if (policy.replication === 'sentinel')
      out.push({ name: `redis-${name}-sentinel`, limit: STATEFULSET_NAME_MAX, usedAs: 'Sentinel StatefulSet (plugins/session-cache)', pointer: p });
  }
  return out;
}
