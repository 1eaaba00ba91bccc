/**
 * The `canary` policy group belongs to this plugin (contract v2), as `backup` belongs to
 * plugins/velero: its schema and its rules across fields live here, not in the model. The
 * model resolves `services.<name>.policies.canary: <policy>`; the host validates every
 * `policies.canary.<name>` against this schema, with positions, before any hook runs.
 */
import { checkDerivedNames, INT32_MAX, LABEL_VALUE_MAX, Type, type CheckContext, type Static } from '@topoforge/plugin-sdk';
import type { Environment, Named, Service } from '@topoforge/model';

export const CanaryPolicySchema = Type.Object(
  {
    interval: Type.String({ pattern: '^[0-9]+(m|s)$', description: 'analysis interval, e.g. 1m' }),
    threshold: Type.Integer({ minimum: 1, maximum: INT32_MAX, description: 'failed checks before rollback' }),
    maxWeight: Type.Integer({ minimum: 1, maximum: 100 }),
    stepWeight: Type.Integer({ minimum: 1, maximum: 100 }),
    successRateMin: Type.Number({ minimum: 0, maximum: 100, description: 'request success rate (%) below which a check fails' }),
    durationMaxMs: Type.Integer({ minimum: 1, maximum: INT32_MAX, description: 'P99 request duration (ms) above which a check fails' }),
  },
  { additionalProperties: false, description: 'a canary analysis policy' },
);
export type CanaryPolicyInput = Static<typeof CanaryPolicySchema>;
export type CanaryPolicy = Named & CanaryPolicyInput;

export const policies = { canary: CanaryPolicySchema };

/*
 * Typed reads of the group. The model holds every group as `Named`; the host has validated
 * each `policies.canary.<name>` against CanaryPolicySchema before any hook runs (the test
 * harness too), so the cast states what that validation established.
 */
/** The canary policy a service names, if any. */
export const canaryPolicyOf = (s: Service): CanaryPolicy | undefined => s.policies.canary as CanaryPolicy | undefined;
/** Every canary policy of the environment, by name. */
export const canaryPolicies = (env: Environment): readonly CanaryPolicy[] => (env.policies.canary ?? []) as readonly CanaryPolicy[];

/** Rules across fields, at the field to change, with the codes the model reported them under. */
export function checkCanary(ctx: CheckContext<unknown>): void {
  for (const c of canaryPolicies(ctx.env)) {
    if (c.stepWeight > c.maxWeight)
      ctx.error(`stepWeight ${c.stepWeight} exceeds maxWeight ${c.maxWeight}`, {
        field: `policies.canary.${c.name}.stepWeight`,
        hint: 'the canary would jump past its maximum weight in one step',
        code: 'TOPOLOGY_INVALID_VALUE',
      });
  }
  for (const s of ctx.env.services) {
    // Flagger copies the target into `<name>-primary` and selects its pods by that label value.
    if (s.rollout === 'canary')
      checkDerivedNames(ctx, [
        {
          name: `${s.name}-primary`,
          limit: LABEL_VALUE_MAX,
          usedAs: 'Flagger primary Deployment and its selector label (plugins/flagger)',
          field: `services.${s.name}`,
        },
      ]);
    if (s.rollout === 'canary' && !canaryPolicyOf(s))
      ctx.error(`service "${s.name}" rolls out by canary but names no canary policy`, {
        field: `services.${s.name}.rollout`,
        hint: 'add policies.canary: <name of a canary policy>',
        code: 'TOPOLOGY_MISSING_FIELD',
      });
  }
}
