import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createSessionCache, settingsFrom, SessionCacheSettingsError } from '../src/index.js';
import { createServer, type AddressInfo } from 'node:net';
import { freePort, hasRedis, REDIS_MISSING, startRedis, type RunningRedis } from '../src/testing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
if (!hasRedis) console.warn(REDIS_MISSING);

describe('settingsFrom', () => {
  it('reads the generated ConfigMap keys and rejects bad values', () => {
    expect(
      settingsFrom({
        SESSION_CACHE_WINDOW_SECONDS: '240',
        SESSION_CACHE_TTL_SECONDS: '240',
        SESSION_CACHE_KEY_PREFIX: 'session:shop:',
        SESSION_CACHE_HOST: 'redis',
        SESSION_CACHE_PORT: '6379',
      }),
    ).toEqual({
      windowSeconds: 240,
      ttlSeconds: 240,
      keyPrefix: 'session:shop:',
      host: 'redis',
      port: 6379,
    });
    expect(() => settingsFrom({ SESSION_CACHE_WINDOW_SECONDS: '4m', SESSION_CACHE_TTL_SECONDS: '240', SESSION_CACHE_KEY_PREFIX: 'p' })).toThrow(
      SessionCacheSettingsError,
    );
    expect(() => settingsFrom({ SESSION_CACHE_WINDOW_SECONDS: '1', SESSION_CACHE_TTL_SECONDS: '1' })).toThrow(/KEY_PREFIX is missing/);
  });

  it('reads the Sentinels, the ACL user and its password (from the Secret), and refuses half a set-up', () => {
    const base = { SESSION_CACHE_WINDOW_SECONDS: '240', SESSION_CACHE_TTL_SECONDS: '240', SESSION_CACHE_KEY_PREFIX: 'session:shop:' };
    expect(
      settingsFrom({
        ...base,
        SESSION_CACHE_SENTINEL_MASTER: 'm',
        SESSION_CACHE_SENTINELS: 's-0.x:26379,s-1.x:26380',
        SESSION_CACHE_USERNAME: 'shop',
        SESSION_CACHE_PASSWORD: 'pw',
        SESSION_CACHE_DC: 'dc01',
      }),
    ).toEqual({
      ...{ windowSeconds: 240, ttlSeconds: 240, keyPrefix: 'session:shop:' },
      sentinel: {
        masterName: 'm',
        hosts: [
          { host: 's-0.x', port: 26379 },
          { host: 's-1.x', port: 26380 },
        ],
      },
      username: 'shop',
      password: 'pw',
      dataCenter: 'dc01',
    });
    expect(() => settingsFrom({ ...base, SESSION_CACHE_USERNAME: 'shop' })).toThrow(/SESSION_CACHE_PASSWORD is missing/);
    expect(() => settingsFrom({ ...base, SESSION_CACHE_SENTINELS: 's:26379' })).toThrow(/go together/);
    expect(() => settingsFrom({ ...base, SESSION_CACHE_SENTINEL_MASTER: 'm', SESSION_CACHE_SENTINELS: 's:port' })).toThrow(/not host:port/);
  });
});

describe.runIf(hasRedis)('against a real redis-server on 127.0.0.1', () => {
  let server: RunningRedis;
  let redis: Redis;
  // The first port handed out is one another process holds, as if it took it between the
  // choosing and redis-server's bind.
  const taken = createServer();
  const handed: number[] = [];
  beforeAll(async () => {
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const takenPort = (taken.address() as AddressInfo).port;
    server = await startRedis([], async () => {
      const p = handed.length === 0 ? takenPort : await freePort();
      handed.push(p);
      return p;
    });
    redis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
    taken.close();
  });

  it('the test server starts again on a new port when its port was taken before it could bind', () => {
    expect(handed).toHaveLength(2);
    expect(handed[0]).toBe((taken.address() as AddressInfo).port);
    expect(server.port).toBe(handed[1]);
    expect(redis.status).toBe('ready');
  });

  it('keeps the window that ends at the last write: older events are trimmed and not returned', async () => {
    const cache = createSessionCache(redis, { windowSeconds: 2, ttlSeconds: 5, keyPrefix: 'session:test:' }, { clockSkewMs: 0 });
    await cache.append('u1', { type: 'view', page: '/a' });
    await sleep(1200);
    await cache.append('u1', { type: 'view', page: '/b' });
    await sleep(1000);
    // /a is 1.2 s older than the last write (/b): inside the 2 s window that ends there
    expect((await cache.tail('u1')).map((e) => e.fields.page)).toEqual(['/a', '/b']);
    await cache.append('u1', { type: 'cart', page: '/c' });
    // /a is 2.2 s older than /c: trimmed from the stream by the write, not only hidden by the read
    expect(await redis.xlen('session:test:u1')).toBe(2);
    expect((await cache.tail('u1')).map((e) => e.fields.page)).toEqual(['/b', '/c']);
    const ttl = await redis.ttl('session:test:u1');
    expect(ttl).toBeGreaterThan(3);
    expect(ttl).toBeLessThanOrEqual(5);
  });

  it('returns the same whole window at any moment until the TTL, and nothing after (time ×1/60: 4 min → 4 s)', async () => {
    const cache = createSessionCache(redis, { windowSeconds: 4, ttlSeconds: 4, keyPrefix: 'session:keep:' });
    const written: string[] = [];
    const at = (id: string) => Number(id.split('-')[0]); // the server's clock (stream ids)
    // One event every 0.5 s until they span 5.5 s on the server's clock: by time, not by count,
    // so that a loaded machine (fewer events in the span) still leaves events older than the window.
    for (let i = 0; written.length === 0 || at(written.at(-1)!) - at(written[0]!) < 5500; i++) {
      if (i > 0) await sleep(500);
      written.push(await cache.append('k', { n: String(i) }));
    }
    const lastWrite = Date.now();
    const window = written.filter((id) => at(id) >= at(written.at(-1)!) - 4000);
    expect(window.length).toBeGreaterThanOrEqual(2); // the whole last 4 s (8 events on an idle machine) …
    expect(window.length).toBeLessThan(written.length); // … and not the older events
    for (const after of [100, 1500, 3000, 3700]) {
      await sleep(Math.max(0, lastWrite + after - Date.now()));
      expect(
        (await cache.tail('k')).map((e) => e.id),
        `${after} ms after the last write`,
      ).toEqual(window);
    }
    await sleep(Math.max(0, lastWrite + 4300 - Date.now()));
    expect(await cache.tail('k')).toEqual([]);
  });

  it('reads the window on the server clock: a skewed app clock changes nothing', async () => {
    const ahead = createSessionCache(redis, { windowSeconds: 2, ttlSeconds: 5, keyPrefix: 'session:skew:' }, { now: () => Date.now() + 900 });
    await ahead.append('s', { n: '1' });
    await sleep(1500);
    await ahead.append('s', { n: '2' });
    // the app clock is 0.9 s ahead: MINID is 2.4 s before the server's now, minus the 1 s allowance
    expect((await ahead.tail('s')).map((e) => e.fields.n)).toEqual(['1', '2']);
  });

  it('forgets the session once the TTL passes after the last write, and reads an unknown one as empty', async () => {
    const cache = createSessionCache(redis, { windowSeconds: 2, ttlSeconds: 1, keyPrefix: 'session:ttl:' });
    await cache.append('u2', { type: 'login' });
    expect(await redis.exists('session:ttl:u2')).toBe(1);
    await sleep(1300);
    expect(await redis.exists('session:ttl:u2')).toBe(0);
    expect(await cache.tail('u2')).toEqual([]);
  });

  it('refreshes the TTL on every write', async () => {
    const cache = createSessionCache(redis, { windowSeconds: 10, ttlSeconds: 2, keyPrefix: 'session:refresh:' });
    await cache.append('u3', { n: '1' });
    await sleep(1200);
    await cache.append('u3', { n: '2' });
    await sleep(1200);
    // 2.4 s after the first write, but only 1.2 s after the last: still there
    expect((await cache.tail('u3')).map((e) => e.fields.n)).toEqual(['1', '2']);
  });

  it('rejects session ids that could address other keys', async () => {
    const cache = createSessionCache(redis, { windowSeconds: 2, ttlSeconds: 2, keyPrefix: 'session:x:' });
    await expect(cache.append('a b', { x: '1' })).rejects.toThrow(SessionCacheSettingsError);
    await expect(cache.append('u', {})).rejects.toThrow(/at least one field/);
  });
});
