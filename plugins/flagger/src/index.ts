/**
 * Flagger canaries for every service that rolls out by canary, in every DC where it runs,
 * in both environments — gated by the test stand. See README.md.
 */
import { definePlugin } from '@topoforge/plugin-sdk';
import { Options, isGatewayApi } from './options.js';
import { alertProvider, autoscaler, builtinDurationIsP99, canary, gateConfig, p99Template } from './objects.js';

export * from './objects.js';
export { Options, PROVIDERS, type FlaggerOptions, type Provider } from './options.js';

export default definePlugin({
  name: 'flagger',
  description: 'Flagger canaries for front applications and the store, gated by the test stand.',
  options: Options,
  render(ctx) {
    const o = ctx.options;
    if (isGatewayApi(o.provider) && !o.gateway) {
      ctx.error(`provider ${o.provider} needs the Gateway the HTTPRoutes attach to`, { field: 'plugins.flagger.options.gateway', hint: 'set gateway: { name: <gateway>, namespace: <its namespace> }' });
      return;
    }
    // The model refuses `rollout: canary` without a canary policy, so none is dropped here.
    const canaries = ctx.env.services.filter((s) => s.rollout === 'canary' && s.policies.canary);

    for (const dc of ctx.env.dataCenters) {
      const here = canaries.filter((s) => s.dataCenters.includes(dc.name));
      if (here.length === 0) continue;
      const target = { dc: dc.name };
      ctx.object(target, alertProvider(ctx.env, dc.name, o));
      if (!builtinDurationIsP99(o)) ctx.object(target, p99Template(o));
      ctx.object(target, gateConfig(ctx.env, dc.name, here, o));
      for (const s of here) {
        ctx.object(target, canary(ctx.env, dc.name, s, o), { service: s.name });
        if (o.autoscaler.emit) ctx.object(target, autoscaler(s, o), { service: s.name });
      }
    }
  },
  plan(ctx) {
    const canaries = ctx.env.services.filter((s) => s.rollout === 'canary' && s.policies.canary);
    if (canaries.length === 0) return [];
    const rows = canaries.map((s) => {
      const p = s.policies.canary!;
      const steps = Math.ceil(p.maxWeight / p.stepWeight);
      return `${s.name.padEnd(16)} ${s.version.padEnd(9)} ${`${p.stepWeight}%→${p.maxWeight}% every ${p.interval}, ${steps} steps`.padEnd(30)} success ≥ ${p.successRateMin}%, P99 ≤ ${p.durationMaxMs} ms  (${s.dataCenters.length} DCs)`;
    });
    const gate =
      ctx.env.stage === 'staging'
        ? 'test stand: acceptance test (pre-rollout), load test (rollout), result to the recorder (post-rollout)'
        : `gate: confirm-rollout and confirm-promotion ask ${ctx.options.gate.url} for the ${ctx.options.gate.testStand} ledger (${ctx.options.gate.ledger})`;
    return [{ title: `Canaries (Flagger, provider ${ctx.options.provider})`, body: `${rows.join('\n')}\n${gate}\n` }];
  },
});
