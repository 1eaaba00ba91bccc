/**
 * Kubernetes length limits on the names plugins derive from the model's names. A name that
 * is fine on its own (a 63-character DNS label) can still produce an object Kubernetes
 * refuses at apply time. The plugin that makes such a name checks it in its `check` hook
 * with `checkDerivedNames`, so the problem is reported at load time, at the name that causes
 * it (`TOPOLOGY_NAME_TOO_LONG`), instead of in a failed sync: plugins/flagger
 * (`<service>-primary`), plugins/velero (`<service>-<dc>` Schedules, `restore-drill-<service>`
 * CronJobs), plugins/session-cache (`redis-<policy>[-sentinel]` StatefulSets).
 */
import type { CheckContext } from './types.js';

/**
 * The largest int32: replicas, progressDeadlineSeconds, thresholds and TTLs are int32 fields of
 * Kubernetes objects. A number option needs a maximum all the same: past 1e21 JavaScript writes
 * a number in exponent form (`1e+308`), which no int32 field and no program reading a decimal
 * accepts.
 */
export const INT32_MAX = 2_147_483_647;

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
  /** The field of the model name it is derived from (`services.<name>`); the error points at its key. */
  readonly field: string;
}

/** Reports every derived name over its limit, at the key of the name it comes from. */
export function checkDerivedNames(ctx: Pick<CheckContext<unknown>, 'error'>, names: Iterable<DerivedName>): void {
  for (const d of names) {
    if (d.name.length <= d.limit) continue;
    ctx.error(`"${d.name}" (${d.usedAs}) has ${d.name.length} characters; Kubernetes allows ${d.limit}`, {
      field: d.field,
      hint: `shorten the name by at least ${d.name.length - d.limit} characters`,
      code: 'TOPOLOGY_NAME_TOO_LONG',
      at: 'key',
    });
  }
}
