import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createSessionCache, settingsFrom, SessionCacheSettingsError } from '../src/index.js';
import { hasRedis, REDIS_MISSING, startRedis, type RunningRedis } from '../src/testing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
if (!hasRedis) console.warn(REDIS_MISSING);

describe('settingsFrom', () => {
  it('reads the generated ConfigMap keys and rejects bad values', () => {
    expect(settingsFrom({ SESSION_CACHE_WINDOW_SECONDS: '240', SESSION_CACHE_TTL_SECONDS: '240', SESSION_CACHE_KEY_PREFIX: 'session:shop:', SESSION_CACHE_HOST: 'redis', SESSION_CACHE_PORT: '6379' })).toEqual({
      windowSeconds: 240,
      ttlSeconds: 240,
      keyPrefix: 'session:shop:',
      host: 'redis',
      port: 6379,
    });
    expect(() => settingsFrom({ SESSION_CACHE_WINDOW_SECONDS: '4m', SESSION_CACHE_TTL_SECONDS: '240', SESSION_CACHE_KEY_PREFIX: 'p' })).toThrow(SessionCacheSettingsError);
    expect(() => settingsFrom({ SESSION_CACHE_WINDOW_SECONDS: '1', SESSION_CACHE_TTL_SECONDS: '1' })).toThrow(/KEY_PREFIX is missing/);
  });
});

describe.runIf(hasRedis)('against a real redis-server on 127.0.0.1', () => {
  let server: RunningRedis;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('keeps exactly the window: older events are trimmed and not returned', async () => {
    const cache = createSessionCache(redis, { windowSeconds: 2, ttlSeconds: 5, keyPrefix: 'session:test:' });
    await cache.append('u1', { type: 'view', page: '/a' });
    await sleep(1200);
    await cache.append('u1', { type: 'view', page: '/b' });
    await sleep(1000);
    // /a is now ~2.2 s old: outside the 2 s window; /b is ~1 s old.
    expect((await cache.tail('u1')).map((e) => e.fields.page)).toEqual(['/b']);
    await cache.append('u1', { type: 'cart', page: '/c' });
    // the write trimmed /a from the stream itself, not only from the read
    expect(await redis.xlen('session:test:u1')).toBe(2);
    const ttl = await redis.ttl('session:test:u1');
    expect(ttl).toBeGreaterThan(3);
    expect(ttl).toBeLessThanOrEqual(5);
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
