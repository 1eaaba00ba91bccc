/**
 * The objects the plugin emits, as pure functions of (environment, DC, service, options), so
 * tests and other tools can build one without running the plugin.
 */
import type { KubeObject } from '@topoforge/plugin-sdk';
import { toYaml } from '@topoforge/yaml-emit';
import { byName, type Environment, type Service } from '@topoforge/model';
import { canaryPolicyOf, type CanaryPolicy } from './policy.js';
import { INGRESS_PROVIDERS, isGatewayApi, MESH_PROVIDERS, type FlaggerOptions } from './options.js';

export const ALERT_PROVIDER = 'canary-events';
export const P99_TEMPLATE = 'request-duration-p99';
export const GATE_CONFIG = 'promotion-gate';

/** The ClusterIP service Flagger creates for the canary pods: `<name>-canary.<namespace>`. */
export const canaryUrl = (s: Service, o: FlaggerOptions): string => `http://${s.name}-canary.${s.namespace}:${o.servicePort}`;

/**
 * Whether Flagger's built-in `request-duration` means what the canary policy means (P99).
 * Flagger's NGINX observer divides `…upstream_latency_seconds_sum` by `…_count`: a mean,
 * which a slow 1 % tail never moves past the limit. For NGINX a MetricTemplate adds the P99.
 */
export const builtinDurationIsP99 = (o: FlaggerOptions): boolean => o.provider !== 'nginx';

/** The P99 latency of the canary's requests through ingress-nginx, in ms (Flagger template variables). */
export function p99Template(o: FlaggerOptions): KubeObject {
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'MetricTemplate',
    metadata: { name: P99_TEMPLATE, namespace: o.namespace },
    spec: {
      provider: { type: 'prometheus', address: o.prometheusUrl },
      // `canary!=""`: ingress-nginx labels requests routed by a canary ingress with its
      // upstream, so this is the canary's own tail, not diluted by the primary's traffic.
      query: [
        'histogram_quantile(0.99, sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket{',
        'namespace="{{ namespace }}", ingress="{{ ingress }}", canary!=""',
        '}[{{ interval }}]))) * 1000',
      ].join(''),
    },
  };
}

export function alertProvider(env: Environment, dc: string, o: FlaggerOptions): KubeObject {
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'AlertProvider',
    metadata: { name: ALERT_PROVIDER, namespace: o.namespace },
    // The webhook address is a credential: Flagger reads it from the Secret's `address` key.
    spec: {
      type: o.alertProvider.type,
      channel: o.alertProvider.channel,
      username: `flagger-${env.name}-${dc}`,
      secretRef: { name: o.alertProvider.secretName },
    },
  };
}

export function autoscaler(s: Service, o: FlaggerOptions): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
      minReplicas: o.autoscaler.minReplicas,
      maxReplicas: Math.max(o.autoscaler.minReplicas, o.autoscaler.maxReplicas),
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: o.autoscaler.cpuUtilization } } }],
    },
  };
}

export interface Webhook {
  readonly name: string;
  readonly type: 'pre-rollout' | 'rollout' | 'confirm-rollout' | 'confirm-promotion' | 'post-rollout' | 'rollback';
  readonly url: string;
  readonly timeout: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * What the gate needs to identify one canary run. Not the version: the gate reads what the
 * target Deployment actually runs, and a version bump then changes only the Deployment.
 */
const identity = (env: Environment, dc: string, s: Service): Record<string, string> => ({ environment: env.name, dc, service: s.name });

/** Single-quoted for `sh -c` (the load tester runs commands through a shell). */
export const shQuote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

/**
 * The load test's command. The analysis judges what the provider measures: ingress-nginx
 * (and the other edges) count only requests that pass through them, so the load goes to the
 * edge with the service's Host header and the canary receives its weight's share; only
 * mesh sidecars measure traffic sent straight to `<svc>-canary`.
 */
export function loadTestCommand(s: Service, o: FlaggerOptions, host: string | undefined): string {
  const hey = `hey -z ${o.loadTester.duration} -q ${o.loadTester.rps} -c ${o.loadTester.concurrency}`;
  if (MESH_PROVIDERS.includes(o.provider)) return `${hey} ${shQuote(`${canaryUrl(s, o)}/`)}`;
  if (!host) throw new Error(`${s.name} has no Ingress host for the load test`);
  return `${hey} -host ${shQuote(host)} ${shQuote(`${o.loadTester.ingressUrl.replace(/\/+$/, '')}/`)}`;
}

/**
 * The test stand runs acceptance and load tests and reports the result; production asks the
 * gate before any traffic moves (confirm-rollout), before promotion (confirm-promotion), and
 * at every step whether to roll back (rollback).
 */
export function webhooks(env: Environment, dc: string, s: Service, o: FlaggerOptions, host?: string): Webhook[] {
  const gate = o.gate.url.replace(/\/+$/, '');
  if (env.stage === 'staging') {
    const target = canaryUrl(s, o);
    return [
      {
        // Before the first step the edge sends the canary nothing (weight 0), so the functional
        // check goes to the canary Service directly; it feeds no metric.
        // `bash` runs blocking in the load tester: a failing check fails the webhook.
        name: 'acceptance-test',
        type: 'pre-rollout',
        url: o.loadTester.url,
        timeout: o.loadTester.acceptanceTimeout,
        metadata: { type: 'bash', cmd: o.loadTester.acceptancePaths.map((p) => `curl -sf ${shQuote(`${target}${p}`)}`).join(' && ') },
      },
      {
        // `cmd` runs in the background: the load tester starts `hey` unless it already runs.
        name: 'load-test',
        type: 'rollout',
        url: o.loadTester.url,
        timeout: '15s',
        metadata: { type: 'cmd', cmd: loadTestCommand(s, o, host) },
      },
      {
        // Sent after promotion *and* after rollback: the gate records the phase (Succeeded or
        // Failed) with the version the target Deployment ran, as evidence for the ledger.
        name: 'record-result',
        type: 'post-rollout',
        url: `${gate}/post-rollout`,
        timeout: '15s',
        metadata: identity(env, dc, s),
      },
    ];
  }
  const ask = { ...identity(env, dc, s), requires: o.gate.testStand, ledger: o.gate.ledger };
  return [
    // No production traffic reaches an image that is not a verified version.
    { name: 'passed-test-stand', type: 'confirm-rollout', url: `${gate}/confirm-rollout`, timeout: '15s', metadata: ask },
    // Asked again before promotion, so a version withdrawn (or failed) during the analysis stops there.
    { name: 'still-verified', type: 'confirm-promotion', url: `${gate}/confirm-promotion`, timeout: '15s', metadata: ask },
    // 200 means "roll back now": the gate says so when the running image stopped being verified.
    { name: 'withdrawn', type: 'rollback', url: `${gate}/rollback`, timeout: '15s', metadata: ask },
  ];
}

export function metrics(p: CanaryPolicy, o: FlaggerOptions): Record<string, unknown>[] {
  return [
    { name: 'request-success-rate', interval: p.interval, thresholdRange: { min: p.successRateMin } },
    { name: 'request-duration', interval: p.interval, thresholdRange: { max: p.durationMaxMs } },
    ...(builtinDurationIsP99(o)
      ? []
      : [{ name: P99_TEMPLATE, interval: p.interval, templateRef: { name: P99_TEMPLATE, namespace: o.namespace }, thresholdRange: { max: p.durationMaxMs } }]),
  ];
}

export function canary(env: Environment, dc: string, s: Service, o: FlaggerOptions, host?: string): KubeObject {
  const p = canaryPolicyOf(s);
  if (!p) throw new Error(`${s.name} has no canary policy`);
  const service: Record<string, unknown> = { port: o.servicePort, targetPort: s.port };
  if (isGatewayApi(o.provider) && o.gateway) service['gatewayRefs'] = [{ name: o.gateway.name, namespace: o.gateway.namespace }];
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      provider: o.provider,
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
      // Replicas belong to the HPA: a Deployment manifest with spec.replicas makes every
      // GitOps sync scale the target back up while Flagger keeps it at zero.
      autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: s.name },
      ...(INGRESS_PROVIDERS.includes(o.provider) ? { ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: s.name } } : {}),
      progressDeadlineSeconds: o.progressDeadlineSeconds,
      service,
      analysis: {
        interval: p.interval,
        threshold: p.threshold,
        maxWeight: p.maxWeight,
        stepWeight: p.stepWeight,
        metrics: metrics(p, o),
        alerts: [{ name: ALERT_PROVIDER, severity: o.alertProvider.severity, providerRef: { name: ALERT_PROVIDER, namespace: o.namespace } }],
        webhooks: webhooks(env, dc, s, o, host),
      },
    },
  };
}

/**
 * The canaries of one DC, for the gate's ConfigMap. Versions stay out: the gate reads the
 * version from the Deployment the canary targets, so a bump touches only that Deployment.
 */
export interface GateEntry {
  readonly namespace: string;
  readonly canary: string;
  readonly service: string;
  /** The Deployment the canary targets, its container, and the image repository it must run. */
  readonly deployment: string;
  readonly container: string;
  readonly image: string;
}

/**
 * Configuration of the gate service in one DC: in production it answers the confirm hooks
 * from the ledger; on the test stand it receives post-rollout results and records them.
 */
export function gateConfig(env: Environment, dc: string, services: readonly Service[], o: FlaggerOptions): KubeObject {
  // By name, not in recovery order: the gate looks its entry up by namespace and canary, so
  // the order means nothing, and one service's recoveryPriority must not rewrite every DC's gate.
  const canaries: GateEntry[] = [...services].sort(byName).map((s) => ({
    namespace: s.namespace,
    canary: s.name,
    service: s.name,
    deployment: s.name,
    container: s.name,
    image: s.image,
  }));
  const config = { mode: env.stage === 'staging' ? 'record' : 'gate', environment: env.name, dc, testStand: o.gate.testStand, ledger: o.gate.ledger, canaries };
  const text = `# Promotion gate of ${env.name}/${dc}, generated by topoforge (see plugins/flagger/README.md).\n${toYaml(config)}`;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: GATE_CONFIG, namespace: o.gate.namespace },
    data: { 'gate.yaml': text },
  };
}
