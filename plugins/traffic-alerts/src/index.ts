/**
 * Traffic-drop alerting that drives DC failover, log-based monitoring and the recovery
 * order. See README.md.
 */
import { checkNamespaceCollisions, definePlugin, INT32_MAX, KubernetesName, labelsIfAny, ruleTestFile, SelectorLabels, Type } from '@topoforge/plugin-sdk';
import { toYaml } from '@topoforge/yaml-emit';
import { prometheusRuleReview } from '@topoforge/review-prometheus';
import type { Environment } from '@topoforge/model';
import { failoverPlan, formatFailoverPlan } from './failover.js';
import { orchestratorHealthRules, serviceRules, type RuleGroup, type RuleOptions } from './rules.js';
import { serviceTests } from './unit-tests.js';
import { checkTrafficSelector } from './promql.js';
import { alertmanagerConfig } from './routing.js';
import { gslb } from './gslb.js';
import { orchestratorObjects, orchestratorReplicas, webhookUrls, ORCHESTRATOR_DEFAULTS, WebhookTokenSecretOption } from './orchestrator.js';
import { alloyConfig, lokiRules } from './logs.js';
import { policies, trafficDropPolicyOf } from './policy.js';

export { TrafficDropPolicySchema, trafficDropPolicies, trafficDropPolicyOf, type TrafficDropPolicy, type TrafficDropPolicyInput } from './policy.js';
export { failoverPlan, failoverTargets, formatFailoverPlan } from './failover.js';
export {
  serviceRules,
  orchestratorHealthRules,
  ALL_ALERTS,
  HEALTH_ALERTS,
  FAILOVER_ALERTS,
  ACTION_LABEL,
  FAILOVER_ACTION,
  FAILBACK_ACTION,
  DRAINED_METRIC,
  type Rule,
  type RuleGroup,
  type RuleOptions,
} from './rules.js';
export { serviceTests, durationMinutes } from './unit-tests.js';
export { quoteLabelValue, matchers, promqlSyntaxErrors, checkTrafficSelector } from './promql.js';
export { alertmanagerConfig, operatorAlertmanagerConfig, KUBE_PROMETHEUS_STACK_BASE, ORCHESTRATOR_RECEIVER, type AlertmanagerYaml } from './routing.js';
export { gslb, gslbGeoTag } from './gslb.js';
export { orchestratorConfig, orchestratorReplicas, webhookUrls, ELECTION_TIMING, LEASE_NAME, type OrchestratorConfig, type Replicas } from './orchestrator.js';
export { serviceSeries, drainedSeries, notation, rateAt, BUSINESS_DAY, type SimSpec, type SimDc, type Effect, type InputSeries } from './simulate.js';

export { priorityClassName, priorityClassValue, PLATFORM_PRIORITY_CLASS, PLATFORM_PRIORITY_VALUE } from './priority.js';
import { priorityClassName, priorityClassValue, PLATFORM_PRIORITY_CLASS, PLATFORM_PRIORITY_VALUE } from './priority.js';

const Duration = (def: string, description: string) => Type.String({ default: def, pattern: '^([0-9]+(ms|s|m|h|d|w))+$', description });

const Options = Type.Object(
  {
    namespace: KubernetesName('namespace of the PrometheusRules, the AlertmanagerConfig and the log pipeline', 'monitoring'),
    ruleLabels: SelectorLabels('labels on every PrometheusRule for the Prometheus ruleSelector, e.g. { release: kube-prometheus-stack }'),
    orchestrator: Type.Object(
      {
        webhookUrl: Type.String({
          pattern: '^https?://',
          description: 'the failover orchestrator webhook; with {dc} in it, one webhook per replica DC (each replica reachable from every DC)',
        }),
        namespace: KubernetesName('namespace the failover orchestrator runs in', ORCHESTRATOR_DEFAULTS.namespace),
        image: Type.String({ default: ORCHESTRATOR_DEFAULTS.image }),
        hostDc: Type.Optional(Type.String({ description: 'one replica only, in this DC (instead of replicaDcs)' })),
        replicaDcs: Type.Optional(
          Type.Array(Type.String(), {
            minItems: 1,
            description:
              'DCs running a replica (one acts: quorum lease); default: the first DC of each of up to three regions, one replica with fewer than 3 DCs',
          }),
        ),
        dryRun: Type.Boolean({ default: false }),
        confirmFor: Duration('2m', 'a drop alert must keep firing this long before a drain'),
        minDrained: Duration('15m', 'a drained DC stays drained at least this long (hysteresis)'),
        failbackAfter: Duration('10m', 'TrafficFailbackReady must keep firing this long before weights are restored'),
        maxDrainedFraction: Type.Number({
          default: 0.5,
          exclusiveMinimum: 0,
          maximum: 1,
          description: "never drain more than this share of a service's DCs at once",
        }),
        quorumLabel: Type.Optional(
          Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', description: 'external label naming the Prometheus that evaluated the alert' }),
        ),
        quorum: Type.Integer({ default: 1, minimum: 1, maximum: INT32_MAX, description: 'distinct quorumLabel values that must report a drop' }),
        kubeconfigSecret: Type.String({
          default: 'failover-orchestrator-kubeconfig',
          description: 'Secret (created out of band) with a kubeconfig holding one context per DC',
        }),
        webhookTokenSecret: WebhookTokenSecretOption,
      },
      { additionalProperties: false },
    ),
    runbookBaseUrl: Type.String({ default: 'https://runbooks.example.com/traffic', pattern: '^https?://' }),
    dcLabel: Type.String({ default: 'dc', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', description: 'label carrying the DC on request metrics' }),
    health: Type.Object(
      {
        metric: Type.String({
          default: 'probe_success',
          pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$',
          description: 'probe gauge labelled service and dc (blackbox exporter)',
        }),
        failbackFor: Duration('10m', 'probes of a drained DC must pass this long'),
      },
      { additionalProperties: false, default: {} },
    ),
    loki: Type.Object(
      {
        url: Type.String({ default: 'http://loki-gateway.monitoring.svc/loki/api/v1/push', pattern: '^https?://' }),
        errorRatio: Type.Number({ default: 0.05, exclusiveMinimum: 0, maximum: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    gslb: Type.Object(
      {
        dnsTtlSeconds: Type.Integer({ default: 30, minimum: 1, maximum: INT32_MAX }),
        weight: Type.Integer({
          default: 10,
          minimum: 1,
          maximum: INT32_MAX,
          description: 'round-robin weight of every DC (0 = drained, set by the orchestrator)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export function ruleOptions(o: { dcLabel: string; runbookBaseUrl: string; namespace: string; health: { metric: string; failbackFor: string } }): RuleOptions {
  return { dcLabel: o.dcLabel, runbookBaseUrl: o.runbookBaseUrl, namespace: o.namespace, health: o.health };
}

/** The rule group of every client-facing service with a trafficDrop policy. */
export function ruleGroups(env: Environment, o: RuleOptions): RuleGroup[] {
  return env.services.filter((s) => s.tier === 'client-facing' && trafficDropPolicyOf(s)).map((s) => serviceRules(env, s, o));
}

export default definePlugin({
  name: 'traffic-alerts',
  description: 'Traffic-drop PrometheusRules with promtool tests, orchestrator routing, k8gb Gslbs, log alerts and recovery PriorityClasses.',
  options: Options,
  policies,
  check(ctx) {
    checkNamespaceCollisions(ctx, [
      {
        namespace: ctx.options.namespace,
        option: 'plugins.traffic-alerts.options.namespace',
        what: 'traffic-alerts (its PrometheusRules and AlertmanagerConfig)',
      },
      { namespace: ctx.options.orchestrator.namespace, option: 'plugins.traffic-alerts.options.orchestrator.namespace', what: 'the failover orchestrator' },
    ]);
  },
  // Its PrometheusRules are reviewed by the shared rules (alert removed / loosened), as velero's are.
  review: prometheusRuleReview,
  render(ctx) {
    const env = ctx.env;
    const o = ctx.options;
    const ro = ruleOptions(o);
    for (const s of env.services.filter((x) => x.tier === 'client-facing' && !trafficDropPolicyOf(x))) {
      ctx.log.warn(`client-facing service ${s.name} has no trafficDrop policy: no failover alert for it`);
    }
    // Every model value that reaches PromQL is checked first: a bad selector is an error at load.
    let bad = false;
    for (const s of env.services.filter((x) => x.tier === 'client-facing' && trafficDropPolicyOf(x))) {
      for (const p of checkTrafficSelector(s.traffic.metric, s.traffic.selector, o.dcLabel)) {
        bad = true;
        ctx.error(`TRAFFIC_SELECTOR_INVALID: service ${s.name}: ${p.message}`, {
          field: `services.${s.name}.${p.field}`,
          hint: 'use plain label values (no quotes across lines, no line breaks); the DC label is added by the rules',
        });
      }
    }
    if (bad) return;
    const replicas = orchestratorReplicas(env, o.orchestrator);
    if (!replicas.ok) {
      ctx.error(replicas.message, { field: replicas.field });
      return;
    }
    const groups = ruleGroups(env, ro);
    for (const dc of env.dataCenters) {
      // Recovery order: one PriorityClass per tier in every cluster.
      for (const tier of env.recoveryOrder) {
        ctx.object(
          { dc: dc.name },
          {
            apiVersion: 'scheduling.k8s.io/v1',
            kind: 'PriorityClass',
            metadata: { name: priorityClassName(tier.priority) },
            value: priorityClassValue(tier.priority),
            globalDefault: false,
            preemptionPolicy: 'PreemptLowerPriority',
            // What the tier means, not who is in it: naming its services made every service
            // added to or removed from the tier rewrite this class in every cluster.
            description: `Recovery tier ${tier.priority}: pods of services with recoveryPriority ${tier.priority} (environment/recovery-order.yaml lists them). In a degraded cluster tier 1 gets capacity first, then 2 and so on; it does not decide start order.`,
          },
        );
      }
      ctx.object(
        { dc: dc.name },
        {
          apiVersion: 'scheduling.k8s.io/v1',
          kind: 'PriorityClass',
          metadata: { name: PLATFORM_PRIORITY_CLASS },
          value: PLATFORM_PRIORITY_VALUE,
          globalDefault: false,
          preemptionPolicy: 'PreemptLowerPriority',
          description:
            'Platform components failover depends on (ingress, monitoring, session cache, promotion gate, failover orchestrator): above every recovery tier.',
        },
      );
      // One PrometheusRule per service in every cluster that runs it: each cluster's Prometheus
      // (with the global view, see README) evaluates every DC of the service, so a DC that lost
      // connectivity is still judged by the others.
      const here = groups.filter((g) => env.services.find((s) => s.name === g.rules[0]!.labels!.service)!.dataCenters.includes(dc.name));
      for (const g of here) {
        const service = g.rules[0]!.labels!.service!;
        ctx.object(
          { dc: dc.name },
          {
            apiVersion: 'monitoring.coreos.com/v1',
            kind: 'PrometheusRule',
            metadata: { name: `traffic-drop-${service}`, namespace: o.namespace, ...labelsIfAny(o.ruleLabels) },
            spec: { groups: [g] },
          },
          { service },
        );
      }
      if (here.length > 0) {
        // The failover chain's own health, next to the alerts it depends on (see rules.ts).
        ctx.object(
          { dc: dc.name },
          {
            apiVersion: 'monitoring.coreos.com/v1',
            kind: 'PrometheusRule',
            metadata: {
              name: 'failover-orchestrator-health',
              namespace: o.namespace,
              ...labelsIfAny(o.ruleLabels),
            },
            spec: { groups: [orchestratorHealthRules(env, ro)] },
          },
        );
        ctx.object({ dc: dc.name }, alertmanagerConfig(o.namespace, webhookUrls(o.orchestrator.webhookUrl, replicas.dcs), o.orchestrator.webhookTokenSecret));
      }
      // Logs: collection and log-based alerts for the services running here.
      const running = env.services.filter((s) => s.dataCenters.includes(dc.name));
      ctx.object(
        { dc: dc.name },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'alloy-logs', namespace: o.namespace },
          data: { 'config.alloy': alloyConfig(env, dc.name, o.loki.url) },
        },
      );
      ctx.object(
        { dc: dc.name },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'loki-rules-topoforge', namespace: o.namespace, labels: { loki_rule: '1' } },
          data: { 'topoforge-logs.yaml': toYaml(lokiRules(env, dc.name, running, o.loki.errorRatio)) },
        },
      );
      // Global load balancing: a k8gb Gslb per client-facing service, the same in every cluster.
      for (const s of env.services.filter((x) => x.tier === 'client-facing' && x.dataCenters.includes(dc.name))) {
        ctx.object({ dc: dc.name }, gslb(s, o.gslb), { service: s.name });
      }
      // The orchestrator: its RBAC in every cluster (it patches Gslbs and holds its Lease everywhere), a replica in each replica DC.
      for (const obj of orchestratorObjects(env, dc.name, replicas.dcs, o.orchestrator, o.gslb)) ctx.object({ dc: dc.name }, obj);
    }
    // The rules as plain files with their promtool unit tests, for CI in the GitOps repository
    // (`cd environment/traffic-alerts/promtool && promtool test rules *.test.yaml`).
    for (const g of groups) {
      const s = env.services.find((x) => x.name === g.rules[0]!.labels!.service)!;
      const dir = 'environment/traffic-alerts/promtool';
      ctx.file(`${dir}/${s.name}.rules.yaml`, toYaml({ groups: [g] }), { service: s.name });
      ctx.file(`${dir}/${s.name}.test.yaml`, toYaml(ruleTestFile(`${s.name}.rules.yaml`, '1m', serviceTests(env, s, g, ro))), {
        service: s.name,
      });
    }
    // The failover plan and the recovery order as data for whatever applies or restores.
    ctx.file(
      'environment/traffic-alerts/failover-plan.yaml',
      toYaml({ environment: env.name, rule: 'surviving DCs that run the service, same region first, then rotation order', plan: failoverPlan(env) }),
    );
    ctx.file(
      'environment/recovery-order.yaml',
      toYaml({
        environment: env.name,
        tiers: env.recoveryOrder.map((t) => ({ priority: t.priority, priorityClassName: priorityClassName(t.priority), services: t.services })),
      }),
    );
  },
  plan(ctx) {
    return [{ title: 'DC loss plan (client-facing services, in recovery order)', body: formatFailoverPlan(failoverPlan(ctx.env)) }];
  },
});
