/**
 * Flagger canaries for every service that rolls out by canary, in every DC where it runs,
 * in both environments — gated by the test stand. See README.md.
 */
import { definePlugin, Type, type KubeObject } from '@topoforge/plugin-sdk';
import type { Environment, Service } from '@topoforge/model';

const Options = Type.Object(
  {
    provider: Type.String({ default: 'nginx', description: 'Flagger mesh/ingress provider; nginx shifts weight on the service Ingress' }),
    namespace: Type.String({ default: 'flagger-system', description: 'where Flagger and its AlertProvider live' }),
    loadTesterUrl: Type.String({ default: 'http://flagger-loadtester.test/', pattern: '^https?://' }),
    loadTest: Type.Object({ duration: Type.String({ default: '1m' }), rps: Type.Integer({ default: 20, minimum: 1 }) }, { additionalProperties: false, default: {} }),
    gateUrl: Type.String({ default: 'http://promotion-gate.platform.svc:8080', pattern: '^https?://', description: 'service that checks the verified-versions ledger' }),
    alertProvider: Type.Object(
      {
        type: Type.String({ default: 'slack' }),
        channel: Type.String({ default: 'deployments' }),
        secretName: Type.String({ default: 'flagger-alerts', description: 'Secret with the `address` key (the webhook URL is never written here)' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export const canaryHost = (s: Service): string => `${s.name}-canary.${s.namespace}`;

export function canary(env: Environment, s: Service, o: typeof Options.static): KubeObject {
  const p = s.policies.canary!;
  const staging = env.stage === 'staging';
  const webhooks: Record<string, unknown>[] = staging
    ? [
        {
          name: 'acceptance-test',
          type: 'pre-rollout',
          url: o.loadTesterUrl,
          timeout: '60s',
          metadata: { type: 'bash', cmd: `curl -sf http://${canaryHost(s)}/healthz && curl -sf http://${canaryHost(s)}/readyz` },
        },
        {
          name: 'load-test',
          type: 'rollout',
          url: o.loadTesterUrl,
          timeout: '15s',
          metadata: { type: 'cmd', cmd: `hey -z ${o.loadTest.duration} -q ${o.loadTest.rps} -c 2 http://${canaryHost(s)}/` },
        },
        {
          // Tells the promotion gate that this version passed the test stand.
          name: 'record-verified',
          type: 'post-rollout',
          url: `${o.gateUrl}/verified`,
          timeout: '15s',
          metadata: { environment: env.name, service: s.name, version: s.version },
        },
      ]
    : [
        {
          // Production only promotes what passed staging: the gate answers 200 only for a
          // (service, version) in the verified ledger (environments/verified/staging.yaml).
          name: 'passed-staging',
          type: 'confirm-promotion',
          url: `${o.gateUrl}/gate`,
          timeout: '15s',
          metadata: { requires: 'staging', service: s.name, version: s.version },
        },
      ];
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      provider: o.provider,
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
      // Replicas belong to the HPA, not to the Deployment manifest: a GitOps sync would fight Flagger.
      autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: s.name },
      ...(o.provider === 'nginx' ? { ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: s.name } } : {}),
      progressDeadlineSeconds: 600,
      service: { port: 80, targetPort: s.port },
      analysis: {
        interval: p.interval,
        threshold: p.threshold,
        maxWeight: p.maxWeight,
        stepWeight: p.stepWeight,
        metrics: [
          { name: 'request-success-rate', interval: p.interval, thresholdRange: { min: p.successRateMin } },
          { name: 'request-duration', interval: p.interval, thresholdRange: { max: p.durationMaxMs } },
          // Built-ins see the ingress; this one reads the service's own request counter per DC.
          { name: 'error-rate', interval: p.interval, templateRef: { name: 'error-rate', namespace: s.namespace }, thresholdRange: { max: Math.max(0, 100 - p.successRateMin) } },
        ],
        alerts: [{ name: 'canary-events', severity: 'info', providerRef: { name: 'canary-events', namespace: o.namespace } }],
        webhooks,
      },
    },
  };
}

export function errorRateTemplate(s: Service, dc: string): KubeObject {
  const sel = Object.entries({ ...s.traffic.selector, dc })
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'MetricTemplate',
    metadata: { name: 'error-rate', namespace: s.namespace },
    spec: {
      provider: { type: 'prometheus', address: 'http://prometheus-operated.monitoring:9090' },
      query: `100 * sum(rate(${s.traffic.metric}{${sel},status=~"5.."}[{{ interval }}])) / sum(rate(${s.traffic.metric}{${sel}}[{{ interval }}]))`,
    },
  };
}

export default definePlugin({
  name: 'flagger',
  description: 'Flagger canaries for front applications and the store, gated by the test stand.',
  options: Options,
  render(ctx) {
    const canaries = ctx.env.services.filter((s) => s.rollout === 'canary');
    for (const dc of ctx.env.dataCenters) {
      const here = canaries.filter((s) => s.dataCenters.includes(dc.name));
      if (here.length === 0) continue;
      ctx.object({ dc: dc.name }, {
        apiVersion: 'flagger.app/v1beta1',
        kind: 'AlertProvider',
        metadata: { name: 'canary-events', namespace: ctx.options.namespace },
        spec: { type: ctx.options.alertProvider.type, channel: ctx.options.alertProvider.channel, username: `flagger-${ctx.env.name}-${dc.name}`, secretRef: { name: ctx.options.alertProvider.secretName } },
      });
      for (const s of here) {
        ctx.object({ dc: dc.name }, errorRateTemplate(s, dc.name), { service: s.name });
        ctx.object({ dc: dc.name }, canary(ctx.env, s, ctx.options), { service: s.name });
      }
    }
  },
});
