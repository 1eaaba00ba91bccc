/**
 * The session cache as the applications use it: append an event to a user's session and
 * read the session's last window. One Redis stream per session:
 *
 *   MULTI
 *     XADD  <prefix><session> MINID <now - window - skew> * <field> <value> …   (append, drop what is older than the window)
 *     EXPIRE <prefix><session> <ttl>                                           (the session lives ttl seconds after its last write)
 *   EXEC
 *
 * and a read is `XRANGE <prefix><session> - +` filtered to the window that ends at the
 * session's LAST entry: the last `windowSeconds` as of the last write, the same answer at
 * any moment of the `ttlSeconds` that follow it, and nothing once the key has expired.
 * `XADD … MINID` needs Redis ≥ 6.2.
 *
 * Time: stream IDs come from the Redis server's clock (`*`). Reads measure the window on
 * those IDs only, so they are exact whatever the app's clock says; the write trims with the
 * app's clock and keeps `clockSkewMs` more, so a skewed app clock never trims what a read
 * still returns.
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface SessionCacheSettings {
  /** How much of a session is kept, in seconds. */
  readonly windowSeconds: number;
  /** How long a session is kept after its last write, in seconds. */
  readonly ttlSeconds: number;
  /** Prefix of every session key, e.g. `session:online-store:`. */
  readonly keyPrefix: string;
  /** Where the DC's cache is (standalone set-ups; with Sentinel the Sentinels say where the primary is). */
  readonly host?: string;
  readonly port?: number;
  /** Sentinel set-up, when the environment uses replication with Sentinel. */
  readonly sentinel?: { readonly masterName: string; readonly hosts: readonly { host: string; port: number }[] };
  /** The application's ACL user (the same on Redis and on the Sentinels). */
  readonly username?: string;
  /** Its password, from the Secret (`SESSION_CACHE_PASSWORD` via secretKeyRef); never in the ConfigMap. */
  readonly password?: string;
  /** The DC whose cache this is: a session moved to another DC starts a fresh window there. */
  readonly dataCenter?: string;
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
  username: 'SESSION_CACHE_USERNAME',
  dataCenter: 'SESSION_CACHE_DC',
  /** Not in the ConfigMap: the app's Deployment sets it from the Secret (secretKeyRef). */
  password: 'SESSION_CACHE_PASSWORD',
} as const;

export class SessionCacheSettingsError extends Error {
  readonly code = 'SESSION_CACHE_SETTINGS_INVALID';
}

function positiveInt(data: Readonly<Record<string, string | undefined>>, key: string, what = 'seconds'): number {
  const raw = data[key];
  if (raw === undefined || !/^[1-9][0-9]*$/.test(raw))
    throw new SessionCacheSettingsError(`${key} must be a positive whole number of ${what} (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

function endpoint(key: string, hp: string): { host: string; port: number } {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):([1-9][0-9]{0,4})$/.exec(hp.trim());
  if (!m || Number(m[2]) > 65535) throw new SessionCacheSettingsError(`${key}: ${JSON.stringify(hp)} is not host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Reads settings from the generated ConfigMap's data (or `process.env` when mounted as env vars). */
export function settingsFrom(data: Readonly<Record<string, string | undefined>>): SessionCacheSettings {
  const keyPrefix = data[SETTINGS_KEYS.prefix];
  if (!keyPrefix) throw new SessionCacheSettingsError(`${SETTINGS_KEYS.prefix} is missing`);
  const sentinels = data[SETTINGS_KEYS.sentinels];
  const master = data[SETTINGS_KEYS.sentinelMaster];
  if (Boolean(sentinels) !== Boolean(master)) throw new SessionCacheSettingsError(`${SETTINGS_KEYS.sentinels} and ${SETTINGS_KEYS.sentinelMaster} go together`);
  const username = data[SETTINGS_KEYS.username];
  const password = data[SETTINGS_KEYS.password];
  if (username && !password)
    throw new SessionCacheSettingsError(`${SETTINGS_KEYS.password} is missing: set it from the Secret with the user ${username}'s password (secretKeyRef)`);
  const dc = data[SETTINGS_KEYS.dataCenter];
  return {
    windowSeconds: positiveInt(data, SETTINGS_KEYS.window),
    ttlSeconds: positiveInt(data, SETTINGS_KEYS.ttl),
    keyPrefix,
    ...(data[SETTINGS_KEYS.host] ? { host: data[SETTINGS_KEYS.host] } : {}),
    ...(data[SETTINGS_KEYS.port] ? { port: positiveInt(data, SETTINGS_KEYS.port, 'port') } : {}),
    ...(sentinels && master ? { sentinel: { masterName: master, hosts: sentinels.split(',').map((hp) => endpoint(SETTINGS_KEYS.sentinels, hp)) } } : {}),
    ...(username ? { username, password: password! } : {}),
    ...(dc ? { dataCenter: dc } : {}),
  };
}

/**
 * A connection for the session cache that always writes to the primary: with Sentinel,
 * ioredis asks the Sentinels for the primary (`role: 'master'`), checks the answer with
 * INFO, and asks again after every disconnect, so a failover costs a reconnect, not a lost
 * write. Standalone (staging): the host and port. `extra` is for timeouts and the like.
 */
export function connectSessionCache(settings: SessionCacheSettings, extra: RedisOptions = {}): Redis {
  const auth = settings.username ? { username: settings.username, password: settings.password } : {};
  const common: RedisOptions = {
    ...auth,
    // CLIENT SETINFO is not among the commands the app's ACL user may run.
    disableClientInfo: true,
    // A demoted primary answers writes with READONLY: reconnect, which asks the Sentinels again.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    ...extra,
  };
  if (settings.sentinel) {
    return new Redis({
      sentinels: settings.sentinel.hosts.map((h) => ({ host: h.host, port: h.port })),
      name: settings.sentinel.masterName,
      role: 'master',
      ...(settings.username ? { sentinelUsername: settings.username, sentinelPassword: settings.password } : {}),
      ...common,
    });
  }
  if (!settings.host) throw new SessionCacheSettingsError(`${SETTINGS_KEYS.host} is missing and there are no Sentinels`);
  return new Redis({ host: settings.host, port: settings.port ?? 6379, ...common });
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
  /** The session's events of the window ending at its last event, oldest first; empty for an unknown or expired session. */
  tail(sessionId: string): Promise<SessionEvent[]>;
  /** The Redis key of a session. */
  key(sessionId: string): string;
}

export interface SessionCacheOptions {
  /** The app's clock (tests). */
  readonly now?: () => number;
  /** How far the app's clock may be ahead of Redis's: the write keeps that much more. Default 1000 ms. */
  readonly clockSkewMs?: number;
  /** Attempts of an append aborted before it wrote anything (READONLY/EXECABORT during a failover). Default 3. */
  readonly attempts?: number;
}

const SESSION_ID = /^[A-Za-z0-9._:-]{1,200}$/;
/** Errors after which an EXEC wrote nothing, so the append can be sent again. */
const NOTHING_WRITTEN = /^(READONLY|EXECABORT|LOADING|MASTERDOWN)/;

export function createSessionCache(redis: Redis, settings: SessionCacheSettings, options: SessionCacheOptions | (() => number) = {}): SessionCache {
  const opts: SessionCacheOptions = typeof options === 'function' ? { now: options } : options;
  const now = opts.now ?? Date.now;
  const skew = opts.clockSkewMs ?? 1000;
  const attempts = opts.attempts ?? 3;
  const windowMs = settings.windowSeconds * 1000;
  const key = (sessionId: string): string => {
    if (!SESSION_ID.test(sessionId)) throw new SessionCacheSettingsError(`session id ${JSON.stringify(sessionId)} must match ${SESSION_ID.source}`);
    return settings.keyPrefix + sessionId;
  };
  const appendOnce = async (k: string, flat: string[]): Promise<string> => {
    const minId = String(Math.max(0, now() - windowMs - skew));
    const res = await redis
      .multi()
      .xadd(k, 'MINID', minId, '*', ...flat)
      .expire(k, settings.ttlSeconds)
      .exec();
    if (!res) throw new Error('session cache transaction was aborted');
    for (const [err] of res) if (err) throw err;
    return String(res[0]![1]);
  };
  return {
    key,
    async append(sessionId, fields) {
      const entries = Object.entries(fields);
      if (entries.length === 0) throw new SessionCacheSettingsError('an event needs at least one field');
      const k = key(sessionId);
      for (let attempt = 1; ; attempt++) {
        try {
          return await appendOnce(k, entries.flat());
        } catch (err) {
          if (attempt >= attempts || !(err instanceof Error) || !NOTHING_WRITTEN.test(err.message)) throw err;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    },
    async tail(sessionId) {
      // The stream holds at most the window (+ skew) before its last write: read it whole
      // and keep the window that ends at the last entry, measured on Redis's own clock.
      const rows = await redis.xrange(key(sessionId), '-', '+');
      const events = rows.map(([id, flat]) => {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        return { id, at: Number(id.split('-')[0]), fields };
      });
      const last = events.at(-1);
      return last ? events.filter((e) => e.at >= last.at - windowMs) : [];
    },
  };
}
