/**
 * The session cache: the last 4 minutes of every session kept for 4 more minutes.
 *
 * Per DC that runs services with a session-cache policy, one Redis per policy in the
 * `session-cache` namespace, deployed as a plain StatefulSet + ConfigMap + Service (objects
 * the Pulumi program and any GitOps controller apply as they are; no chart to render):
 * - `redis.conf` for a pure cache: no AOF, no RDB saves, `maxmemory` from the policy,
 *   `maxmemory-policy volatile-ttl` (evict the keys nearest to expiry: every session key
 *   has a TTL, and the one closest to expiry is the oldest session);
 * - `replication: sentinel` (production): pod 0 is the primary, the others replicate it, and
 *   a 3-pod Sentinel StatefulSet watches it; `standalone` (staging): one pod.
 * And in each service's namespace, a ConfigMap the apps mount as env vars: window, TTL,
 * key prefix and the DC's endpoint (read by @topoforge/session-cache's settingsFrom()).
 * The redis.conf is also written as a plain file, so it can be checked with a real server.
 */
import { definePlugin, Type, type KubeObject } from '@topoforge/plugin-sdk';
import type { DataCenter, Environment, SessionCachePolicy } from '@topoforge/model';

export const NAMESPACE = 'session-cache';
const REDIS_PORT = 6379;
const SENTINEL_PORT = 26379;

export function redisConf(policy: SessionCachePolicy): string {
  return [
    `# topoforge session cache (policy ${policy.name}): a pure cache, nothing is persisted.`,
    `# Sessions keep their last ${policy.windowSeconds}s for ${policy.ttlSeconds}s after the last write.`,
    'port 6379',
    'bind 0.0.0.0',
    'protected-mode no',
    '# no persistence: no append-only file, no RDB snapshots',
    'appendonly no',
    'save ""',
    `maxmemory ${policy.maxMemory}`,
    '# evict the keys closest to expiry first: every session key has a TTL',
    'maxmemory-policy volatile-ttl',
    '',
  ].join('\n');
}

function sentinelConf(policy: SessionCachePolicy, primaryHost: string): string {
  const quorum = 2;
  return [
    `# topoforge session cache Sentinel (policy ${policy.name})`,
    `port ${SENTINEL_PORT}`,
    'sentinel resolve-hostnames yes',
    'sentinel announce-hostnames yes',
    `sentinel monitor ${policy.name} ${primaryHost} ${REDIS_PORT} ${quorum}`,
    `sentinel down-after-milliseconds ${policy.name} 5000`,
    `sentinel failover-timeout ${policy.name} 60000`,
    `sentinel parallel-syncs ${policy.name} 1`,
    '',
  ].join('\n');
}

/** Policies used by services in this DC, by name. */
function policiesIn(env: Environment, dc: DataCenter): SessionCachePolicy[] {
  const byName = new Map<string, SessionCachePolicy>();
  for (const s of env.services) {
    const p = s.policies.sessionCache;
    if (p && s.dataCenters.includes(dc.name)) byName.set(p.name, p);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

export const redisName = (policy: SessionCachePolicy): string => `redis-${policy.name}`;
export const redisHost = (policy: SessionCachePolicy): string => `${redisName(policy)}.${NAMESPACE}.svc.cluster.local`;

export default definePlugin({
  name: 'session-cache',
  description: 'Redis session cache per DC and the ConfigMap the apps mount.',
  options: Type.Object(
    {
      image: Type.String({ default: 'redis:7.2.5', description: 'Redis image (≥ 6.2 for XADD MINID)' }),
      sentinelReplicas: Type.Integer({ default: 3, minimum: 3, description: 'Sentinel pods when replication is sentinel' }),
    },
    { additionalProperties: false },
  ),
  render(ctx) {
    for (const dc of ctx.env.dataCenters) {
      const policies = policiesIn(ctx.env, dc);
      if (policies.length === 0) continue;
      ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
      for (const policy of policies) {
        if (!/^[0-9]+(kb|mb|gb)$/.test(policy.maxMemory)) ctx.error(`maxMemory ${policy.maxMemory} is not a Redis size`, { field: `policies.sessionCache.${policy.name}.maxMemory` });
        const name = redisName(policy);
        const conf = redisConf(policy);
        const sentinel = policy.replication === 'sentinel';
        const labels = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': name };
        ctx.file(`clusters/${dc.name}/session-cache/${name}.conf`, conf, { dc: dc.name });
        ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-config`, namespace: NAMESPACE }, data: { 'redis.conf': conf } });
        ctx.object({ dc: dc.name }, {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: NAMESPACE },
          spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'redis', port: REDIS_PORT, targetPort: 'redis' }] },
        });
        const replicas = sentinel ? 1 + policy.replicas : 1;
        const primary = `${name}-0.${name}.${NAMESPACE}.svc.cluster.local`;
        // Pod 0 starts as the primary; the others replicate it (Sentinel moves the role on failure).
        const start = sentinel
          ? `if [ "\${HOSTNAME##*-}" = "0" ]; then exec redis-server /etc/redis/redis.conf; else exec redis-server /etc/redis/redis.conf --replicaof ${primary} ${REDIS_PORT}; fi`
          : 'exec redis-server /etc/redis/redis.conf';
        ctx.object({ dc: dc.name }, statefulSet(name, replicas, labels, ctx.options.image, start, policy, 'redis', REDIS_PORT, `${name}-config`));
        if (sentinel) {
          const sname = `${name}-sentinel`;
          const slabels = { 'app.kubernetes.io/name': 'redis-sentinel', 'app.kubernetes.io/instance': sname };
          ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${sname}-config`, namespace: NAMESPACE }, data: { 'sentinel.conf': sentinelConf(policy, primary) } });
          ctx.object({ dc: dc.name }, {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: sname, namespace: NAMESPACE },
            spec: { clusterIP: 'None', selector: slabels, ports: [{ name: 'sentinel', port: SENTINEL_PORT, targetPort: 'sentinel' }] },
          });
          // Sentinel rewrites its config file, so it starts from a writable copy.
          const sstart = 'cp /etc/redis/sentinel.conf /data/sentinel.conf && exec redis-sentinel /data/sentinel.conf';
          ctx.object({ dc: dc.name }, statefulSet(sname, ctx.options.sentinelReplicas, slabels, ctx.options.image, sstart, policy, 'sentinel', SENTINEL_PORT, `${sname}-config`));
        }
      }
      // The application side: one ConfigMap per service in its own namespace.
      for (const s of ctx.env.services) {
        const policy = s.policies.sessionCache;
        if (!policy || !s.dataCenters.includes(dc.name)) continue;
        const data: Record<string, string> = {
          SESSION_CACHE_WINDOW_SECONDS: String(policy.windowSeconds),
          SESSION_CACHE_TTL_SECONDS: String(policy.ttlSeconds),
          SESSION_CACHE_KEY_PREFIX: `session:${s.name}:`,
          SESSION_CACHE_HOST: redisHost(policy),
          SESSION_CACHE_PORT: String(REDIS_PORT),
        };
        if (policy.replication === 'sentinel') {
          data.SESSION_CACHE_SENTINEL_MASTER = policy.name;
          data.SESSION_CACHE_SENTINELS = `${redisName(policy)}-sentinel.${NAMESPACE}.svc.cluster.local:${SENTINEL_PORT}`;
        }
        ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'session-cache', namespace: s.namespace }, data }, { service: s.name });
      }
    }
  },
});

function statefulSet(name: string, replicas: number, labels: Record<string, string>, image: string, start: string, policy: SessionCachePolicy, portName: string, port: number, configMap: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      serviceName: name,
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          // Failover moves sessions' users to a DC whose cache must get capacity before any app:
          // the platform PriorityClass plugins/traffic-alerts emits above the recovery tiers.
          priorityClassName: 'topoforge-platform',
          containers: [
            {
              name: portName,
              image,
              command: ['sh', '-c', start],
              ports: [{ name: portName, containerPort: port }],
              resources: portName === 'redis' ? { requests: { memory: policy.maxMemory.replace(/b$/, '').replace(/k$/, 'Ki').replace(/m$/, 'Mi').replace(/g$/, 'Gi') } } : { requests: { memory: '64Mi' } },
              volumeMounts: [
                { name: 'config', mountPath: '/etc/redis' },
                { name: 'data', mountPath: '/data' },
              ],
            },
          ],
          // A cache keeps nothing: the data volume is scratch space, not a PersistentVolume.
          volumes: [
            { name: 'config', configMap: { name: configMap } },
            { name: 'data', emptyDir: {} },
          ],
        },
      },
    },
  };
}
