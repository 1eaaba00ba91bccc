/** The plugin's options (validated by the engine; defaults applied). See README.md. */
import { INT32_MAX, KubernetesName, SelectorLabels, Type, type Static } from '@topoforge/plugin-sdk';
import { testStandOf } from '@topoforge/model';

/**
 * Providers this plugin knows how to wire. Others in Flagger's enum are left out on purpose:
 * `kubernetes` does blue/green only (no `stepWeight`, which every canary policy has), and
 * the rest need routing objects (TraefikService, Upstream, ApisixRoute, …) the model has no
 * notion of.
 */
export const PROVIDERS = ['nginx', 'skipper', 'gatewayapi:v1', 'gatewayapi:v1beta1', 'istio', 'linkerd', 'contour'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Providers that shift weight on the service's Ingress (Flagger needs `ingressRef`). */
export const INGRESS_PROVIDERS: readonly Provider[] = ['nginx', 'skipper'];
export const isGatewayApi = (p: Provider): boolean => p.startsWith('gatewayapi:');
/**
 * Providers whose metrics come from a mesh sidecar next to the canary pods: traffic sent
 * straight to `<svc>-canary` is measured. For every other provider the analysis reads the
 * edge (ingress controller or gateway), so test traffic must pass through it.
 */
export const MESH_PROVIDERS: readonly Provider[] = ['istio', 'linkerd'];

const url = (def: string, description: string) => Type.String({ default: def, pattern: '^https?://', description });
const duration = (def: string, description: string) => Type.String({ default: def, pattern: '^[0-9]+(m|s)$', description });

export const Options = Type.Object(
  {
    provider: Type.Union(
      PROVIDERS.map((p) => Type.Literal(p)),
      { default: 'nginx', description: `Flagger provider: ${PROVIDERS.join(', ')}` },
    ),
    gateway: Type.Optional(
      Type.Object(
        { name: KubernetesName('the Gateway'), namespace: KubernetesName("the Gateway's namespace") },
        { additionalProperties: false, description: 'parent Gateway of the HTTPRoutes (required with gatewayapi:*)' },
      ),
    ),
    namespace: KubernetesName("Flagger's namespace: AlertProvider, MetricTemplates and the alert Secret live here", 'flagger-system'),
    prometheusUrl: url('http://prometheus-operated.monitoring:9090', 'Prometheus the MetricTemplates query (the DC-local one)'),
    progressDeadlineSeconds: Type.Integer({ default: 600, minimum: 60, maximum: INT32_MAX }),
    servicePort: Type.Integer({ default: 80, minimum: 1, maximum: 65535, description: 'port of the ClusterIP services Flagger creates (→ the service port)' }),
    autoscaler: Type.Object(
      {
        emit: Type.Boolean({ default: true, description: 'emit the HPA the Canary references; off when the application ships its own' }),
        minReplicas: Type.Integer({ default: 2, minimum: 1, maximum: INT32_MAX }),
        maxReplicas: Type.Integer({ default: 10, minimum: 1, maximum: INT32_MAX }),
        cpuUtilization: Type.Integer({ default: 80, minimum: 1, maximum: 100 }),
      },
      { additionalProperties: false, default: {} },
    ),
    loadTester: Type.Object(
      {
        url: url('http://flagger-loadtester.test/', "Flagger's load tester"),
        ingressUrl: url(
          'http://ingress-nginx-controller.ingress-nginx',
          'the edge the load test goes through (ingress controller or gateway), with the Ingress host as Host header; unused for mesh providers',
        ),
        acceptancePaths: Type.Array(Type.String({ pattern: '^/' }), {
          default: ['/healthz', '/readyz'],
          minItems: 1,
          description: 'paths the pre-rollout acceptance test requires to answer 2xx',
        }),
        acceptanceTimeout: duration('60s', 'timeout of the acceptance webhook'),
        duration: duration('1m', 'length of each `hey` load run (the load tester restarts it while the analysis runs)'),
        rps: Type.Integer({ default: 20, minimum: 1, maximum: INT32_MAX, description: 'requests per second per worker' }),
        concurrency: Type.Integer({ default: 2, minimum: 1, maximum: INT32_MAX }),
      },
      { additionalProperties: false, default: {} },
    ),
    gate: Type.Object(
      {
        url: url('http://promotion-gate.platform.svc:8080', 'promotion gate: checks the verified ledger'),
        namespace: KubernetesName("the gate's namespace (its ConfigMap goes there)", 'platform'),
        // No defaults: both follow the environment's own testStand (see withTestStand).
        ledger: Type.Optional(
          Type.String({ minLength: 1, description: 'ledger path in the repository, as the gate reads it (default: environments/verified/<testStand>.yaml)' }),
        ),
        testStand: Type.Optional(
          Type.String({
            minLength: 1,
            description: "environment whose ledger production requires (default: the environment's testStand; a test stand's gate: its own name; else staging)",
          }),
        ),
        image: Type.String({ default: 'registry.example.com/platform/promotion-gate:0.1.0', minLength: 1, description: 'image of packages/promotion-gate' }),
        replicas: Type.Integer({
          default: 2,
          minimum: 1,
          maximum: INT32_MAX,
          description: 'gate replicas in production (the test stand runs one: it keeps the evidence)',
        }),
        kubeTimeout: Type.String({
          default: '3s',
          pattern: '^[0-9]+(ms|s)$',
          description: 'per-call timeout of the gate against the API server (below the 15s webhook timeout)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    monitoring: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: "the gate's ServiceMonitor, the PrometheusRule and the AlertmanagerConfig that routes its alerts",
        }),
        namespace: KubernetesName(
          'namespace of the PrometheusRule, the AlertmanagerConfig and its Slack Secret; the alerts carry it as their namespace label (prometheus-operator routes an AlertmanagerConfig only alerts of its own namespace)',
          'monitoring',
        ),
        ruleLabels: SelectorLabels(
          'labels on the PrometheusRule and the ServiceMonitor for the Prometheus ruleSelector and serviceMonitorSelector, e.g. { release: kube-prometheus-stack }',
        ),
        scrapeInterval: duration('30s', "how often Prometheus scrapes the gate's /metrics"),
        waitingFor: duration('30m', 'a production rollout held at confirm-rollout this long alerts (PromotionGateHoldingRollout)'),
        channel: Type.String({ default: 'platform-alerts', minLength: 1, description: 'Slack channel of the alerts' }),
        secretName: KubernetesName('Secret (in monitoring.namespace) whose key holds the Slack webhook URL; never written here', 'promotion-gate-alerts'),
        secretKey: Type.String({ default: 'address', pattern: '^[-._a-zA-Z0-9]+$', description: 'key of that Secret' }),
      },
      { additionalProperties: false, default: {} },
    ),
    alertProvider: Type.Object(
      {
        type: Type.Union([Type.Literal('slack'), Type.Literal('msteams'), Type.Literal('discord'), Type.Literal('rocket'), Type.Literal('gchat')], {
          default: 'slack',
        }),
        channel: Type.String({ default: 'deployments' }),
        secretName: Type.String({
          default: 'flagger-alerts',
          description: 'Secret (in `namespace`) whose `address` key holds the webhook URL; never written here',
        }),
        severity: Type.Union([Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')], { default: 'info', description: 'lowest severity sent' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);
/** The options as written (validated, defaults applied): the gate's test stand and ledger may be left out. */
export type FlaggerInput = Static<typeof Options>;
/** The options a render uses: the gate's test stand and ledger resolved (see withTestStand). */
export type FlaggerOptions = FlaggerInput & { readonly gate: { readonly testStand: string; readonly ledger: string } };

/**
 * Fills in the gate's test stand and ledger from the environment (testStandOf), so that a
 * production environment naming its test stand (`testStand`, which render holds its versions
 * to) need not name it again here. The ledger is that stand's file. An explicit
 * `gate.testStand` that differs from the environment's testStand is refused by the plugin.
 */
export function withTestStand(o: FlaggerInput, env: Parameters<typeof testStandOf>[0]): FlaggerOptions {
  const testStand = o.gate.testStand ?? testStandOf(env);
  return { ...o, gate: { ...o.gate, testStand, ledger: o.gate.ledger ?? `environments/verified/${testStand}.yaml` } };
}
