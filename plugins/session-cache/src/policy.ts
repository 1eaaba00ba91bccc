/**
 * The `sessionCache` policy group belongs to this plugin (contract v2): its schema and
 * its cross-field rule live here, not in the model. The model resolves
 * `services.<name>.policies.sessionCache: <policy>`; the host validates every
 * `policies.sessionCache.<name>` against this schema, with positions.
 */
import { NAMESPACE } from './objects.js';
import {
  checkDerivedNames,
  checkNamespaceCollisions,
  STATEFULSET_NAME_MAX,
  Type,
  type CheckContext,
  type DerivedName,
  type Static,
} from '@topoforge/plugin-sdk';

/**
 * A year: far above any session a cache keeps, and far below where a number is written in
 * exponent form (`1e+308`), which the apps' settings reader (packages/session-cache) refuses.
 */
export const MAX_SESSION_SECONDS = 365 * 24 * 3600;

export const SessionCachePolicySchema = Type.Object(
  {
    windowSeconds: Type.Integer({ minimum: 1, maximum: MAX_SESSION_SECONDS, description: 'how much of a session is kept' }),
    ttlSeconds: Type.Integer({ minimum: 1, maximum: MAX_SESSION_SECONDS, description: 'how long it is kept after the last write' }),
    maxMemory: Type.String({ pattern: '^[0-9]+(kb|mb|gb)$', description: 'Redis maxmemory, e.g. 512mb' }),
    replication: Type.Union([Type.Literal('standalone'), Type.Literal('sentinel')]),
    replicas: Type.Integer({ minimum: 0, maximum: 10 }),
  },
  { additionalProperties: false, description: 'a session cache policy' },
);
export type SessionCachePolicyInput = Static<typeof SessionCachePolicySchema>;

export const policies = { sessionCache: SessionCachePolicySchema };

/** Rules across fields of one policy, reported at the field to change; the StatefulSet names a used policy makes. */
export function checkSessionCache(ctx: CheckContext<unknown>): void {
  checkDerivedNames(ctx, statefulSetNames(ctx));
  // Its namespace is fixed: a service of that name would make it the service's, at the service's line.
  checkNamespaceCollisions(ctx, [{ namespace: NAMESPACE, what: 'the session cache' }]);
  for (const p of ctx.env.policies.sessionCache) {
    if (p.replication === 'sentinel' && p.replicas < 1) {
      ctx.error('sentinel replication needs at least one replica', {
        field: `policies.sessionCache.${p.name}.replicas`,
        hint: 'set replicas: 1 or more, or replication: standalone',
      });
    }
  }
}

/** The StatefulSets of every policy a service uses, named after the policy, against Kubernetes' limit. */
function* statefulSetNames(ctx: CheckContext<unknown>): Generator<DerivedName> {
  const used = new Set(ctx.env.services.map((s) => s.policies.sessionCache?.name).filter((x) => x !== undefined));
  for (const p of ctx.env.policies.sessionCache) {
    if (!used.has(p.name)) continue;
    const field = `policies.sessionCache.${p.name}`;
    yield { name: `redis-${p.name}`, limit: STATEFULSET_NAME_MAX, usedAs: 'Redis StatefulSet (plugins/session-cache)', field };
    if (p.replication === 'sentinel')
      yield { name: `redis-${p.name}-sentinel`, limit: STATEFULSET_NAME_MAX, usedAs: 'Sentinel StatefulSet (plugins/session-cache)', field };
  }
}
