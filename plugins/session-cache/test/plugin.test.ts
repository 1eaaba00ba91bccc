import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { environmentFromYaml, synth } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import { createSessionCache, settingsFrom } from '@topoforge/session-cache';
import sessionCache from '../src/index.js';
import { hasRedis, REDIS_MISSING, startRedis, type RunningRedis } from '@topoforge/session-cache/testing';

const plugin = sessionCache as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];

describe('session-cache plugin on the bundled environments', () => {
  it('emits one cache per DC that runs client-facing services with a session-cache policy', async () => {
    const out = await synth(plugin, production);
    const redis = out.records('StatefulSet').filter((r) => r.object.metadata.name === 'redis-last-4-minutes');
    expect(redis.map((r) => r.dc)).toEqual(production.dataCenters.map((d) => d.name));
    expect((redis[0]!.object.spec as { replicas: number }).replicas).toBe(3); // primary + 2 replicas in production
    expect(out.records('StatefulSet').filter((r) => r.object.metadata.name.endsWith('-sentinel'))).toHaveLength(10);
    const st = await synth(plugin, staging);
    expect(st.records('StatefulSet').map((r) => [r.dc, r.object.metadata.name, (r.object.spec as { replicas: number }).replicas])).toEqual([
      ['stg01', 'redis-last-4-minutes', 1],
      ['stg02', 'redis-last-4-minutes', 1],
    ]);
  });

  it('gives every app the window, TTL, key prefix and its DC endpoint; none to services without the policy', async () => {
    const out = await synth(plugin, production);
    const cms = out.records('ConfigMap').filter((r) => r.object.metadata.name === 'session-cache');
    const users = production.services.filter((s) => s.policies.sessionCache);
    expect(cms).toHaveLength(users.reduce((n, s) => n + s.dataCenters.length, 0));
    expect(new Set(cms.map((r) => r.service))).toEqual(new Set(users.map((s) => s.name)));
    const store = cms.find((r) => r.service === 'online-store' && r.dc === 'dc03')!;
    expect(store.object.metadata.namespace).toBe('online-store');
    expect(store.object.data).toEqual({
      SESSION_CACHE_WINDOW_SECONDS: '240',
      SESSION_CACHE_TTL_SECONDS: '240',
      SESSION_CACHE_KEY_PREFIX: 'session:online-store:',
      SESSION_CACHE_HOST: 'redis-last-4-minutes.session-cache.svc.cluster.local',
      SESSION_CACHE_PORT: '6379',
      SESSION_CACHE_SENTINEL_MASTER: 'last-4-minutes',
      SESSION_CACHE_SENTINELS: 'redis-last-4-minutes-sentinel.session-cache.svc.cluster.local:26379',
    });
    expect(settingsFrom(store.object.data as Record<string, string>)).toMatchObject({ windowSeconds: 240, ttlSeconds: 240, sentinel: { masterName: 'last-4-minutes' } });
  });
});

const short = environmentFromYaml(`
kind: Environment
name: t
stage: staging
regions: { r: { timeZone: UTC, businessUnits: [] } }
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b } }
policies:
  sessionCache:
    short: { windowSeconds: 2, ttlSeconds: 2, maxMemory: 64mb, replication: standalone, replicas: 0 }
services:
  web: { kind: front-application, image: r/web, version: "1.0.0", policies: { sessionCache: short } }
`);

if (!hasRedis) console.warn(REDIS_MISSING);

describe.runIf(hasRedis)('the emitted settings on a real redis-server', () => {
  let server: RunningRedis;
  let redis: Redis;
  let dir: string;
  let appSettings: Record<string, string>;
  beforeAll(async () => {
    const out = await synth(plugin, short);
    dir = mkdtempSync(join(tmpdir(), 'topoforge-sc-'));
    writeFileSync(join(dir, 'redis.conf'), out.text('clusters/d1/session-cache/redis-short.conf'));
    appSettings = out.records('ConfigMap').find((r) => r.object.metadata.name === 'session-cache')!.object.data as Record<string, string>;
    server = await startRedis([join(dir, 'redis.conf')]);
    redis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts Redis as a pure cache: no AOF, no RDB saves, the memory limit and volatile-ttl eviction', async () => {
    const get = async (k: string) => (await redis.config('GET', k)) as string[];
    expect(await get('appendonly')).toEqual(['appendonly', 'no']);
    expect(await get('save')).toEqual(['save', '']);
    expect(await get('maxmemory')).toEqual(['maxmemory', String(64 * 1024 * 1024)]);
    expect(await get('maxmemory-policy')).toEqual(['maxmemory-policy', 'volatile-ttl']);
  });

  it('the library, configured from the emitted ConfigMap, keeps exactly the window and forgets after the TTL', async () => {
    const cache = createSessionCache(redis, settingsFrom(appSettings));
    await cache.append('s1', { page: '/old' });
    await new Promise((r) => setTimeout(r, 1200));
    await cache.append('s1', { page: '/new' });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await cache.tail('s1')).map((e) => e.fields.page)).toEqual(['/new']);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await redis.exists('session:web:s1')).toBe(0);
  });
});
