/**
 * The emitted standalone cache (staging's shape) run by its own start script on a real
 * redis-server: the time-scaled keep-time guarantee through the library configured from the
 * emitted ConfigMap, and the emitted ACL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import { connectSessionCache, createSessionCache, settingsFrom } from '@topoforge/session-cache';
import { freePort, hasRedis, REDIS_MISSING } from '@topoforge/session-cache/testing';
import sessionCache from '../src/index.js';
import { cacheEnvironment, emulate, startCluster, type Cluster } from './harness.js';

const plugin = sessionCache as PluginDefinition<never>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORDS = { replication: 'repl-0123456789abcdef', shop: 'shop-0123456789abcdef', blog: 'blog-0123456789abcdef' };

// Time scaled ×1/60: 4 minutes → 4 seconds.
const env = cacheEnvironment('{ windowSeconds: 4, ttlSeconds: 4, maxMemory: 64mb, replication: standalone, replicas: 0 }');

if (!hasRedis) console.warn(REDIS_MISSING);

/** A socket another process might hold, and a port chooser that hands its port out first, then free ones. */
const taken = createServer();
const takenPort = (): number => (taken.address() as AddressInfo).port;
let handed: number[] = [];
const handOut = (first: number) => async (): Promise<number> => {
  const p = handed.length === 0 ? first : await freePort();
  handed.push(p);
  return p;
};

describe.runIf(hasRedis)('the emitted standalone cache on a real redis-server', () => {
  let cluster: Cluster;
  let appData: (service: string) => Record<string, string>;
  const clients: Redis[] = [];
  const client = (opts: RedisOptions): Redis => {
    const r = new Redis({ lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, ...opts });
    r.on('error', () => {}); // the refusals are asserted on the commands
    clients.push(r);
    return r;
  };
  beforeAll(async () => {
    const out = await synth(plugin, env);
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    cluster = await startCluster(
      { statefulSets: out.objects('StatefulSet'), configMaps: out.objects('ConfigMap'), passwords: PASSWORDS, choosePort: handOut(takenPort()) },
      ['redis-cache-0'],
    );
    appData = (service) => {
      const cm = out.records('ConfigMap').find((r) => r.object.metadata.name === 'session-cache' && r.service === service)!;
      return Object.fromEntries(Object.entries(cm.object.data as Record<string, string>).map(([k, v]) => [k, cluster.rewrite(v)]));
    };
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stopAll();
    taken.close();
  });

  it('is emulated again on a new port when the port chosen for the pod was taken before redis-server could bind it', () => {
    expect(handed).toHaveLength(2);
    expect(handed[0]).toBe(takenPort());
    expect(cluster.pods.get('redis-cache-0')!.port).toBe(handed[1]);
    expect(cluster.address('redis-cache-0')).toBe(`127.0.0.1:${handed[1]}`);
    expect(cluster.pods.get('redis-cache-0')!.running()).toBe(true);
  });

  const port = () => cluster.pods.get('redis-cache-0')!.port;
  const appCache = (service: 'shop' | 'blog') => {
    const data = appData(service);
    const settings = settingsFrom({ ...data, SESSION_CACHE_HOST: '127.0.0.1', SESSION_CACHE_PORT: String(port()), SESSION_CACHE_PASSWORD: PASSWORDS[service] });
    const redis = connectSessionCache(settings, { lazyConnect: true });
    clients.push(redis);
    return { redis, cache: createSessionCache(redis, settings), settings };
  };

  it('starts as the primary with the ACL file holding only password hashes', async () => {
    const pod = cluster.pods.get('redis-cache-0')!;
    for (let i = 0; i < 50 && !pod.log().includes('starting as the primary'); i++) await sleep(100);
    expect(pod.log()).toContain('starting as the primary');
    const acl = readFileSync(join(pod.env.CACHE_RUNTIME_DIR!, 'users.acl'), 'utf8');
    for (const pw of Object.values(PASSWORDS)) expect(acl).not.toContain(pw);
    expect(acl).toMatch(/^user shop on .*~session:shop:\* .*#[0-9a-f]{64}$/m);
  });

  it('after the last write, returns the whole last window at any moment of the keep time, and nothing after it (×1/60)', async () => {
    const { cache, settings } = appCache('shop');
    expect(settings).toMatchObject({ windowSeconds: 4, ttlSeconds: 4, keyPrefix: 'session:shop:', username: 'shop', dataCenter: 'd1' });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      if (i > 0) await sleep(500); // one event every 0.5 s for 5.5 s: more than a window
      ids.push(await cache.append('u1', { n: String(i) }));
    }
    const lastWrite = Date.now();
    const lastAt = Number(ids.at(-1)!.split('-')[0]);
    const window = ids.filter((id) => Number(id.split('-')[0]) >= lastAt - 4000);
    expect(window.length).toBeGreaterThanOrEqual(8);
    expect(window.length).toBeLessThan(ids.length);
    for (const after of [50, 1000, 2000, 3000, 3700]) {
      await sleep(Math.max(0, lastWrite + after - Date.now()));
      expect(
        (await cache.tail('u1')).map((e) => e.id),
        `${after} ms after the last write`,
      ).toEqual(window);
    }
    await sleep(Math.max(0, lastWrite + 4300 - Date.now()));
    expect(await cache.tail('u1')).toEqual([]);
  });

  it("an app's user reads and writes its own key prefix only; other users and unauthenticated clients are refused", async () => {
    const { cache: shop } = appCache('shop');
    const { cache: blog } = appCache('blog');
    await shop.append('s1', { page: '/cart' });
    await blog.append('s1', { page: '/post' });
    expect((await shop.tail('s1')).map((e) => e.fields.page)).toEqual(['/cart']);
    expect((await blog.tail('s1')).map((e) => e.fields.page)).toEqual(['/post']);

    const asShop = client({ host: '127.0.0.1', port: port(), username: 'shop', password: PASSWORDS.shop });
    await asShop.connect();
    await expect(asShop.xrange('session:blog:s1', '-', '+')).rejects.toThrow(/NOPERM/);
    await expect(asShop.xadd('session:blog:s1', '*', 'page', '/evil')).rejects.toThrow(/NOPERM/);
    await expect(asShop.set('session:shop:x', '1')).rejects.toThrow(/NOPERM/); // not a command the library needs
    await expect(asShop.del('session:shop:s1')).rejects.toThrow(/NOPERM/);
    await expect(asShop.keys('*')).rejects.toThrow(/NOPERM/);
    await expect(asShop.flushall()).rejects.toThrow(/NOPERM/);
    await expect(asShop.config('GET', 'requirepass')).rejects.toThrow(/NOPERM/);

    const anonymous = client({ host: '127.0.0.1', port: port() });
    await anonymous.connect();
    await expect(anonymous.xrange('session:shop:s1', '-', '+')).rejects.toThrow(/NOAUTH/);
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    await expect(anonymous.auth('default', 'anything')).rejects.toThrow(/WRONGPASS/);
    await expect(anonymous.auth('blog', PASSWORDS.shop)).rejects.toThrow(/WRONGPASS/);
    await expect(anonymous.xrange('session:blog:s1', '-', '+')).rejects.toThrow(/NOAUTH/);
    await expect(anonymous.auth('blog', PASSWORDS.blog)).resolves.toBe('OK');
    await expect(anonymous.xrange('session:shop:s1', '-', '+')).rejects.toThrow(/NOPERM/); // blog's user, shop's key
    // the blog's data is untouched by all of the above
    expect((await blog.tail('s1')).map((e) => e.fields.page)).toEqual(['/post']);
  });

  it('refuses to start when the Secret lacks a user or holds an unsafe password', async () => {
    const out = await synth(plugin, env);
    // A start that fails for another reason than a taken port is reported, not tried again.
    handed = [];
    await expect(
      startCluster(
        { statefulSets: out.objects('StatefulSet'), configMaps: out.objects('ConfigMap'), passwords: {}, choosePort: handOut(await freePort()) },
        undefined,
        5000,
      ),
    ).rejects.toThrow(/exited 1/);
    expect(handed).toHaveLength(1);
    const missing = await emulate({
      statefulSets: out.objects('StatefulSet'),
      configMaps: out.objects('ConfigMap'),
      passwords: { replication: PASSWORDS.replication, shop: PASSWORDS.shop },
    });
    const weak = await emulate({
      statefulSets: out.objects('StatefulSet'),
      configMaps: out.objects('ConfigMap'),
      passwords: { ...PASSWORDS, blog: 'short pw\n' },
    });
    try {
      for (const [c, message] of [
        [missing, "has no key 'blog'"],
        [weak, "the password of 'blog' may only hold"],
      ] as const) {
        const pod = c.pods.get('redis-cache-0')!;
        pod.start();
        await expect(pod.ready(5000)).rejects.toThrow(/exited 1/);
        expect(pod.log()).toContain(message);
      }
    } finally {
      await missing.stopAll();
      await weak.stopAll();
    }
  });
});

// Two DCs, one cache each (time ×1/60 again): what the platform promises on a DC switch.
const twoDcs = cacheEnvironment('{ windowSeconds: 4, ttlSeconds: 4, maxMemory: 64mb, replication: standalone, replicas: 0 }', { dcs: 2, services: ['shop'] });

describe.runIf(hasRedis)('a user moved to another DC starts a fresh window there (README: "Moving between DCs")', () => {
  const clusters: Cluster[] = [];
  const clients: Redis[] = [];
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const c of clusters) await c.stopAll();
  });

  it('the new DC has nothing of the session until its first write there; the old DC keeps its window until the TTL, then forgets it', async () => {
    const out = await synth(plugin, twoDcs);
    const caches = new Map<string, ReturnType<typeof createSessionCache>>();
    for (const dc of ['d1', 'd2']) {
      const cluster = await startCluster(
        {
          statefulSets: out
            .records('StatefulSet')
            .filter((r) => r.dc === dc)
            .map((r) => r.object),
          configMaps: out
            .records('ConfigMap')
            .filter((r) => r.dc === dc)
            .map((r) => r.object),
          passwords: PASSWORDS,
        },
        ['redis-cache-0'],
      );
      clusters.push(cluster);
      const pod = cluster.pods.get('redis-cache-0')!;
      const data = out.records('ConfigMap').find((r) => r.dc === dc && r.object.metadata.name === 'session-cache')!.object.data as Record<string, string>;
      const settings = settingsFrom({ ...data, SESSION_CACHE_HOST: '127.0.0.1', SESSION_CACHE_PORT: String(pod.port), SESSION_CACHE_PASSWORD: PASSWORDS.shop });
      expect(settings.dataCenter).toBe(dc);
      const redis = connectSessionCache(settings, { lazyConnect: true });
      clients.push(redis);
      caches.set(dc, createSessionCache(redis, settings));
    }
    const [d1, d2] = [caches.get('d1')!, caches.get('d2')!];
    await d1.append('u', { page: '/a' });
    await d1.append('u', { page: '/b' });
    const moved = Date.now(); // the orchestrator moves the user to d2
    expect(await d2.tail('u')).toEqual([]);
    await d2.append('u', { page: '/c' });
    expect((await d2.tail('u')).map((e) => e.fields.page)).toEqual(['/c']);
    expect((await d1.tail('u')).map((e) => e.fields.page)).toEqual(['/a', '/b']);
    await sleep(Math.max(0, moved + 4300 - Date.now()));
    expect(await d1.tail('u')).toEqual([]);
  });
});
