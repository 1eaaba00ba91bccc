/**
 * The decisions, apart from HTTP: given a hook, Flagger's payload, the gate's configuration,
 * the ledger and what the API server says the target Deployment runs, what to answer.
 *
 * Production (`mode: gate`): a rollout goes ahead only when the image the target Deployment
 * really runs is a version the test stand verified (and did not roll back) — not the version
 * a Canary's metadata claims, which an app team's hand edit of the image would bypass.
 */
import { ledgerRefusal, type Ledger } from '@topoforge/model';
import type { V1Deployment } from '@kubernetes/client-node';
import type { GateConfig, GateEntry } from './config.js';
import type { Evidence } from './evidence.js';
import { parseImage } from './image.js';
import type { DeploymentReader } from './kube.js';
import type { HookType, WebhookPayload } from './payload.js';

export interface Decision {
  /** HTTP status: Flagger treats 200–202 as "yes" (for rollback hooks: "roll back now"). */
  readonly status: number;
  readonly allowed: boolean;
  /** Stable machine-readable cause (metrics label). */
  readonly code: string;
  readonly reason: string;
  readonly service?: string;
  readonly image?: string;
  readonly version?: string;
  readonly evidence?: Evidence;
}

export interface DecideContext {
  readonly config: GateConfig;
  readonly reader: DeploymentReader;
  /** The current ledger (production), or why it cannot be read. */
  readonly ledger: () => { ok: true; ledger: Ledger } | { ok: false; reason: string };
  readonly now: () => Date;
}

/**
 * Answers the gate could not decide on: it could not see what runs (API server down, slow,
 * forbidden, the Deployment or container missing), could not read its ledger, does not know
 * the canary, ran past its own deadline, got a payload it cannot read, or failed inside — as
 * opposed to a judgement on the version (`unverified`, `failed`, `wrong-repository`, `digest`,
 * `no-tag`, `verified`, …). On a confirm hook Flagger then keeps the canary in `Waiting` with
 * no deadline; on the test stand's post-rollout the run is not recorded and Flagger does not
 * retry. The rollback hook's `keep-<code>` and post-rollout's `unrecorded-<code>` wrap the
 * same causes. Counted as `promotion_gate_undecided_total{hook}` (server.ts).
 */
export function undecided(code: string): boolean {
  return /^(keep-|unrecorded-)?(api-.+|ledger-unreadable|unknown-canary|no-container|timeout|bad-request|internal)$/.test(code);
}

const refuse = (code: string, reason: string, extra: Partial<Decision> = {}): Decision => ({ status: 403, allowed: false, code, reason, ...extra });

type Running = { ok: true; entry: GateEntry; image: string; version: string } | { ok: false; decision: Decision };

/** Flagger's copy of the target, which it writes when it promotes: `<target>-primary`. */
export const primaryOf = (deployment: string): string => `${deployment}-primary`;

/**
 * The canary's entry and the version a Deployment runs, read from the API server: the
 * target by default, or the primary Flagger promoted into (`primary: true`).
 */
async function running(payload: WebhookPayload, ctx: DecideContext, primary = false): Promise<Running> {
  const entry = ctx.config.canaries.find((c) => c.namespace === payload.namespace && c.canary === payload.name);
  if (!entry)
    return {
      ok: false,
      decision: refuse(
        'unknown-canary',
        `canary ${payload.namespace}/${payload.name} is not one this gate answers for in ${ctx.config.environment}/${ctx.config.dc}`,
      ),
    };
  const name = primary ? primaryOf(entry.deployment) : entry.deployment;
  const read = await ctx.reader.read(entry.namespace, name);
  if (!read.ok)
    return {
      ok: false,
      decision: refuse(`api-${read.failure}`, `cannot tell what ${entry.namespace}/${name} runs: ${read.reason}`, { service: entry.service }),
    };
  const containers = (read.deployment as V1Deployment).spec?.template.spec?.containers ?? [];
  const container = containers.find((c) => c.name === entry.container) ?? (containers.length === 1 ? containers[0] : undefined);
  if (!container?.image)
    return {
      ok: false,
      decision: refuse('no-container', `deployment ${entry.namespace}/${name} has no container "${entry.container}"`, { service: entry.service }),
    };
  const image = container.image;
  const ref = parseImage(image);
  const extra = { service: entry.service, image };
  if (ref.repository !== entry.image)
    return {
      ok: false,
      decision: refuse('wrong-repository', `deployment ${entry.namespace}/${name} runs ${image}, not an image of ${entry.image}`, extra),
    };
  if (ref.digest)
    return {
      ok: false,
      decision: refuse(
        'digest',
        `deployment ${entry.namespace}/${name} runs ${image}: the ledger records versions (tags), and a digest says nothing about which one`,
        extra,
      ),
    };
  if (!ref.tag) return { ok: false, decision: refuse('no-tag', `deployment ${entry.namespace}/${name} runs ${image} without a version tag`, extra) };
  return { ok: true, entry, image, version: ref.tag };
}

/** confirm-rollout and confirm-promotion in production. */
async function confirm(payload: WebhookPayload, ctx: DecideContext): Promise<Decision> {
  const r = await running(payload, ctx);
  if (!r.ok) return r.decision;
  const extra = { service: r.entry.service, image: r.image, version: r.version };
  const ledger = ctx.ledger();
  if (!ledger.ok) return refuse('ledger-unreadable', `the ${ctx.config.testStand} ledger cannot be read: ${ledger.reason}`, extra);
  const no = ledgerRefusal(ledger.ledger, r.entry.service, r.version, ctx.config.testStand);
  if (no) return refuse(no.code, `deployment ${r.entry.namespace}/${r.entry.deployment} runs ${r.image}: ${no.reason}`, extra);
  return {
    status: 200,
    allowed: true,
    code: 'verified',
    reason: `deployment ${r.entry.namespace}/${r.entry.deployment} runs ${r.image}: ${r.entry.service} ${r.version} passed ${ctx.config.testStand}`,
    ...extra,
  };
}

export async function decide(hook: HookType, payload: WebhookPayload, ctx: DecideContext): Promise<Decision> {
  const mode = ctx.config.mode;
  if (mode === 'gate') {
    if (hook === 'confirm-rollout' || hook === 'confirm-promotion') return confirm(payload, ctx);
    if (hook === 'rollback') {
      // 200 tells Flagger to roll back: only when the ledger itself says no, never because the
      // API server is unreachable (the confirm hooks already hold the rollout then).
      const d = await confirm(payload, ctx);
      if (d.code === 'failed' || d.code === 'unverified')
        return { ...d, status: 200, allowed: true, code: `rollback-${d.code}`, reason: `roll back: ${d.reason}` };
      return {
        ...d,
        status: 409,
        allowed: false,
        code: d.allowed ? 'keep' : `keep-${d.code}`,
        reason: d.allowed ? `no rollback: ${d.reason}` : `no rollback requested: ${d.reason}`,
      };
    }
    return {
      status: 200,
      allowed: true,
      code: 'noted',
      reason: `production canary ${payload.namespace}/${payload.name} finished in phase ${payload.phase || '(none)'}`,
    };
  }
  // The test stand: record results; never gate.
  if (hook === 'confirm-rollout' || hook === 'confirm-promotion')
    return { status: 200, allowed: true, code: 'test-stand', reason: `${ctx.config.environment} is the test stand: rollouts are not gated here` };
  if (hook === 'rollback')
    return { status: 409, allowed: false, code: 'test-stand', reason: `${ctx.config.environment} is the test stand: its analysis decides rollbacks` };
  if (payload.phase !== 'Succeeded' && payload.phase !== 'Failed')
    return { status: 200, allowed: true, code: 'ignored', reason: `phase ${payload.phase || '(none)'} is not a result` };
  const failed = payload.phase === 'Failed';
  // Which Deployment holds the version this run judged. Succeeded: the primary — Flagger copied
  // the analysed target into it when it promoted, then spent the Promoting and Finalising
  // phases (an interval each) before this hook without looking for a new revision, so a bump
  // applied to the target meanwhile is still there, unanalysed. Failed: the target — a rollback
  // leaves the primary on the old version, and the hook follows the rollback at once.
  const r = await running(payload, ctx, !failed);
  // Flagger does not retry post-rollout: a 503 makes it log the failure, and the gate's log keeps the reason.
  if (!r.ok) return { ...r.decision, status: 503, code: `unrecorded-${r.decision.code}` };
  const evidence: Evidence = {
    at: ctx.now().toISOString(),
    environment: ctx.config.environment,
    dc: ctx.config.dc,
    namespace: r.entry.namespace,
    canary: r.entry.canary,
    service: r.entry.service,
    version: r.version,
    image: r.image,
    result: failed ? 'failed' : 'succeeded',
    phase: payload.phase,
    checksum: payload.checksum ?? '',
    reason: failed
      ? `rolled back by the ${ctx.config.environment} canary analysis in ${ctx.config.dc}`
      : `promoted by the ${ctx.config.environment} canary analysis in ${ctx.config.dc}`,
  };
  return {
    status: 200,
    allowed: true,
    code: failed ? 'recorded-failed' : 'recorded-succeeded',
    reason: `recorded: ${r.entry.service} ${r.version} ${evidence.reason}`,
    service: r.entry.service,
    image: r.image,
    version: r.version,
    evidence,
  };
}
