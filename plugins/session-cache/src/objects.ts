/** The Kubernetes objects of one cache: StatefulSets, Services, NetworkPolicies, PDBs. */
import type { KubeObject } from '@topoforge/plugin-sdk';

export const NAMESPACE = 'session-cache';
/** The uid/gid of the `redis` user in the official image. */
const REDIS_UID = 999;

export type Labels = Readonly<Record<string, string>>;

export interface PodSpecInput {
  readonly name: string;
  readonly replicas: number;
  readonly labels: Labels;
  readonly image: string;
  /** Container and port name: `redis` or `sentinel`. */
  readonly role: 'redis' | 'sentinel';
  readonly port: number;
  readonly configMap: string;
  readonly usersSecret: string;
  /** The ACL user the probes authenticate as (its password is REDISCLI_AUTH). */
  readonly probeUser: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly memory: string;
  /** How long start-redis.sh may wait for a failover before Redis answers (startup probe). */
  readonly startupSeconds: number;
}

export const fqdn = (pod: string, service: string): string => `${pod}.${service}.${NAMESPACE}.svc.cluster.local`;

/** Where the start scripts find things (the same names the tests map to temp dirs). */
export const PATHS = { config: '/etc/redis', secrets: '/etc/redis-users', runtime: '/run/redis', data: '/data' } as const;

export function statefulSet(i: PodSpecInput): KubeObject {
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    exec: { command: ['sh', '-c', `redis-cli --raw --user ${i.probeUser} -h 127.0.0.1 -p "$CACHE_PORT" ping | grep -qx PONG`] },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: i.name, namespace: NAMESPACE },
    spec: {
      serviceName: i.name,
      replicas: i.replicas,
      // Pods start together: each start script works out its own role, and a pod waiting
      // for a failover must not hold the others back.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: i.labels },
      template: {
        metadata: { labels: i.labels },
        spec: {
          // Failover moves sessions' users to a DC whose cache must get capacity before any app:
          // the platform PriorityClass plugins/traffic-alerts emits above the recovery tiers.
          priorityClassName: 'topoforge-platform',
          // Never two pods of one cache on one node: a node loss takes one copy at most.
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: i.labels }, topologyKey: 'kubernetes.io/hostname' }],
            },
          },
          securityContext: { runAsNonRoot: true, runAsUser: REDIS_UID, runAsGroup: REDIS_UID, fsGroup: REDIS_UID },
          containers: [
            {
              name: i.role,
              image: i.image,
              command: ['sh', `${PATHS.config}/${i.script}`],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                ...Object.entries(i.env).map(([name, value]) => ({ name, value })),
                { name: 'CACHE_CONFIG_DIR', value: PATHS.config },
                { name: 'CACHE_SECRETS_DIR', value: PATHS.secrets },
                { name: 'CACHE_RUNTIME_DIR', value: PATHS.runtime },
                ...(i.role === 'redis' ? [{ name: 'CACHE_DATA_DIR', value: PATHS.data }] : []),
                // The probes' password: redis-cli reads it from REDISCLI_AUTH.
                { name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: { name: i.usersSecret, key: i.probeUser } } },
              ],
              ports: [{ name: i.role, containerPort: i.port }],
              // The start script may wait for the Sentinels' failover before Redis answers.
              startupProbe: probe(2, Math.ceil(i.startupSeconds / 2)),
              readinessProbe: probe(5, 2),
              livenessProbe: probe(10, 3),
              resources: { requests: { cpu: i.role === 'redis' ? '250m' : '50m', memory: i.memory }, limits: { memory: i.memory } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'config', mountPath: PATHS.config, readOnly: true },
                { name: 'users', mountPath: PATHS.secrets, readOnly: true },
                { name: 'runtime', mountPath: PATHS.runtime },
                ...(i.role === 'redis' ? [{ name: 'data', mountPath: PATHS.data }] : []),
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: i.configMap } },
            // One key per ACL user; created by the platform's secret store, never rendered.
            { name: 'users', secret: { secretName: i.usersSecret, defaultMode: 0o440 } },
            // Generated config and ACL (they hold the replication/Sentinel password): memory only.
            { name: 'runtime', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
            // A cache keeps nothing: scratch space for a replica's resync, not a PersistentVolume.
            ...(i.role === 'redis' ? [{ name: 'data', emptyDir: {} }] : []),
          ],
        },
      },
    },
  };
}

export function headlessService(name: string, labels: Labels, portName: string, port: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NAMESPACE },
    // Pods resolve by name before they are ready: the start scripts and Sentinels need that.
    spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: labels, ports: [{ name: portName, port, targetPort: portName }] },
  };
}

/** Ingress to `labels` pods on `port` only from the apps' namespaces and the cache's own pods. */
export function networkPolicy(name: string, labels: Labels, port: number, appNamespaces: readonly string[], own: readonly Labels[]): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            ...(appNamespaces.length > 0
              ? [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...appNamespaces] }] } }]
              : []),
            ...own.map((l) => ({ podSelector: { matchLabels: l } })),
          ],
          ports: [{ protocol: 'TCP', port }],
        },
      ],
    },
  };
}

export function disruptionBudget(name: string, labels: Labels): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: NAMESPACE },
    spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
  };
}
