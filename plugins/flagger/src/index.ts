/**
 * Flagger canaries for every service that rolls out by canary, in every DC where it runs,
 * in both environments — gated by the test stand — and the promotion gate that enforces it.
 * See README.md.
 */
import { checkNamespaceCollisions, definePlugin, type EmittedObject } from '@topoforge/plugin-sdk';
import { Options, INGRESS_PROVIDERS, MESH_PROVIDERS, isGatewayApi, withTestStand } from './options.js';
import { alertProvider, autoscaler, builtinDurationIsP99, canary, gateConfig, p99Template } from './objects.js';
import { review } from './review.js';
import { canaryPolicyOf, checkCanary, policies } from './policy.js';
import { gateDeployment, gateLedger, gateRole, gateRoleBinding, gateService, gateServiceAccount } from './gate.js';
import { toYaml } from '@topoforge/yaml-emit';
import { gateAlertGroup, gateAlertmanagerConfig, gateAlertTests, gatePrometheusRule, gateServiceMonitor } from './monitoring.js';

export * from './objects.js';
export * from './gate.js';
export * from './monitoring.js';
export { CanaryPolicySchema, canaryPolicies, canaryPolicyOf, type CanaryPolicy, type CanaryPolicyInput } from './policy.js';
export { canaryLoosened, canaryRemoved, review } from './review.js';
export { Options, PROVIDERS, MESH_PROVIDERS, withTestStand, type FlaggerInput, type FlaggerOptions, type Provider } from './options.js';

export default definePlugin({
  name: 'flagger',
  description: 'Flagger canaries for front applications and the store, gated by the test stand.',
  // workloads emits the Deployments, Ingresses and HPAs the Canaries reference; the gate uses traffic-alerts' platform PriorityClass.
  // Optional (`?`): without workloads a team brings its own workloads (the model's host is used); without
  // traffic-alerts the cluster must already have that PriorityClass, or the API server refuses the gate's pods.
  after: ['workloads?', 'traffic-alerts?'],
  options: Options,
  policies,
  check(ctx) {
    checkCanary(ctx);
    const o = ctx.options;
    checkNamespaceCollisions(ctx, [
      { namespace: o.namespace, option: 'plugins.flagger.options.namespace', what: 'Flagger' },
      { namespace: o.gate.namespace, option: 'plugins.flagger.options.gate.namespace', what: 'the promotion gate' },
      ...(o.monitoring.enabled
        ? [{ namespace: o.monitoring.namespace, option: 'plugins.flagger.options.monitoring.namespace', what: "the promotion gate's alerts" }]
        : []),
      ...(o.gateway ? [{ namespace: o.gateway.namespace, option: 'plugins.flagger.options.gateway.namespace', what: `the Gateway ${o.gateway.name}` }] : []),
    ]);
  },
  review,
  render(ctx) {
    const o = withTestStand(ctx.options, ctx.env);
    if (isGatewayApi(o.provider) && !o.gateway) {
      ctx.error(`provider ${o.provider} needs the Gateway the HTTPRoutes attach to`, {
        field: 'plugins.flagger.options.gateway',
        hint: 'set gateway: { name: <gateway>, namespace: <its namespace> }',
      });
      return;
    }
    // The model refuses `rollout: canary` without a canary policy, so none is dropped here.
    const canaries = ctx.env.services.filter((s) => s.rollout === 'canary' && canaryPolicyOf(s));
    const earlier = ctx.emitted().filter((e): e is EmittedObject => e.type === 'object');
    const find = (dc: string, kind: string, namespace: string, name: string) =>
      earlier.find((e) => e.dc === dc && e.object.kind === kind && e.object.metadata.namespace === namespace && e.object.metadata.name === name);
    // The gate must read the ledger render checks production's versions against (the model's testStand).
    if (ctx.env.testStand !== undefined && ctx.env.testStand !== o.gate.testStand) {
      ctx.error(`the gate would read the ledger of "${o.gate.testStand}", but ${ctx.env.name} names "${ctx.env.testStand}" as its test stand`, {
        field: 'plugins.flagger.options.gate.testStand',
        hint: `set gate: { testStand: ${ctx.env.testStand} } (or change testStand)`,
      });
      return;
    }
    const testStand = ctx.env.stage === 'production' ? ctx.environment(o.gate.testStand) : undefined;
    if (ctx.env.stage === 'production' && canaries.length > 0 && !testStand?.ledger) {
      ctx.error(`the gate needs the ledger of test stand "${o.gate.testStand}", which is not a staging environment of this topology`, {
        field: 'plugins.flagger.options.gate.testStand',
        hint: 'name the staging environment whose canaries verify versions',
      });
      return;
    }

    for (const dc of ctx.env.dataCenters) {
      const here = canaries.filter((s) => s.dataCenters.includes(dc.name));
      if (here.length === 0) continue;
      const target = { dc: dc.name };
      ctx.object(target, alertProvider(ctx.env, dc.name, o));
      if (!builtinDurationIsP99(o)) ctx.object(target, p99Template(o));
      ctx.object(target, gateConfig(ctx.env, dc.name, here, o));
      ctx.object(target, gateServiceAccount(o));
      ctx.object(target, gateDeployment(ctx.env, o));
      ctx.object(target, gateService(o));
      if (testStand?.ledger) ctx.object(target, gateLedger(testStand.ledger, testStand.name, o));
      if (o.monitoring.enabled) {
        ctx.object(target, gateServiceMonitor(o));
        const group = gateAlertGroup(ctx.env, dc.name, here, o);
        ctx.object(target, gatePrometheusRule(group, o));
        ctx.object(target, gateAlertmanagerConfig(ctx.env, o));
        const dir = `environment/flagger/promtool/${dc.name}`;
        ctx.file(`${dir}/promotion-gate.rules.yaml`, toYaml({ groups: [group] }), target);
        ctx.file(`${dir}/promotion-gate.test.yaml`, toYaml(gateAlertTests(ctx.env, group, here, o, 'promotion-gate.rules.yaml')), target);
      }
      for (const s of here) {
        // The host the edge routes on: the Ingress workloads emitted, else the one the model names.
        const ing = find(dc.name, 'Ingress', s.namespace, s.name)?.object as { spec?: { rules?: { host?: string }[] } } | undefined;
        const host = ing?.spec?.rules?.[0]?.host ?? s.workload?.host;
        if (ctx.env.stage === 'staging' && !MESH_PROVIDERS.includes(o.provider) && !host) {
          ctx.error(`the ${s.name} load test must pass through the edge that provider ${o.provider} measures, but ${s.name} has no Ingress host`, {
            field: `services.${s.name}.workload.host`,
            hint: 'enable the workloads plugin or set services.<name>.workload.host',
          });
          continue;
        }
        if (INGRESS_PROVIDERS.includes(o.provider) && earlier.some((e) => e.plugin === 'workloads') && !ing) {
          ctx.error(`provider ${o.provider} shifts weight on the Ingress of ${s.name}, which workloads does not emit in ${dc.name}`, {
            field: `services.${s.name}.workload.host`,
            hint: 'give the service a host',
          });
          continue;
        }
        ctx.object(target, canary(ctx.env, dc.name, s, o, host), { service: s.name });
        // The HPA belongs to whoever emitted it first (workloads); Flagger only needs it to exist.
        if (o.autoscaler.emit && !find(dc.name, 'HorizontalPodAutoscaler', s.namespace, s.name)) ctx.object(target, autoscaler(s, o), { service: s.name });
        ctx.object(target, gateRole(ctx.env, s), { service: s.name });
        ctx.object(target, gateRoleBinding(s, o), { service: s.name });
      }
    }
  },
  plan(ctx) {
    const canaries = ctx.env.services.filter((s) => s.rollout === 'canary' && canaryPolicyOf(s));
    if (canaries.length === 0) return [];
    const rows = canaries.map((s) => {
      const p = canaryPolicyOf(s)!;
      const steps = Math.ceil(p.maxWeight / p.stepWeight);
      return `${s.name.padEnd(16)} ${s.version.padEnd(9)} ${`${p.stepWeight}%→${p.maxWeight}% every ${p.interval}, ${steps} steps`.padEnd(30)} success ≥ ${p.successRateMin}%, P99 ≤ ${p.durationMaxMs} ms  (${s.dataCenters.length} DCs)`;
    });
    const gate =
      ctx.env.stage === 'staging'
        ? 'test stand: acceptance test (pre-rollout), load test through the edge (rollout), result to the gate as evidence (post-rollout)'
        : `gate: confirm-rollout, confirm-promotion and rollback ask ${ctx.options.gate.url} whether the image each Deployment runs is in the ${withTestStand(ctx.options, ctx.env).gate.testStand} ledger`;
    return [{ title: `Canaries (Flagger, provider ${ctx.options.provider})`, body: `${rows.join('\n')}\n${gate}\n` }];
  },
});
