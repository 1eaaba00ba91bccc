/**
 * The session cache: the last 4 minutes of every session kept for 4 more minutes, readable
 * through a primary failure, and only by the service that wrote them.
 *
 * Per DC that runs services with a session-cache policy, one Redis per policy in the
 * `session-cache` namespace, as plain objects (StatefulSet, ConfigMap, Service,
 * NetworkPolicy, PodDisruptionBudget) that the Pulumi program and any GitOps controller
 * apply as they are:
 * - `redis.conf` for a pure cache (conf.ts), an ACL with one user per service limited to its
 *   key prefix, and start scripts (scripts.ts) that add the password hashes from a mounted
 *   Secret and never let an empty primary wipe its replicas;
 * - `replication: sentinel` (production): 1 + replicas cache pods and a Sentinel StatefulSet;
 *   `standalone` (staging): one pod, same users and scripts.
 * And in each service's namespace, a ConfigMap the apps mount as env vars (read by
 * @topoforge/session-cache's settingsFrom()). The redis.conf is also written as a plain file.
 */
import { definePlugin, INT32_MAX, Type, type RenderContext } from '@topoforge/plugin-sdk';
import { checkSessionCache, policies } from './policy.js';
import { byName, byString, type DataCenter, type Environment, type Service, type SessionCachePolicy } from '@topoforge/model';
import {
  containerMemory,
  DOWN_AFTER_MS,
  FAILOVER_TIMEOUT_MS,
  keyPrefix,
  QUORUM,
  redisConf,
  REDIS_PORT,
  REPLICATION_USER,
  SENTINEL_PORT,
  SENTINEL_USER,
  sentinelConf,
  sentinelMasterConf,
  sentinelUsersAcl,
  usersAcl,
} from './conf.js';
import { disruptionBudget, fqdn, headlessService, NAMESPACE, networkPolicy, statefulSet } from './objects.js';
import { START_REDIS, START_SENTINEL } from './scripts.js';

export { NAMESPACE } from './objects.js';
export { redisConf, usersAcl, sentinelUsersAcl, APP_COMMANDS, REPLICATION_USER, SENTINEL_USER } from './conf.js';
export { START_REDIS, START_SENTINEL } from './scripts.js';

export const redisName = (policy: SessionCachePolicy): string => `redis-${policy.name}`;
export const redisHost = (policy: SessionCachePolicy): string => `${redisName(policy)}.${NAMESPACE}.svc.cluster.local`;
/** The Secret in the `session-cache` namespace with one key per ACL user (never rendered). */
export const usersSecretName = (policy: SessionCachePolicy): string => `${redisName(policy)}-users`;
/** The Secret in each service's namespace with the service's password under `password`. */
export const APP_SECRET = { name: 'session-cache', key: 'password' } as const;

const RESERVED_USERS = new Set(['default', REPLICATION_USER, SENTINEL_USER]);

/** Services in this DC that use a session-cache policy, by policy name, sorted. */
function usersIn(env: Environment, dc: DataCenter): Map<string, { policy: SessionCachePolicy; services: Service[] }> {
  const byPolicy = new Map<string, { policy: SessionCachePolicy; services: Service[] }>();
  for (const s of env.services) {
    const p = s.policies.sessionCache;
    if (!p || !s.dataCenters.includes(dc.name)) continue;
    const entry = byPolicy.get(p.name) ?? { policy: p, services: [] };
    entry.services.push(s);
    byPolicy.set(p.name, entry);
  }
  for (const e of byPolicy.values()) e.services.sort(byName);
  return new Map([...byPolicy.entries()].sort(([a], [b]) => byString(a, b)));
}

export default definePlugin({
  name: 'session-cache',
  description: 'Redis session cache per DC (Sentinel, ACL, NetworkPolicy) and the ConfigMap the apps mount.',
  options: Type.Object(
    {
      image: Type.String({ default: 'redis:7.2.5', description: 'Redis image (≥ 6.2 for XADD MINID; sh, redis-cli, sha256sum, timeout)' }),
      sentinelReplicas: Type.Integer({ default: 3, minimum: 3, maximum: INT32_MAX, description: 'Sentinel pods when replication is sentinel' }),
    },
    { additionalProperties: false },
  ),
  policies,
  check: checkSessionCache,
  render(ctx) {
    for (const s of ctx.env.services) {
      if (s.policies.sessionCache && RESERVED_USERS.has(s.name))
        ctx.error(`service name ${s.name} is a reserved session-cache ACL user`, {
          field: `services.${s.name}`,
          hint: `rename the service; ${[...RESERVED_USERS].join(', ')} are the cache's own users`,
        });
    }
    for (const dc of ctx.env.dataCenters) {
      const users = usersIn(ctx.env, dc);
      if (users.size === 0) continue;
      ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
      for (const { policy, services } of users.values()) {
        if (!/^[0-9]+(kb|mb|gb)$/.test(policy.maxMemory)) {
          ctx.error(`maxMemory ${policy.maxMemory} is not a Redis size`, { field: `policies.sessionCache.${policy.name}.maxMemory` });
          continue;
        }
        renderCache(ctx, dc, policy, services);
      }
      // The application side: one ConfigMap per service in its own namespace.
      for (const { policy, services } of users.values()) {
        for (const s of services) {
          const data: Record<string, string> = {
            SESSION_CACHE_WINDOW_SECONDS: String(policy.windowSeconds),
            SESSION_CACHE_TTL_SECONDS: String(policy.ttlSeconds),
            SESSION_CACHE_KEY_PREFIX: keyPrefix(s.name),
            SESSION_CACHE_HOST: redisHost(policy),
            SESSION_CACHE_PORT: String(REDIS_PORT),
            SESSION_CACHE_USERNAME: s.name,
            SESSION_CACHE_DC: dc.name,
          };
          if (policy.replication === 'sentinel') {
            data.SESSION_CACHE_SENTINEL_MASTER = policy.name;
            data.SESSION_CACHE_SENTINELS = sentinelAddresses(ctx.options.sentinelReplicas, policy).join(',');
          }
          ctx.object(
            { dc: dc.name },
            { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'session-cache', namespace: s.namespace }, data },
            { service: s.name },
          );
        }
      }
    }
  },
});

function sentinelAddresses(count: number, policy: SessionCachePolicy): string[] {
  const name = `${redisName(policy)}-sentinel`;
  return Array.from({ length: count }, (_, i) => `${fqdn(`${name}-${i}`, name)}:${SENTINEL_PORT}`);
}

function renderCache(
  ctx: RenderContext<{ image: string; sentinelReplicas: number }>,
  dc: DataCenter,
  policy: SessionCachePolicy,
  services: readonly Service[],
): void {
  const name = redisName(policy);
  const sname = `${name}-sentinel`;
  const sentinel = policy.replication === 'sentinel';
  const labels = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': name };
  const slabels = { 'app.kubernetes.io/name': 'redis-sentinel', 'app.kubernetes.io/instance': sname };
  const at = { dc: dc.name };
  const replicas = sentinel ? 1 + policy.replicas : 1;
  const peers = Array.from({ length: replicas }, (_, i) => `${fqdn(`${name}-${i}`, name)}:${REDIS_PORT}`);
  const sentinels = sentinel ? sentinelAddresses(ctx.options.sentinelReplicas, policy) : [];
  const conf = redisConf(policy);
  const secret = usersSecretName(policy);
  const appNamespaces = [...new Set(services.map((s) => s.namespace))].sort();

  ctx.file(`clusters/${dc.name}/session-cache/${name}.conf`, conf, at);
  ctx.object(at, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${name}-config`, namespace: NAMESPACE },
    data: {
      'redis.conf': conf,
      'start-redis.sh': START_REDIS,
      'users.acl': usersAcl(
        services.map((s) => s.name),
        sentinel,
      ),
    },
  });
  ctx.object(at, headlessService(name, labels, 'redis', REDIS_PORT));
  ctx.object(
    at,
    statefulSet({
      name,
      replicas,
      labels,
      image: ctx.options.image,
      role: 'redis',
      port: REDIS_PORT,
      configMap: `${name}-config`,
      usersSecret: secret,
      probeUser: REPLICATION_USER,
      script: 'start-redis.sh',
      env: {
        CACHE_NAME: policy.name,
        CACHE_HOST: `$(POD_NAME).${name}.${NAMESPACE}.svc.cluster.local`,
        CACHE_PORT: String(REDIS_PORT),
        CACHE_PEERS: peers.join(' '),
        CACHE_INITIAL_PRIMARY: peers[0]!,
        CACHE_SENTINELS: sentinels.join(' '),
      },
      memory: containerMemory(policy),
      // detection + failover, with room to spare
      startupSeconds: Math.ceil((DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS) / 1000) + 120,
    }),
  );
  ctx.object(at, networkPolicy(name, labels, REDIS_PORT, appNamespaces, sentinel ? [labels, slabels] : [labels]));
  if (!sentinel) return;
  ctx.object(at, disruptionBudget(name, labels));
  ctx.object(at, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${sname}-config`, namespace: NAMESPACE },
    data: {
      'sentinel.conf': sentinelConf(policy),
      'sentinel-master.conf': sentinelMasterConf(policy),
      'sentinel-users.acl': sentinelUsersAcl(services.map((s) => s.name)),
      'start-sentinel.sh': START_SENTINEL,
    },
  });
  ctx.object(at, headlessService(sname, slabels, 'sentinel', SENTINEL_PORT));
  ctx.object(
    at,
    statefulSet({
      name: sname,
      replicas: ctx.options.sentinelReplicas,
      labels: slabels,
      image: ctx.options.image,
      role: 'sentinel',
      port: SENTINEL_PORT,
      configMap: `${sname}-config`,
      usersSecret: secret,
      probeUser: SENTINEL_USER,
      script: 'start-sentinel.sh',
      env: {
        CACHE_NAME: policy.name,
        CACHE_HOST: `$(POD_NAME).${sname}.${NAMESPACE}.svc.cluster.local`,
        CACHE_PORT: String(SENTINEL_PORT),
        CACHE_SENTINELS: sentinels.join(' '),
        CACHE_INITIAL_PRIMARY: peers[0]!,
        CACHE_QUORUM: String(QUORUM),
      },
      memory: '64Mi',
      startupSeconds: 60,
    }),
  );
  ctx.object(at, networkPolicy(sname, slabels, SENTINEL_PORT, appNamespaces, [labels, slabels]));
  ctx.object(at, disruptionBudget(sname, slabels));
}
