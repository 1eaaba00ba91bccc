/**
 * The `trafficDrop` policy group belongs to this plugin (contract v2), as `backup` belongs to
 * plugins/velero and `canary` to plugins/flagger: its schema lives here, not in the model.
 * The model resolves `services.<name>.policies.trafficDrop: <policy>`; the host validates
 * every `policies.trafficDrop.<name>` against this schema, with positions, before any hook
 * runs. The group has no defaults and no rule across fields (every field is checked alone).
 */
import { Type, type Static } from '@topoforge/plugin-sdk';
import type { Environment, Named, Service } from '@topoforge/model';

const Duration = (description: string) => Type.String({ description, pattern: '^([0-9]+(ms|s|m|h))+$' });

export const TrafficDropPolicySchema = Type.Object(
  {
    dropRatio: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'fire when traffic falls below this share of the same time last week' }),
    minRequestsPerSecond: Type.Number({ minimum: 0, description: 'last week must have had at least this much traffic (quiet-night guard)' }),
    rateWindow: Duration('window of the request rate, e.g. 5m'),
    for: Duration('how long the condition must hold before the alert fires'),
    severity: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false, description: 'a traffic-drop alert policy' },
);
export type TrafficDropPolicyInput = Static<typeof TrafficDropPolicySchema>;
export type TrafficDropPolicy = Named & TrafficDropPolicyInput;

export const policies = { trafficDrop: TrafficDropPolicySchema };

/*
 * Typed reads of the group. The model holds every group as `Named`; the host has validated
 * each `policies.trafficDrop.<name>` against TrafficDropPolicySchema before any hook runs (the
 * test harness too), so the cast states what that validation established. Code outside this
 * plugin reads traffic-drop policies through these.
 */
/** The traffic-drop policy a service names, if any. */
export const trafficDropPolicyOf = (s: Service): TrafficDropPolicy | undefined => s.policies.trafficDrop as TrafficDropPolicy | undefined;
/** Every traffic-drop policy of the environment, by name. */
export const trafficDropPolicies = (env: Environment): readonly TrafficDropPolicy[] => (env.policies.trafficDrop ?? []) as readonly TrafficDropPolicy[];
