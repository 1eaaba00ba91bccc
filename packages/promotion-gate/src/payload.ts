/**
 * What Flagger POSTs to a webhook: `CanaryWebhookPayload` in Flagger's
 * pkg/apis/flagger/v1beta1/canary.go — `name`, `namespace`, `phase`, `checksum` (hash of the
 * Canary's tracked configs and last applied spec) and the webhook's `metadata`. The hook's
 * type is not part of the payload in the Flagger sources we checked, so each type has its
 * own path here; a `type` field, when a Flagger version sends one, must agree with it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const HOOK_TYPES = ['confirm-rollout', 'confirm-promotion', 'post-rollout', 'rollback'] as const;
export type HookType = (typeof HOOK_TYPES)[number];

/** Flagger's CanaryPhase values. */
export const PHASES = [
  '',
  'Initializing',
  'Initialized',
  'Waiting',
  'Progressing',
  'WaitingPromotion',
  'Promoting',
  'Finalising',
  'Succeeded',
  'Failed',
  'Terminating',
  'Terminated',
] as const;

export const WebhookPayload = Type.Object({
  name: Type.String({ minLength: 1 }),
  namespace: Type.String({ minLength: 1 }),
  phase: Type.Union(PHASES.map((p) => Type.Literal(p))),
  checksum: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type WebhookPayload = Static<typeof WebhookPayload>;

export function parsePayload(body: unknown, hook: HookType): { ok: true; value: WebhookPayload } | { ok: false; reason: string } {
  if (!Value.Check(WebhookPayload, body)) {
    const first = [...Value.Errors(WebhookPayload, body)][0];
    return { ok: false, reason: `not a Flagger webhook payload: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}` };
  }
  if (body.type !== undefined && body.type !== hook) return { ok: false, reason: `payload type "${body.type}" sent to the ${hook} endpoint` };
  return { ok: true, value: body };
}
