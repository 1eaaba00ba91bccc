/**
 * The promotion gate (packages/promotion-gate) as the cluster runs it: one per DC where
 * canaries run, in the gate's namespace, allowed to `get` exactly the Deployments the
 * canaries of that DC target — nothing else. In production it also gets the test stand's
 * ledger as a ConfigMap, rendered from `environments/verified/<test stand>.yaml`, so a
 * change to the ledger reaches the gate through the same review as everything else.
 */
import type { KubeObject } from '@topoforge/plugin-sdk';
import { byString, type Environment, type Ledger, type Service } from '@topoforge/model';
import { toYaml } from '@topoforge/yaml-emit';
import { PLATFORM_PRIORITY_CLASS } from '@topoforge/plugin-traffic-alerts';
import { GATE_CONFIG } from './objects.js';
import type { FlaggerOptions } from './options.js';

export const GATE_NAME = 'promotion-gate';
export const GATE_LEDGER = 'promotion-gate-ledger';
export const GATE_PORT = 8080;
const CONFIG_DIR = '/etc/promotion-gate';
const LEDGER_DIR = '/etc/promotion-gate/ledger';
const EVIDENCE_DIR = '/var/lib/promotion-gate';

const labels = { 'app.kubernetes.io/name': GATE_NAME, 'app.kubernetes.io/component': 'promotion-gate' };

export function gateServiceAccount(o: FlaggerOptions): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: GATE_NAME, namespace: o.gate.namespace, labels } };
}

/**
 * Least privilege: `get` on the one Deployment each canary targets, in its namespace — and on
 * the test stand also Flagger's `<name>-primary`, where the gate reads the version a
 * successful run promoted (the target may already carry the next bump). No list, no watch,
 * no other resource, no cluster-wide role.
 */
export function gateRole(env: Environment, s: Service): KubeObject {
  const resourceNames = env.stage === 'staging' ? [s.name, `${s.name}-primary`] : [s.name];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: GATE_NAME, namespace: s.namespace, labels },
    rules: [{ apiGroups: ['apps'], resources: ['deployments'], resourceNames, verbs: ['get'] }],
  };
}

export function gateRoleBinding(s: Service, o: FlaggerOptions): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: GATE_NAME, namespace: s.namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: GATE_NAME },
    subjects: [{ kind: 'ServiceAccount', name: GATE_NAME, namespace: o.gate.namespace }],
  };
}

/**
 * A service's verified versions as a set: the gate only asks whether a version is in it
 * (ledgerRefusal), so the order they were written in, or a repeat, must not change the
 * ConfigMap of every production DC.
 */
function versionSets(verified: Ledger['verified']): Record<string, string[]> {
  return Object.fromEntries(Object.entries(verified).map(([service, versions]) => [service, [...new Set(versions)].sort(byString)]));
}

/** The ledger the production gate answers from: the test stand's, as reviewed in Git. */
export function gateLedger(ledger: Ledger, testStand: string, o: FlaggerOptions): KubeObject {
  const text = `# The ${testStand} ledger (${o.gate.ledger}), rendered by topoforge for the promotion gate.\n${toYaml({ verified: versionSets(ledger.verified), failed: ledger.failed })}`;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: GATE_LEDGER, namespace: o.gate.namespace, labels }, data: { 'ledger.yaml': text } };
}

export function gateDeployment(env: Environment, o: FlaggerOptions): KubeObject {
  const record = env.stage === 'staging';
  const args = [
    `--config=${CONFIG_DIR}/gate.yaml`,
    `--port=${GATE_PORT}`,
    `--kube-timeout=${o.gate.kubeTimeout}`,
    record ? `--evidence=${EVIDENCE_DIR}/evidence.jsonl` : `--ledger=${LEDGER_DIR}/ledger.yaml`,
  ];
  const volumes: Record<string, unknown>[] = [
    { name: 'config', configMap: { name: GATE_CONFIG } },
    record ? { name: 'evidence', emptyDir: {} } : { name: 'ledger', configMap: { name: GATE_LEDGER } },
  ];
  const mounts = [
    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
    record ? { name: 'evidence', mountPath: EVIDENCE_DIR } : { name: 'ledger', mountPath: LEDGER_DIR, readOnly: true },
  ];
  const probe = (path: string) => ({ httpGet: { path, port: 'http' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: GATE_NAME, namespace: o.gate.namespace, labels },
    spec: {
      // The test stand keeps its evidence in one pod (read by `topoforge verify --from-gate`).
      replicas: record ? 1 : o.gate.replicas,
      ...(record ? { strategy: { type: 'Recreate' } } : {}),
      selector: { matchLabels: { 'app.kubernetes.io/name': GATE_NAME } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: GATE_NAME,
          // Failover and every rollout wait on the gate: it gets capacity before any app.
          priorityClassName: PLATFORM_PRIORITY_CLASS,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: GATE_NAME,
              image: o.gate.image,
              args,
              ports: [{ name: 'http', containerPort: GATE_PORT, protocol: 'TCP' }],
              readinessProbe: probe('/readyz'),
              livenessProbe: probe('/healthz'),
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
              volumeMounts: mounts,
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            },
          ],
          volumes,
        },
      },
    },
  };
}

export function gateService(o: FlaggerOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: GATE_NAME, namespace: o.gate.namespace, labels },
    spec: { selector: { 'app.kubernetes.io/name': GATE_NAME }, ports: [{ name: 'http', port: GATE_PORT, targetPort: 'http', protocol: 'TCP' }] },
  };
}
