/**
 * The orchestrator's configuration: rendered by the traffic-alerts plugin from the topology
 * model (ConfigMap `failover-orchestrator`, key `config.json`). Validated at start; a bad file
 * is an error with the field path, and the process exits non-zero.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';

const Name = Type.String({ minLength: 1, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });

export const ConfigSchema = Type.Object(
  {
    environment: Type.String({ minLength: 1 }),
    dryRun: Type.Boolean(),
    timing: Type.Object(
      {
        /** A failover alert must keep firing this long before a drain (confirmation). */
        confirmSeconds: Type.Number({ minimum: 0 }),
        /** A drained DC stays drained at least this long (hysteresis). */
        minDrainedSeconds: Type.Number({ minimum: 0 }),
        /** TrafficFailbackReady must keep firing this long before weights are restored. */
        failbackSeconds: Type.Number({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    /** Never drain more than this share of a service's DCs (a drop many DCs share is not a DC's own). */
    maxDrainedFraction: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    quorum: Type.Object({ label: Type.Optional(Type.String({ minLength: 1 })), min: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    /**
     * Several replicas (one per `replicas` DC): the one holding the Lease `leaseName` in a
     * strict majority of `clusters` acts (see election.ts). Absent: one replica, always acting.
     */
    election: Type.Optional(
      Type.Object(
        {
          replicas: Type.Array(Name, { minItems: 2 }),
          namespace: Name,
          leaseName: Name,
          leaseDurationSeconds: Type.Integer({ minimum: 3 }),
          renewDeadlineSeconds: Type.Integer({ minimum: 2 }),
          retryPeriodSeconds: Type.Integer({ minimum: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
    clusters: Type.Array(Type.Object({ dc: Name, context: Type.String({ minLength: 1 }) }, { additionalProperties: false }), { minItems: 1 }),
    services: Type.Array(
      Type.Object(
        {
          name: Name,
          recoveryPriority: Type.Integer({ minimum: 1 }),
          namespace: Name,
          gslb: Name,
          dcs: Type.Array(
            Type.Object({ name: Name, geoTag: Type.String({ minLength: 1 }), weight: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
            { minItems: 1 },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  readonly code = 'ORCHESTRATOR_CONFIG_INVALID';
}

const validate = new Ajv({ allErrors: true }).compile<Config>(ConfigSchema);

export function parseConfig(text: string, source: string): Config {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not JSON: ${(err as Error).message}`);
  }
  if (!validate(data)) {
    throw new ConfigError(`${source}: ${(validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ')}`);
  }
  const dcs = new Set(data.clusters.map((c) => c.dc));
  for (const [i, s] of data.services.entries()) {
    for (const [j, d] of s.dcs.entries()) if (!dcs.has(d.name)) throw new ConfigError(`${source}: /services/${i}/dcs/${j}/name: no cluster for DC ${d.name}`);
  }
  const e = data.election;
  if (e) {
    for (const [i, r] of e.replicas.entries()) if (!dcs.has(r)) throw new ConfigError(`${source}: /election/replicas/${i}: no cluster for DC ${r}`);
    if (data.clusters.length < 3)
      throw new ConfigError(`${source}: /election: a majority of ${data.clusters.length} clusters cannot survive the loss of one; run one replica`);
    if (!(e.retryPeriodSeconds < e.renewDeadlineSeconds && e.renewDeadlineSeconds < e.leaseDurationSeconds)) {
      throw new ConfigError(`${source}: /election: needs retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds`);
    }
  }
  return data;
}
