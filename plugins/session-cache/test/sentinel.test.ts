/**
 * The emitted production shape — 1 primary + 2 replicas + 3 Sentinels — run on 127.0.0.1
 * by the emitted start scripts with the real redis-server and redis-sentinel. The test's
 * copy of sentinel-master.conf keeps down-after-milliseconds (5 s) and shortens failover-timeout
 * to 6 s (emitted: 60 s), the time before a failed failover is retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import { connectSessionCache, createSessionCache, settingsFrom, type SessionCache } from '@topoforge/session-cache';
import { hasRedis, REDIS_MISSING } from '@topoforge/session-cache/testing';
import sessionCache from '../src/index.js';
import { cacheEnvironment, startCluster, type Cluster } from './harness.js';

const plugin = sessionCache as PluginDefinition<never>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORDS = { replication: 'repl-0123456789abcdef', sentinel: 'sent-0123456789abcdef', shop: 'shop-0123456789abcdef', blog: 'blog-0123456789abcdef' };

const env = cacheEnvironment('{ windowSeconds: 120, ttlSeconds: 120, maxMemory: 64mb, replication: sentinel, replicas: 2 }');

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

if (!hasRedis) console.warn(REDIS_MISSING);

describe.runIf(hasRedis)('the emitted Sentinel set-up on real redis-server and redis-sentinel', () => {
  let cluster: Cluster;
  let appData: (service: string) => Record<string, string>;
  const clients: Redis[] = [];
  const REDIS = ['redis-cache-0', 'redis-cache-1', 'redis-cache-2'];
  const SENTINELS = ['redis-cache-sentinel-0', 'redis-cache-sentinel-1', 'redis-cache-sentinel-2'];

  const connect = async (pod: string, username?: string, password?: string): Promise<Redis> => {
    const port = cluster.pods.get(pod)!.port;
    const r = new Redis({
      host: '127.0.0.1',
      port,
      ...(username ? { username, password } : {}),
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => {});
    clients.push(r);
    await r.connect();
    return r;
  };
  /** INFO of a cache pod, read as the replication user (the probes' user). */
  const info = async (pod: string): Promise<string> => {
    const r = await connect(pod, 'replication', PASSWORDS.replication);
    try {
      return await r.info();
    } finally {
      r.disconnect();
    }
  };
  const keys = async (pod: string): Promise<number> => Number(/db0:keys=([0-9]+)/.exec(await info(pod))?.[1] ?? 0);
  const role = async (pod: string): Promise<string> => /role:(\w+)/.exec(await info(pod))![1]!;
  /** The primary's address as every Sentinel names it, when they agree. */
  const sentinelsPrimary = async (): Promise<string | undefined> => {
    const answers = await Promise.all(
      SENTINELS.map(async (s) => {
        const r = await connect(s, 'replication', PASSWORDS.replication);
        try {
          return ((await r.call('SENTINEL', 'get-master-addr-by-name', 'cache')) as string[]).join(':');
        } finally {
          r.disconnect();
        }
      }),
    );
    return new Set(answers).size === 1 ? answers[0] : undefined;
  };
  /** Whether every Sentinel knows both replicas (healthy) and the two other Sentinels. */
  const sentinelsKnowEveryone = async (): Promise<true | undefined> => {
    for (const s of SENTINELS) {
      const r = await connect(s, 'sentinel', PASSWORDS.sentinel);
      try {
        const replicas = (await r.call('SENTINEL', 'replicas', 'cache')) as string[][];
        const flags = replicas.map((kv) => kv[kv.indexOf('flags') + 1]);
        const peers = (await r.call('SENTINEL', 'sentinels', 'cache')) as unknown[];
        if (flags.length !== 2 || flags.some((f) => f !== 'slave') || peers.length !== 2) return undefined;
      } finally {
        r.disconnect();
      }
    }
    return true;
  };
  const appCache = (service: 'shop' | 'blog'): { redis: Redis; cache: SessionCache } => {
    const settings = settingsFrom({ ...appData(service), SESSION_CACHE_PASSWORD: PASSWORDS[service] });
    const redis = connectSessionCache(settings);
    redis.on('error', () => {});
    clients.push(redis);
    return { redis, cache: createSessionCache(redis, settings) };
  };

  /** On a timeout: each pod's replication state and the Sentinels' events, to see why. */
  const diagnose = async (): Promise<void> => {
    for (const p of REDIS)
      console.error(
        `${p} ${cluster.address(p)}:`,
        (await info(p).catch((e: unknown) => String(e)))
          .split('\r\n')
          .filter((l) => /^(role|master_host|master_port|master_link_status|connected_slaves|db0)/.test(l))
          .join(' '),
      );
    for (const p of SENTINELS)
      console.error(
        `${p}:\n` +
          cluster.pods
            .get(p)!
            .log()
            .split('\n')
            .filter((l) => / # /.test(l))
            .slice(-30)
            .join('\n'),
      );
  };
  const waitFor = <T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> =>
    until(what, ms, probe).catch(async (e: unknown) => {
      await diagnose();
      throw e;
    });

  beforeAll(async () => {
    const out = await synth(plugin, env);
    // Both StatefulSets start their pods in parallel, as podManagementPolicy Parallel does.
    cluster = await startCluster(
      {
        statefulSets: out.objects('StatefulSet'),
        configMaps: out.objects('ConfigMap'),
        passwords: PASSWORDS,
        overrides: ['sentinel failover-timeout cache 6000'],
      },
      [...SENTINELS, ...REDIS],
    );
    appData = (service) => {
      const cm = out.records('ConfigMap').find((r) => r.object.metadata.name === 'session-cache' && r.service === service)!;
      return Object.fromEntries(Object.entries(cm.object.data as Record<string, string>).map(([k, v]) => [k, cluster.rewrite(v)]));
    };
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stopAll();
  });

  it('comes up with pod 0 as the primary, the others replicating it, and the Sentinels agreeing', async () => {
    await waitFor('pod 0 to say it starts as the primary', 5_000, async () =>
      cluster.pods.get('redis-cache-0')!.log().includes('starting as the primary') ? true : undefined,
    );
    expect(await role('redis-cache-0')).toBe('master');
    expect(await waitFor('two replicas', 15_000, async () => ((await info('redis-cache-0')).includes('connected_slaves:2') ? true : undefined))).toBe(true);
    for (const p of ['redis-cache-1', 'redis-cache-2']) expect(await role(p)).toBe('slave');
    expect(await waitFor('the Sentinels to agree', 10_000, sentinelsPrimary)).toBe(cluster.address('redis-cache-0'));
    // Sentinels find replicas in the primary's INFO, every 10 s.
    expect(await waitFor('the Sentinels to know both replicas and each other', 30_000, sentinelsKnowEveryone)).toBe(true);
  });

  it('the Sentinels refuse unauthenticated clients and let an app only find the primary', async () => {
    const anonymous = await connect('redis-cache-sentinel-0');
    await expect(anonymous.call('SENTINEL', 'get-master-addr-by-name', 'cache')).rejects.toThrow(/NOAUTH/);
    const shop = await connect('redis-cache-sentinel-0', 'shop', PASSWORDS.shop);
    expect(await shop.call('SENTINEL', 'get-master-addr-by-name', 'cache')).toEqual(cluster.address('redis-cache-0').split(':'));
    await expect(shop.call('SENTINEL', 'failover', 'cache')).rejects.toThrow(/NOPERM/);
    await expect(shop.call('SENTINEL', 'set', 'cache', 'down-after-milliseconds', '1')).rejects.toThrow(/NOPERM/);
    await expect(shop.call('SENTINEL', 'remove', 'cache')).rejects.toThrow(/NOPERM/);
    const primary = await connect('redis-cache-0', 'shop', PASSWORDS.shop);
    await expect(primary.call('REPLICAOF', 'NO', 'ONE')).rejects.toThrow(/NOPERM/);
    await expect(primary.call('XADD', 'session:blog:x', '*', 'a', 'b')).rejects.toThrow(/NOPERM/);
    const repl = await connect('redis-cache-0', 'replication', PASSWORDS.replication);
    await expect(repl.call('XRANGE', 'session:shop:x', '-', '+')).rejects.toThrow(/NOPERM/);
  });

  it('kill -9 of the primary while sessions are written: a replica is promoted, the library keeps writing, nothing written before is lost, and the primary restarted empty wipes no replica', async () => {
    const { cache } = appCache('shop');
    // 100 sessions, 3 events each, replicated to both replicas before the kill.
    for (let s = 0; s < 100; s++) for (let e = 0; e < 3; e++) await cache.append(`s${s}`, { e: String(e) });
    await waitFor('both replicas to hold the 100 sessions', 15_000, async () =>
      (await keys('redis-cache-1')) >= 100 && (await keys('redis-cache-2')) >= 100 ? true : undefined,
    );

    // A failover needs Sentinels that have seen the replicas (in the primary's INFO, every 10 s).
    await waitFor('the Sentinels to know both replicas and each other', 30_000, sentinelsKnowEveryone);

    // A writer that keeps appending, as an app under load does.
    let stop = false;
    const acked: { session: string; id: string; t: number }[] = [];
    const errors: string[] = [];
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const session = `w${i % 10}`;
        try {
          acked.push({ session, id: await cache.append(session, { i: String(i) }), t: Date.now() });
        } catch (err) {
          errors.push(String(err));
        }
        await sleep(25);
      }
    })();
    await waitFor('the writer to get going', 5_000, async () => (acked.length >= 20 ? true : undefined));

    const primary = cluster.pods.get('redis-cache-0')!;
    primary.kill9();
    const killedAt = Date.now();
    // The kubelet restarts the container at once: well within down-after-milliseconds, and
    // the pod comes back with nothing (no persistence).
    await sleep(200);
    primary.start();

    const promoted = await waitFor('a promoted replica', 30_000, async () => {
      const p = await sentinelsPrimary();
      return p && p !== cluster.address('redis-cache-0') ? p : undefined;
    });
    const promotedAt = Date.now();
    expect([cluster.address('redis-cache-1'), cluster.address('redis-cache-2')]).toContain(promoted);
    await primary.ready(30_000);
    // The old primary never came back as the primary: it waited for the failover and joined the new one.
    expect(primary.log()).toContain('waiting for the Sentinels to promote a replica');
    expect(primary.log()).not.toContain('starting as the primary');
    // It joined the replica a Sentinel named first (during a failover that can briefly be
    // another one; the Sentinels then point it at the promoted one).
    const joined = /starting as a replica of (\S+)/.exec(primary.log())?.[1];
    expect([cluster.address('redis-cache-1'), cluster.address('redis-cache-2')]).toContain(joined);
    expect(await role('redis-cache-0')).toBe('slave');

    await waitFor('writes through the new primary', 20_000, async () => (acked.filter((a) => a.t > promotedAt).length >= 20 ? true : undefined));
    stop = true;
    await writer;
    const newPrimary = REDIS.find((p) => cluster.address(p) === promoted)!;
    expect(await role(newPrimary)).toBe('master');

    // Sessions written before the kill: all readable, whole.
    for (let s = 0; s < 100; s++)
      expect(
        (await cache.tail(`s${s}`)).map((e) => e.fields.e),
        `session s${s}`,
      ).toEqual(['0', '1', '2']);
    // Every write acknowledged after the promotion is readable.
    const stored = new Set<string>();
    for (let w = 0; w < 10; w++) for (const e of await cache.tail(`w${w}`)) stored.add(`w${w}/${e.id}`);
    const afterPromotion = acked.filter((a) => a.t > promotedAt);
    expect(afterPromotion.filter((a) => !stored.has(`${a.session}/${a.id}`))).toEqual([]);
    // No replica lost its data — the restarted one resynced from the new primary.
    await waitFor('all three pods to hold the sessions', 20_000, async () => {
      const counts = await Promise.all(REDIS.map(keys));
      return counts.every((n) => n >= 110) ? counts : undefined;
    });
    const two = await waitFor('two replicas of the new primary', 30_000, async () =>
      (await info(newPrimary)).includes('connected_slaves:2') ? true : undefined,
    );
    expect(two).toBe(true);
    expect(await info('redis-cache-0')).toContain(`master_port:${promoted.split(':')[1]}`);
    const lostBeforeKill = acked.filter((a) => a.t <= killedAt && !stored.has(`${a.session}/${a.id}`)).length;
    console.log(
      `failover: promoted ${promoted} ${promotedAt - killedAt} ms after kill -9; ${acked.length} appends acknowledged (${afterPromotion.length} after the promotion), ${errors.length} failed, ${lostBeforeKill} acknowledged in the last moment before the kill and not replicated`,
    );
  });

  it('a planned failover (SENTINEL FAILOVER) is followed by the library without a failed append', async () => {
    const { cache } = appCache('blog');
    const before = await waitFor('the Sentinels to agree', 10_000, sentinelsPrimary);
    await waitFor('the Sentinels to know both replicas and each other', 30_000, sentinelsKnowEveryone);
    for (let i = 0; i < 5; i++) await cache.append('planned', { i: String(i) });
    const admin = await connect('redis-cache-sentinel-1', 'sentinel', PASSWORDS.sentinel);
    expect(await admin.call('SENTINEL', 'failover', 'cache')).toBe('OK');
    // Keep appending through the switch, and 20 more once the Sentinels agree on the new primary.
    let n = 5;
    let after: string | undefined;
    const end = Date.now() + 30_000;
    for (let extra = 0; extra < 20 && Date.now() < end; n++) {
      await cache.append('planned', { i: String(n) });
      await sleep(50);
      if (after) extra++;
      else if (n % 5 === 0) {
        const p = await sentinelsPrimary().catch(() => undefined);
        if (p && p !== before) after = p;
      }
    }
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect((await cache.tail('planned')).map((e) => e.fields.i)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  });

  it('control: the same restart WITHOUT the Sentinel check (the former start command: always the primary) wipes the replicas', async () => {
    const current = await waitFor('the Sentinels to agree', 10_000, sentinelsPrimary);
    const primaryPod = REDIS.find((p) => cluster.address(p) === current)!;
    const replicas = REDIS.filter((p) => p !== primaryPod);
    await waitFor('the replicas to hold the sessions', 20_000, async () => ((await Promise.all(replicas.map(keys))).every((n) => n >= 100) ? true : undefined));
    const pod = cluster.pods.get(primaryPod)!;
    pod.kill9();
    await sleep(200);
    // No Sentinels to ask, no peers to look at, and itself as the initial primary: it starts as the primary, empty.
    pod.start({ CACHE_SENTINELS: '', CACHE_PEERS: '', CACHE_INITIAL_PRIMARY: cluster.address(primaryPod) });
    await pod.ready(15_000);
    expect(pod.log()).toContain('starting as the primary');
    // Within down-after-milliseconds the Sentinels see nothing wrong; the replicas resync from the empty primary.
    const after = await waitFor('the replicas to resync from the empty primary', 20_000, async () => {
      const counts = await Promise.all(replicas.map(keys));
      return counts.every((n) => n === 0) ? counts : undefined;
    });
    expect(after).toEqual([0, 0]);
    expect(await sentinelsPrimary()).toBe(current);
  });
});
