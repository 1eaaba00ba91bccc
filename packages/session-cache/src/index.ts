/**
 * The session cache as the applications use it: append an event to a user's session and
 * read the session's recent tail. One Redis stream per session:
 *
 *   MULTI
 *     XADD  <prefix><session> MINID <now - window> * <field> <value> …   (append, drop entries older than the window)
 *     EXPIRE <prefix><session> <ttl>                                     (the session lives ttl seconds after its last write)
 *   EXEC
 *
 * so a session's last `windowSeconds` are kept, and kept for `ttlSeconds` after the last
 * event. `XADD … MINID` needs Redis ≥ 6.2.
 *
 * Time: stream IDs come from the Redis server's clock (`*`), the window edge from this
 * process's clock (Date.now). On NTP-synced hosts the skew moves the edge by the skew only;
 * reads filter by the same edge, so a tail never returns more than the window.
 */
import type { Redis } from 'ioredis';

export interface SessionCacheSettings {
  /** How much of a session is kept, in seconds. */
  readonly windowSeconds: number;
  /** How long a session is kept after its last write, in seconds. */
  readonly ttlSeconds: number;
  /** Prefix of every session key, e.g. `session:online-store:`. */
  readonly keyPrefix: string;
  /** Where the DC's cache is (absent in tests that bring their own connection). */
  readonly host?: string;
  readonly port?: number;
  /** Sentinel set-up, when the environment uses replication with Sentinel. */
  readonly sentinel?: { readonly masterName: string; readonly hosts: readonly { host: string; port: number }[] };
}

/** The ConfigMap keys the session-cache plugin emits; apps mount them as env vars. */
export const SETTINGS_KEYS = {
  window: 'SESSION_CACHE_WINDOW_SECONDS',
  ttl: 'SESSION_CACHE_TTL_SECONDS',
  prefix: 'SESSION_CACHE_KEY_PREFIX',
  host: 'SESSION_CACHE_HOST',
  port: 'SESSION_CACHE_PORT',
  sentinelMaster: 'SESSION_CACHE_SENTINEL_MASTER',
  sentinels: 'SESSION_CACHE_SENTINELS',
} as const;

export class SessionCacheSettingsError extends Error {
  readonly code = 'SESSION_CACHE_SETTINGS_INVALID';
}

function positiveInt(data: Readonly<Record<string, string | undefined>>, key: string): number {
  const raw = data[key];
  if (raw === undefined || !/^[1-9][0-9]*$/.test(raw)) throw new SessionCacheSettingsError(`${key} must be a positive whole number of seconds (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

/** Reads settings from the generated ConfigMap's data (or `process.env` when mounted as env vars). */
export function settingsFrom(data: Readonly<Record<string, string | undefined>>): SessionCacheSettings {
  const keyPrefix = data[SETTINGS_KEYS.prefix];
  if (!keyPrefix) throw new SessionCacheSettingsError(`${SETTINGS_KEYS.prefix} is missing`);
  const sentinels = data[SETTINGS_KEYS.sentinels];
  const master = data[SETTINGS_KEYS.sentinelMaster];
  return {
    windowSeconds: positiveInt(data, SETTINGS_KEYS.window),
    ttlSeconds: positiveInt(data, SETTINGS_KEYS.ttl),
    keyPrefix,
    ...(data[SETTINGS_KEYS.host] ? { host: data[SETTINGS_KEYS.host] } : {}),
    ...(data[SETTINGS_KEYS.port] ? { port: positiveInt(data, SETTINGS_KEYS.port) } : {}),
    ...(sentinels && master
      ? {
          sentinel: {
            masterName: master,
            hosts: sentinels.split(',').map((hp) => {
              const [host, port] = hp.trim().split(':');
              return { host: host!, port: Number(port ?? 26379) };
            }),
          },
        }
      : {}),
  };
}

export interface SessionEvent {
  /** Stream entry ID (`<ms>-<seq>`, Redis server time). */
  readonly id: string;
  /** Milliseconds since the epoch at which Redis stored the event. */
  readonly at: number;
  readonly fields: Readonly<Record<string, string>>;
}

export interface SessionCache {
  /** Appends one event; returns its stream ID. */
  append(sessionId: string, fields: Readonly<Record<string, string>>): Promise<string>;
  /** The session's events of the last window, oldest first; empty for an unknown session. */
  tail(sessionId: string): Promise<SessionEvent[]>;
  /** The Redis key of a session. */
  key(sessionId: string): string;
}

const SESSION_ID = /^[A-Za-z0-9._:-]{1,200}$/;

export function createSessionCache(redis: Redis, settings: SessionCacheSettings, now: () => number = Date.now): SessionCache {
  const windowMs = settings.windowSeconds * 1000;
  const key = (sessionId: string): string => {
    if (!SESSION_ID.test(sessionId)) throw new SessionCacheSettingsError(`session id ${JSON.stringify(sessionId)} must match ${SESSION_ID.source}`);
    return settings.keyPrefix + sessionId;
  };
  return {
    key,
    async append(sessionId, fields) {
      const entries = Object.entries(fields);
      if (entries.length === 0) throw new SessionCacheSettingsError('an event needs at least one field');
      const k = key(sessionId);
      const minId = String(Math.max(0, now() - windowMs));
      const res = await redis
        .multi()
        .xadd(k, 'MINID', minId, '*', ...entries.flat())
        .expire(k, settings.ttlSeconds)
        .exec();
      if (!res) throw new Error('session cache transaction was aborted');
      for (const [err] of res) if (err) throw err;
      return String(res[0]![1]);
    },
    async tail(sessionId) {
      const k = key(sessionId);
      const from = String(Math.max(0, now() - windowMs));
      const rows = await redis.xrange(k, from, '+');
      return rows.map(([id, flat]) => {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        return { id, at: Number(id.split('-')[0]), fields };
      });
    },
  };
}
