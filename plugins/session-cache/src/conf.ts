/**
 * The configuration files of one cache (one session-cache policy in one DC). No password
 * appears here: the start scripts (scripts.ts) add the users' password hashes, read from the
 * mounted Secret, when the pod starts.
 */
import type { SessionCachePolicy } from '@topoforge/model';

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;
/** Sentinel quorum: 2 of the (at least) 3 Sentinels must see the primary down. */
export const QUORUM = 2;
/** Failure detection and failover timing (the tests' copies scale them down). */
export const DOWN_AFTER_MS = 5000;
export const FAILOVER_TIMEOUT_MS = 60000;

/** ACL users besides the applications: replicas and probes, and the Sentinels. */
export const REPLICATION_USER = 'replication';
export const SENTINEL_USER = 'sentinel';

/**
 * What the library (@topoforge/session-cache) sends, and nothing else: the append
 * transaction, the read, PING, and INFO — ioredis's ready check, which is also how it checks
 * that the address the Sentinels gave is the primary.
 */
export const APP_COMMANDS = ['xadd', 'xrange', 'expire', 'multi', 'exec', 'ping', 'info'] as const;
/** What ioredis asks a Sentinel: where the primary is, and the other Sentinels. */
export const APP_SENTINEL_COMMANDS = ['ping', 'sentinel|get-master-addr-by-name', 'sentinel|sentinels'] as const;

export const keyPrefix = (service: string): string => `session:${service}:`;

const BYTES: Record<string, number> = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
/** Redis sizes are binary (1gb = 1024³ bytes). */
export function redisBytes(size: string): number {
  const m = /^([0-9]+)(kb|mb|gb)$/.exec(size);
  if (!m) throw new Error(`${size} is not a Redis size`);
  return Number(m[1]) * BYTES[m[2]!]!;
}

/**
 * The container's memory (request = limit, so the pod is never overcommitted): maxmemory
 * plus half again, for what maxmemory does not count — replication and client buffers,
 * the copy-on-write pages of the fork that streams a full resync, fragmentation.
 */
export function containerMemory(policy: SessionCachePolicy): string {
  return `${Math.ceil((redisBytes(policy.maxMemory) * 1.5) / 1024 ** 2)}Mi`;
}

export function redisConf(policy: SessionCachePolicy): string {
  return [
    `# topoforge session cache (policy ${policy.name}): a pure cache, nothing is persisted.`,
    `# Sessions keep their last ${policy.windowSeconds}s for ${policy.ttlSeconds}s after the last write.`,
    `port ${REDIS_PORT}`,
    '# every interface of the pod, behind the NetworkPolicy; nobody gets in without a user (users.acl)',
    'bind * -::*',
    'protected-mode yes',
    '# no persistence: no append-only file, no RDB snapshots (start-redis.sh keeps an empty',
    '# primary from wiping its replicas)',
    'appendonly no',
    'save ""',
    '# full resyncs stream the snapshot to the replica without a file',
    'repl-diskless-sync yes',
    `maxmemory ${policy.maxMemory}`,
    '# evict the keys closest to expiry first: every session key has a TTL',
    'maxmemory-policy volatile-ttl',
    '',
  ].join('\n');
}

/**
 * The ACL, without passwords: start-redis.sh appends `#<sha256>` of each user's password
 * from the mounted Secret (key = user name). The default user is off, so a client that does
 * not authenticate can run nothing.
 */
export function usersAcl(services: readonly string[], sentinel: boolean): string {
  const lines = [
    '# topoforge session cache users; the start script adds each password hash from the Secret',
    'user default off resetkeys resetchannels -@all',
    `user ${REPLICATION_USER} on resetkeys resetchannels -@all +psync +replconf +ping +info`,
  ];
  // What Sentinel needs on the instances it watches (redis.io, Sentinel and ACL).
  if (sentinel)
    lines.push(
      `user ${SENTINEL_USER} on resetkeys resetchannels &__sentinel__:hello -@all +client +subscribe +publish +ping +info +multi +slaveof +config +exec +role`,
    );
  for (const s of services) lines.push(`user ${s} on resetkeys ~${keyPrefix(s)}* resetchannels -@all ${APP_COMMANDS.map((c) => `+${c}`).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** The Sentinels' users: each other, the cache pods' start script, and the apps. */
export function sentinelUsersAcl(services: readonly string[]): string {
  const lines = [
    '# topoforge session cache Sentinel users; the start script adds each password hash from the Secret',
    'user default off resetkeys resetchannels -@all',
    `user ${SENTINEL_USER} on allchannels +@all`,
    `user ${REPLICATION_USER} on resetchannels -@all +ping +sentinel|get-master-addr-by-name`,
  ];
  for (const s of services) lines.push(`user ${s} on resetchannels -@all ${APP_SENTINEL_COMMANDS.map((c) => `+${c}`).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Global Sentinel settings; they come before the `sentinel monitor` line the start script writes. */
export function sentinelConf(policy: SessionCachePolicy): string {
  return [
    `# topoforge session cache Sentinel (policy ${policy.name})`,
    `port ${SENTINEL_PORT}`,
    '# every interface of the pod, behind the NetworkPolicy; nobody gets in without a user',
    'bind * -::*',
    'protected-mode yes',
    '# pods are found by their stable DNS names, not by IPs that change on restart',
    'sentinel resolve-hostnames yes',
    'sentinel announce-hostnames yes',
    'sentinel deny-scripts-reconfig yes',
    '',
  ].join('\n');
}

/** Settings of the monitored primary; they follow the `sentinel monitor` line. */
export function sentinelMasterConf(policy: SessionCachePolicy): string {
  return [
    `sentinel down-after-milliseconds ${policy.name} ${DOWN_AFTER_MS}`,
    `sentinel failover-timeout ${policy.name} ${FAILOVER_TIMEOUT_MS}`,
    `sentinel parallel-syncs ${policy.name} 1`,
    '',
  ].join('\n');
}
