/**
 * What the failover orchestrator (packages/failover-orchestrator) needs in the clusters:
 * its configuration derived from the model, the Deployment/Service in one host DC, and in
 * every DC cluster the least privilege it acts with — get/list/watch/patch on k8gb Gslbs in
 * the namespaces of client-facing services, nothing else. It reaches the other clusters with
 * a kubeconfig from a Secret created out of band (one context per DC, each a token of the
 * `failover-orchestrator` ServiceAccount of that cluster); only the Secret's name is rendered.
 */
import type { KubeObject } from '@topoforge/plugin-sdk';
import type { Environment } from '@topoforge/model';
import { durationMinutes } from './unit-tests.js';
import { gslbGeoTag } from './gslb.js';
import { PLATFORM_PRIORITY_CLASS } from './priority.js';

export const ORCHESTRATOR_DEFAULTS = { namespace: 'platform', image: 'registry.example.com/platform/failover-orchestrator:0.1.0' } as const;
const NAME = 'failover-orchestrator';
const PORT = 8080;

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
}

/** The orchestrator's configuration file (see packages/failover-orchestrator/README.md). */
export interface OrchestratorConfig {
  environment: string;
  dryRun: boolean;
  timing: { confirmSeconds: number; minDrainedSeconds: number; failbackSeconds: number };
  maxDrainedFraction: number;
  quorum: { label?: string; min: number };
  clusters: { dc: string; context: string }[];
  services: { name: string; recoveryPriority: number; namespace: string; gslb: string; dcs: { name: string; geoTag: string; weight: number }[] }[];
}

export function orchestratorConfig(env: Environment, o: OrchestratorOptions, g: { weight: number }): OrchestratorConfig {
  return {
    environment: env.name,
    dryRun: o.dryRun,
    timing: { confirmSeconds: durationMinutes(o.confirmFor) * 60, minDrainedSeconds: durationMinutes(o.minDrained) * 60, failbackSeconds: durationMinutes(o.failbackAfter) * 60 },
    maxDrainedFraction: o.maxDrainedFraction,
    quorum: { ...(o.quorumLabel ? { label: o.quorumLabel } : {}), min: o.quorum },
    clusters: env.dataCenters.map((d) => ({ dc: d.name, context: d.cluster.context })),
    services: env.services
      .filter((s) => s.tier === 'client-facing' && s.policies.trafficDrop)
      .map((s) => ({ name: s.name, recoveryPriority: s.recoveryPriority, namespace: s.namespace, gslb: s.name, dcs: s.dataCenters.map((dc) => ({ name: dc, geoTag: gslbGeoTag(dc), weight: g.weight })) })),
  };
}

export function orchestratorObjects(env: Environment, dc: string, hostDc: string, o: OrchestratorOptions, g: { weight: number }): KubeObject[] {
  const ns = o.namespace;
  const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/part-of': 'topoforge' };
  const namespaces = [...new Set(env.services.filter((s) => s.tier === 'client-facing' && s.policies.trafficDrop && s.dataCenters.includes(dc)).map((s) => s.namespace))].sort();
  const out: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: ns, labels }, automountServiceAccountToken: false },
  ];
  for (const target of namespaces) {
    out.push(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: NAME, namespace: target, labels }, rules: [{ apiGroups: ['k8gb.io'], resources: ['gslbs'], verbs: ['get', 'list', 'watch', 'patch'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: NAME, namespace: target, labels }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME }, subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: ns }] },
    );
  }
  if (dc !== hostDc) return out;
  const config = `${JSON.stringify(orchestratorConfig(env, o, g), null, 2)}\n`;
  out.push(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: NAME, namespace: ns, labels }, data: { 'config.json': config } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: ns, labels },
      spec: {
        // One decider: two replicas would race on the same Gslbs.
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
                args: ['--config', '/etc/failover-orchestrator/config.json', '--port', String(PORT), '--kubeconfig', '/var/run/failover-orchestrator/kubeconfig', '--audit-log', '/var/log/failover-orchestrator/audit.jsonl'],
                ports: [{ name: 'http', containerPort: PORT }],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
                resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/failover-orchestrator', readOnly: true },
                  { name: 'kubeconfig', mountPath: '/var/run/failover-orchestrator', readOnly: true },
                  { name: 'audit', mountPath: '/var/log/failover-orchestrator' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: NAME } },
              { name: 'kubeconfig', secret: { secretName: o.kubeconfigSecret } },
              { name: 'audit', emptyDir: {} },
            ],
          },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: NAME, namespace: ns, labels }, spec: { selector: { 'app.kubernetes.io/name': NAME }, ports: [{ name: 'http', port: PORT, targetPort: 'http' }] } },
  );
  return out;
}
