/**
 * What the failover orchestrator (packages/failover-orchestrator) needs in the clusters:
 * its configuration derived from the model, a Deployment/Service in each replica DC, and in
 * every DC cluster the least privilege it acts with — get/list/watch/patch on k8gb Gslbs in
 * the namespaces of client-facing services, and, with several replicas, its one election
 * Lease — nothing else. It reaches the other clusters with a kubeconfig from a Secret created
 * out of band (one context per DC, each a token of the `failover-orchestrator` ServiceAccount
 * of that cluster); only the Secret's name is rendered.
 *
 * Replicas: with three or more DCs, one replica in the first DC of each of up to three
 * regions; exactly one acts at a time (a quorum lease over the DC clusters, see the
 * orchestrator's README). With one or two DCs a majority of the clusters cannot survive the
 * loss of either, so there is one replica, as before.
 */
import { Type, type KubeObject } from '@topoforge/plugin-sdk';
import type { Environment } from '@topoforge/model';
import { durationMinutes } from './unit-tests.js';
import { gslbGeoTag } from './gslb.js';
import { PLATFORM_PRIORITY_CLASS } from './priority.js';
import { trafficDropPolicyOf } from './policy.js';

export const ORCHESTRATOR_DEFAULTS = { namespace: 'platform', image: 'registry.example.com/platform/failover-orchestrator:0.1.0' } as const;
const NAME = 'failover-orchestrator';
const PORT = 8080;
/** The election Lease's name in the orchestrator namespace of every DC cluster. */
export const LEASE_NAME = NAME;
/** Production timings (client-go's defaults): takeover within ~15 s + 2 retry periods of a leader's death. */
export const ELECTION_TIMING = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 } as const;
/** Placeholder in `orchestrator.webhookUrl` for a replica's DC: one webhook per replica. */
export const DC_PLACEHOLDER = '{dc}';

/** The webhook token Secret (created out of band): a reference only, never a value. */
export const WEBHOOK_TOKEN_DEFAULTS = { name: 'failover-orchestrator-webhook', key: 'token' } as const;
/** Where the Deployment mounts it, and the file `--webhook-token-file` names. */
export const WEBHOOK_TOKEN_DIR = '/var/run/failover-orchestrator-webhook';
export const WEBHOOK_TOKEN_FILE = `${WEBHOOK_TOKEN_DIR}/token`;

/** `orchestrator.webhookTokenSecret`: a Secret name (DNS-1123 subdomain) and a Secret data key. */
export const WebhookTokenSecretOption = Type.Object(
  {
    name: Type.String({
      default: WEBHOOK_TOKEN_DEFAULTS.name,
      maxLength: 253,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
      description: 'Secret with the webhook bearer token (a DNS-1123 subdomain)',
    }),
    key: Type.String({
      default: WEBHOOK_TOKEN_DEFAULTS.key,
      maxLength: 253,
      // Kubernetes' rule for a Secret data key: letters, digits, "-", "_", "."; not "." and not starting with "..".
      pattern: '^(?!\\.\\.)(?!\\.$)[-._a-zA-Z0-9]+$',
      description: 'key of the token in that Secret',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'the Secret (created out of band, same name, key and token in the AlertmanagerConfig namespace of every DC and the orchestrator namespace of every replica DC) whose token Alertmanager sends and the orchestrator requires',
  },
);

export interface OrchestratorOptions {
  readonly namespace: string;
  readonly image: string;
  readonly dryRun: boolean;
  readonly confirmFor: string;
  readonly minDrained: string;
  readonly failbackAfter: string;
  readonly maxDrainedFraction: number;
  readonly quorumLabel?: string;
  readonly quorum: number;
  readonly kubeconfigSecret: string;
  readonly webhookTokenSecret: { readonly name: string; readonly key: string };
}

export type Replicas = { readonly ok: true; readonly dcs: readonly string[] } | { readonly ok: false; readonly message: string; readonly field: string };

/** The DCs that run an orchestrator replica: `replicaDcs`, else `hostDc` alone, else the default above. */
export function orchestratorReplicas(env: Environment, o: { readonly hostDc?: string; readonly replicaDcs?: readonly string[] }): Replicas {
  const field = 'plugins.traffic-alerts.options.orchestrator';
  const known = new Set(env.dataCenters.map((d) => d.name));
  if (o.replicaDcs && o.hostDc) return { ok: false, message: 'set orchestrator.replicaDcs or orchestrator.hostDc, not both', field: `${field}.hostDc` };
  const chosen = o.replicaDcs ?? (o.hostDc ? [o.hostDc] : undefined);
  if (chosen) {
    const bad = chosen.find((dc) => !known.has(dc));
    if (bad) return { ok: false, message: `no DC named "${bad}" for the orchestrator`, field: `${field}.${o.replicaDcs ? 'replicaDcs' : 'hostDc'}` };
    if (new Set(chosen).size !== chosen.length) return { ok: false, message: 'orchestrator.replicaDcs names a DC twice', field: `${field}.replicaDcs` };
    if (chosen.length > 1 && env.dataCenters.length < 3) {
      return {
        ok: false,
        message: `${chosen.length} replicas need at least 3 DC clusters: a majority of ${env.dataCenters.length} cannot survive the loss of one, so no replica could act after a DC loss`,
        field: `${field}.replicaDcs`,
      };
    }
    return { ok: true, dcs: chosen };
  }
  if (env.dataCenters.length < 3) return { ok: true, dcs: [env.dataCenters[0]!.name] };
  const byRegion = new Map<string, string>();
  for (const d of env.dataCenters) if (!byRegion.has(d.region)) byRegion.set(d.region, d.name);
  const dcs = [...byRegion.values()].slice(0, 3);
  // One region only: still two DCs, so losing one DC does not lose the decision.
  for (const d of env.dataCenters) if (dcs.length < 2 && !dcs.includes(d.name)) dcs.push(d.name);
  return { ok: true, dcs };
}

/** Webhook URLs for the AlertmanagerConfig: one per replica when the URL names `{dc}`. */
export function webhookUrls(url: string, replicas: readonly string[]): string[] {
  return url.includes(DC_PLACEHOLDER) ? replicas.map((dc) => url.split(DC_PLACEHOLDER).join(dc)) : [url];
}

/** The orchestrator's configuration file (see packages/failover-orchestrator/README.md). */
export interface OrchestratorConfig {
  environment: string;
  dryRun: boolean;
  timing: { confirmSeconds: number; minDrainedSeconds: number; failbackSeconds: number };
  maxDrainedFraction: number;
  quorum: { label?: string; min: number };
  election?: {
    replicas: string[];
    namespace: string;
    leaseName: string;
    leaseDurationSeconds: number;
    renewDeadlineSeconds: number;
    retryPeriodSeconds: number;
  };
  clusters: { dc: string; context: string }[];
  services: { name: string; recoveryPriority: number; namespace: string; gslb: string; dcs: { name: string; geoTag: string; weight: number }[] }[];
}

export function orchestratorConfig(
  env: Environment,
  o: OrchestratorOptions,
  g: { weight: number },
  replicas: readonly string[] = [env.dataCenters[0]!.name],
): OrchestratorConfig {
  return {
    environment: env.name,
    dryRun: o.dryRun,
    timing: {
      confirmSeconds: durationMinutes(o.confirmFor) * 60,
      minDrainedSeconds: durationMinutes(o.minDrained) * 60,
      failbackSeconds: durationMinutes(o.failbackAfter) * 60,
    },
    maxDrainedFraction: o.maxDrainedFraction,
    quorum: { ...(o.quorumLabel ? { label: o.quorumLabel } : {}), min: o.quorum },
    ...(replicas.length > 1 ? { election: { replicas: [...replicas], namespace: o.namespace, leaseName: LEASE_NAME, ...ELECTION_TIMING } } : {}),
    clusters: env.dataCenters.map((d) => ({ dc: d.name, context: d.cluster.context })),
    services: env.services
      .filter((s) => s.tier === 'client-facing' && trafficDropPolicyOf(s))
      .map((s) => ({
        name: s.name,
        recoveryPriority: s.recoveryPriority,
        namespace: s.namespace,
        gslb: s.name,
        dcs: s.dataCenters.map((dc) => ({ name: dc, geoTag: gslbGeoTag(dc), weight: g.weight })),
      })),
  };
}

export function orchestratorObjects(env: Environment, dc: string, replicas: readonly string[], o: OrchestratorOptions, g: { weight: number }): KubeObject[] {
  const ns = o.namespace;
  const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/part-of': 'topoforge' };
  const namespaces = [
    ...new Set(env.services.filter((s) => s.tier === 'client-facing' && trafficDropPolicyOf(s) && s.dataCenters.includes(dc)).map((s) => s.namespace)),
  ].sort();
  const out: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: ns, labels }, automountServiceAccountToken: false },
  ];
  for (const target of namespaces) {
    out.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: NAME, namespace: target, labels },
        rules: [{ apiGroups: ['k8gb.io'], resources: ['gslbs'], verbs: ['get', 'list', 'watch', 'patch'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: NAME, namespace: target, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
        subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: ns }],
      },
    );
  }
  const elected = replicas.length > 1;
  if (elected) {
    // The election Lease in every DC cluster (the quorum is over all of them). RBAC cannot
    // restrict `create` by resourceNames (the name is not known before the object exists), so
    // create is on leases in this namespace; get and update only on this one Lease.
    out.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: `${NAME}-lease`, namespace: ns, labels },
        rules: [
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [LEASE_NAME], verbs: ['get', 'update'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: `${NAME}-lease`, namespace: ns, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${NAME}-lease` },
        subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: ns }],
      },
    );
  }
  if (!replicas.includes(dc)) return out;
  const config = `${JSON.stringify(orchestratorConfig(env, o, g, replicas), null, 2)}\n`;
  out.push(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: NAME, namespace: ns, labels }, data: { 'config.json': config } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: ns, labels },
      spec: {
        // One pod per replica DC; with several DCs the quorum lease lets exactly one of them act.
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: NAME,
            automountServiceAccountToken: false,
            priorityClassName: PLATFORM_PRIORITY_CLASS,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: NAME,
                image: o.image,
                args: [
                  '--config',
                  '/etc/failover-orchestrator/config.json',
                  '--port',
                  String(PORT),
                  '--kubeconfig',
                  '/var/run/failover-orchestrator/kubeconfig',
                  '--audit-log',
                  '/var/log/failover-orchestrator/audit.jsonl',
                  // POST /alerts needs this bearer token (the one the AlertmanagerConfig sends); read per request, so a rotation needs no restart.
                  '--webhook-token-file',
                  WEBHOOK_TOKEN_FILE,
                  // The Lease holder names the DC and the pod, so `kubectl get lease` says who leads.
                  ...(elected ? ['--identity', `${dc}/$(POD_NAME)`] : []),
                ],
                ...(elected ? { env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] } : {}),
                ports: [{ name: 'http', containerPort: PORT }],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
                resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/failover-orchestrator', readOnly: true },
                  { name: 'kubeconfig', mountPath: '/var/run/failover-orchestrator', readOnly: true },
                  // A directory, not a subPath: only a directory mount sees a Secret's updates.
                  { name: 'webhook-token', mountPath: WEBHOOK_TOKEN_DIR, readOnly: true },
                  { name: 'audit', mountPath: '/var/log/failover-orchestrator' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: NAME } },
              { name: 'kubeconfig', secret: { secretName: o.kubeconfigSecret } },
              // The pod does not start while the Secret or its key is missing: no replica runs unauthenticated.
              { name: 'webhook-token', secret: { secretName: o.webhookTokenSecret.name, items: [{ key: o.webhookTokenSecret.key, path: 'token' }] } },
              { name: 'audit', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: NAME, namespace: ns, labels },
      spec: { selector: { 'app.kubernetes.io/name': NAME }, ports: [{ name: 'http', port: PORT, targetPort: 'http' }] },
    },
  );
  return out;
}
