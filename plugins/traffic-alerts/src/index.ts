/**
 * Traffic-drop alerting that drives DC failover, log-based monitoring and the recovery
 * order. See README.md.
 */
import { definePlugin, Type, type KubeObject } from '@topoforge/plugin-sdk';
import { toYaml } from '@topoforge/yaml-emit';
import type { Environment } from '@topoforge/model';
import { failoverPlan, failoverTargets, formatFailoverPlan } from './failover.js';
import { FAILOVER_ACTION, ACTION_LABEL, serviceRules, serviceTests, type RuleGroup } from './rules.js';
import { alloyConfig, lokiRules } from './logs.js';

export { failoverPlan, failoverTargets, formatFailoverPlan } from './failover.js';
export { serviceRules, serviceTests } from './rules.js';

/** PriorityClass per recovery tier: 1 gets capacity first in a degraded cluster. */
export const priorityClassName = (priority: number): string => `topoforge-recovery-p${priority}`;
export const priorityClassValue = (priority: number): number => 1_000_000 - priority * 10_000;
/**
 * Above every recovery tier: what failover itself depends on (ingress, monitoring, the
 * session cache, the promotion gate, the failover orchestrator) gets capacity before any app.
 */
export const PLATFORM_PRIORITY_CLASS = 'topoforge-platform';
export const PLATFORM_PRIORITY_VALUE = 1_000_000;

const Options = Type.Object(
  {
    namespace: Type.String({ default: 'monitoring' }),
    orchestrator: Type.Object({ webhookUrl: Type.String({ pattern: '^https?://', description: 'the failover orchestrator webhook' }) }, { additionalProperties: false }),
    runbookBaseUrl: Type.String({ default: 'https://runbooks.example.com/traffic', pattern: '^https?://' }),
    dcLabel: Type.String({ default: 'dc', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', description: 'label carrying the DC on request metrics' }),
    loki: Type.Object(
      {
        url: Type.String({ default: 'http://loki-gateway.monitoring.svc/loki/api/v1/push', pattern: '^https?://' }),
        errorRatio: Type.Number({ default: 0.05, exclusiveMinimum: 0, maximum: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    gslb: Type.Object({ dnsTtlSeconds: Type.Integer({ default: 30, minimum: 1 }) }, { additionalProperties: false, default: {} }),
  },
  { additionalProperties: false },
);

export function ruleGroups(env: Environment, dc: string, o: { dcLabel: string; runbookBaseUrl: string }): RuleGroup[] {
  return env.services
    .filter((s) => s.tier === 'client-facing' && s.policies.trafficDrop && s.dataCenters.includes(dc))
    .map((s) => serviceRules(env, s, dc, failoverTargets(env, s.name, dc), o));
}

export default definePlugin({
  name: 'traffic-alerts',
  description: 'Traffic-drop PrometheusRules with promtool tests, orchestrator routing, k8gb Gslbs, log alerts and recovery PriorityClasses.',
  options: Options,
  render(ctx) {
    const env = ctx.env;
    const o = ctx.options;
    for (const s of env.services.filter((x) => x.tier === 'client-facing' && !x.policies.trafficDrop)) {
      ctx.log.warn(`client-facing service ${s.name} has no trafficDrop policy: no failover alert for it`);
    }
    for (const dc of env.dataCenters) {
      // Recovery order: one PriorityClass per tier in every cluster.
      for (const tier of env.recoveryOrder) {
        ctx.object({ dc: dc.name }, {
          apiVersion: 'scheduling.k8s.io/v1',
          kind: 'PriorityClass',
          metadata: { name: priorityClassName(tier.priority) },
          value: priorityClassValue(tier.priority),
          globalDefault: false,
          preemptionPolicy: 'PreemptLowerPriority',
          description: `Recovery tier ${tier.priority}: ${tier.services.join(', ')}. Decides who gets capacity first in a degraded cluster, not start order.`,
        });
      }
      ctx.object({ dc: dc.name }, {
        apiVersion: 'scheduling.k8s.io/v1',
        kind: 'PriorityClass',
        metadata: { name: PLATFORM_PRIORITY_CLASS },
        value: PLATFORM_PRIORITY_VALUE,
        globalDefault: false,
        preemptionPolicy: 'PreemptLowerPriority',
        description: 'Platform components failover depends on (ingress, monitoring, session cache, promotion gate, failover orchestrator): above every recovery tier.',
      });
      const groups = ruleGroups(env, dc.name, o);
      if (groups.length > 0) {
        // One PrometheusRule per service, so a change to one service touches only its files.
        for (const g of groups) {
          const service = g.rules[0]!.labels.service!;
          ctx.object({ dc: dc.name }, { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: `traffic-drop-${service}`, namespace: o.namespace }, spec: { groups: [g] } }, { service });
        }
        // The same rules as plain files with their promtool unit tests, for CI in the GitOps
        // repository (`promtool test rules environment/traffic-alerts/promtool/*/*.test.yaml`).
        for (const g of groups) {
          const s = env.services.find((x) => x.name === g.rules[0]!.labels.service)!;
          const dir = `environment/traffic-alerts/promtool/${dc.name}`;
          ctx.file(`${dir}/${s.name}.rules.yaml`, toYaml({ groups: [g] }), { dc: dc.name, service: s.name });
          ctx.file(`${dir}/${s.name}.test.yaml`, toYaml({ rule_files: [`${s.name}.rules.yaml`], evaluation_interval: '1m', tests: serviceTests(env, s, dc.name, g, o) }), { dc: dc.name, service: s.name });
        }
        ctx.object({ dc: dc.name }, alertmanagerConfig(o.namespace, o.orchestrator.webhookUrl));
      }
      // Logs: collection and log-based alerts for the services running here.
      const here = env.services.filter((s) => s.dataCenters.includes(dc.name));
      ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'alloy-logs', namespace: o.namespace }, data: { 'config.alloy': alloyConfig(env, dc.name, o.loki.url) } });
      ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'loki-rules-topoforge', namespace: o.namespace, labels: { loki_rule: '1' } }, data: { 'topoforge-logs.yaml': toYaml(lokiRules(env, dc.name, here, o.loki.errorRatio)) } });
      // Failover target: a k8gb Gslb per client-facing service, primary = this service's first DC.
      for (const s of env.services.filter((x) => x.tier === 'client-facing' && x.dataCenters.includes(dc.name))) {
        const primary = env.dataCenters.find((d) => d.name === s.dataCenters[0])!;
        ctx.object(
          { dc: dc.name },
          {
            apiVersion: 'k8gb.io/v1beta1',
            kind: 'Gslb',
            metadata: { name: s.name, namespace: s.namespace },
            spec: {
              resourceRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: s.name },
              strategy: { type: 'failover', primaryGeoTag: primary.geoTag, dnsTtlSeconds: o.gslb.dnsTtlSeconds },
            },
          },
          { service: s.name },
        );
      }
    }
    // The failover plan and the recovery order as data for whatever applies or restores.
    ctx.file('environment/traffic-alerts/failover-plan.yaml', toYaml({ environment: env.name, rule: 'surviving DCs that run the service, same region first, then rotation order', plan: failoverPlan(env) }));
    ctx.file('environment/recovery-order.yaml', toYaml({ environment: env.name, tiers: env.recoveryOrder.map((t) => ({ priority: t.priority, priorityClassName: priorityClassName(t.priority), services: t.services })) }));
  },
  plan(ctx) {
    return [{ title: 'DC loss plan (client-facing services, in recovery order)', body: formatFailoverPlan(failoverPlan(ctx.env)) }];
  },
});

function alertmanagerConfig(namespace: string, url: string): KubeObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1alpha1',
    kind: 'AlertmanagerConfig',
    metadata: { name: 'failover-orchestrator', namespace },
    spec: {
      route: {
        receiver: 'failover-orchestrator',
        matchers: [{ name: ACTION_LABEL, value: FAILOVER_ACTION, matchType: '=' }],
        groupBy: ['service', 'dc'],
        groupWait: '0s',
        groupInterval: '1m',
        repeatInterval: '15m',
      },
      receivers: [{ name: 'failover-orchestrator', webhookConfigs: [{ url, sendResolved: true }] }],
    },
  };
}
