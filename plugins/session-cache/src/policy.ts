/**
 * The `sessionCache` policy group belongs to this plugin (contract v2): its schema and
 * its cross-field rule live here, not in the model. The model resolves
 * `services.<name>.policies.sessionCache: <policy>`; the host validates every
 * `policies.sessionCache.<name>` against this schema, with positions.
 */
import { Type, type CheckContext, type Static } from '@topoforge/plugin-sdk';

export const SessionCachePolicySchema = Type.Object(
  {
    windowSeconds: Type.Integer({ minimum: 1, description: 'how much of a session is kept' }),
    ttlSeconds: Type.Integer({ minimum: 1, description: 'how long it is kept after the last write' }),
    maxMemory: Type.String({ pattern: '^[0-9]+(kb|mb|gb)$', description: 'Redis maxmemory, e.g. 512mb' }),
    replication: Type.Union([Type.Literal('standalone'), Type.Literal('sentinel')]),
    replicas: Type.Integer({ minimum: 0, maximum: 10 }),
  },
  { additionalProperties: false, description: 'a session cache policy' },
);
export type SessionCachePolicyInput = Static<typeof SessionCachePolicySchema>;

export const policies = { sessionCache: SessionCachePolicySchema };

/** Rules across fields of one policy, reported at the field to change. */
export function checkSessionCache(ctx: CheckContext<unknown>): void {
  for (const p of ctx.env.policies.sessionCache) {
    if (p.replication === 'sentinel' && p.replicas < 1) {
      ctx.error('sentinel replication needs at least one replica', {
        field: `policies.sessionCache.${p.name}.replicas`,
        hint: 'set replicas: 1 or more, or replication: standalone',
      });
    }
  }
}
