import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { environmentFromYaml, synth } from '@topoforge/plugin-sdk/testing';
import type { KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import { settingsFrom } from '@topoforge/session-cache';
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
      SESSION_CACHE_USERNAME: 'online-store',
      SESSION_CACHE_DC: 'dc03',
      SESSION_CACHE_SENTINEL_MASTER: 'last-4-minutes',
      SESSION_CACHE_SENTINELS: [0, 1, 2]
        .map((i) => `redis-last-4-minutes-sentinel-${i}.redis-last-4-minutes-sentinel.session-cache.svc.cluster.local:26379`)
        .join(','),
    });
    // the password comes from the service's own Secret, never from the ConfigMap
    expect(settingsFrom({ ...(store.object.data as Record<string, string>), SESSION_CACHE_PASSWORD: 'from-the-secret' })).toMatchObject({
      windowSeconds: 240,
      ttlSeconds: 240,
      username: 'online-store',
      sentinel: { masterName: 'last-4-minutes', hosts: [{ port: 26379 }, { port: 26379 }, { port: 26379 }] },
    });
  });

  it('admits only the services that use the cache, and keeps each one to its own key prefix', async () => {
    const out = await synth(plugin, production);
    const inDc = (kind: string, name: string) =>
      out.records(kind).find((r) => r.dc === 'dc03' && r.object.metadata.name === name)!.object as KubeObject & {
        spec: Record<string, unknown>;
        data: Record<string, string>;
      };
    const users = production.services.filter((s) => s.policies.sessionCache && s.dataCenters.includes('dc03'));
    const np = inDc('NetworkPolicy', 'redis-last-4-minutes');
    expect(np.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis-last-4-minutes' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: users.map((s) => s.namespace).sort() }] } },
            { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis-last-4-minutes' } } },
            { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis-sentinel', 'app.kubernetes.io/instance': 'redis-last-4-minutes-sentinel' } } },
          ],
          ports: [{ protocol: 'TCP', port: 6379 }],
        },
      ],
    });
    expect((inDc('NetworkPolicy', 'redis-last-4-minutes-sentinel').spec.ingress as { ports: unknown }[])[0]!.ports).toEqual([{ protocol: 'TCP', port: 26379 }]);
    const acl = inDc('ConfigMap', 'redis-last-4-minutes-config').data['users.acl']!;
    expect(acl).toContain('user default off');
    for (const s of users)
      expect(acl).toContain(`user ${s.name} on resetkeys ~session:${s.name}:* resetchannels -@all +xadd +xrange +expire +multi +exec +ping +info\n`);
    expect(acl).not.toContain('telemetry'); // a service without the policy has no user
    const conf = inDc('ConfigMap', 'redis-last-4-minutes-config').data['redis.conf']!;
    expect(conf).toContain('protected-mode yes');
    expect(conf).not.toContain('protected-mode no');
    const sentinelConf = inDc('ConfigMap', 'redis-last-4-minutes-sentinel-config').data['sentinel.conf']!;
    expect(sentinelConf).toContain('protected-mode yes');
    expect(inDc('ConfigMap', 'redis-last-4-minutes-sentinel-config').data['sentinel-users.acl']).toContain('user default off');
  });

  it('runs the pods apart, probed, with a disruption budget and memory above maxmemory, passwords by Secret reference only', async () => {
    const out = await synth(plugin, production);
    const sts = out.records('StatefulSet').find((r) => r.dc === 'dc03' && r.object.metadata.name === 'redis-last-4-minutes')!.object as KubeObject & {
      spec: { template: { spec: Record<string, unknown> } };
    };
    const pod = sts.spec.template.spec as { affinity: unknown; containers: Record<string, unknown>[]; volumes: Record<string, unknown>[] };
    expect(pod.affinity).toEqual({
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {
            labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis-last-4-minutes' } },
            topologyKey: 'kubernetes.io/hostname',
          },
        ],
      },
    });
    const c = pod.containers[0]!;
    for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe'])
      expect(c[p]).toMatchObject({ exec: { command: ['sh', '-c', expect.stringContaining('--user replication')] } });
    // maxmemory 2gb = 2048 MiB; the container gets half again for buffers, the resync fork and fragmentation
    expect(c.resources).toEqual({ requests: { cpu: '250m', memory: '3072Mi' }, limits: { memory: '3072Mi' } });
    expect(pod.volumes).toContainEqual({ name: 'users', secret: { secretName: 'redis-last-4-minutes-users', defaultMode: 0o440 } });
    expect(
      out
        .records('PodDisruptionBudget')
        .filter((r) => r.dc === 'dc03')
        .map((r) => [r.object.metadata.name, r.object.spec])
        .sort(),
    ).toEqual([
      [
        'redis-last-4-minutes',
        { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis-last-4-minutes' } } },
      ],
      [
        'redis-last-4-minutes-sentinel',
        {
          maxUnavailable: 1,
          selector: { matchLabels: { 'app.kubernetes.io/name': 'redis-sentinel', 'app.kubernetes.io/instance': 'redis-last-4-minutes-sentinel' } },
        },
      ],
    ]);
    expect(out.records('Secret')).toEqual([]);
    for (const text of [...out.files.values()].map((f) => f.content)) expect(text).not.toMatch(/requirepass|masterauth [^$]|auth-pass [^$]|user \S+ on .*>/);
  });

  it("refuses a service named like one of the cache's own users", async () => {
    const env = environmentFromYaml(SHORT.replace('web:', 'replication:'));
    await expect(synth(plugin, env)).rejects.toThrow(/service name replication is a reserved session-cache ACL user/);
  });
});

const SHORT = `
kind: Environment
name: t
stage: staging
regions: { r: { timeZone: UTC, businessUnits: [] } }
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b-backups } }
policies:
  sessionCache:
    short: { windowSeconds: 2, ttlSeconds: 2, maxMemory: 64mb, replication: standalone, replicas: 0 }
services:
  web: { kind: front-application, image: r/web, version: "1.0.0", policies: { sessionCache: short } }
`;
const short = environmentFromYaml(SHORT);

if (!hasRedis) console.warn(REDIS_MISSING);

describe.runIf(hasRedis)('the emitted settings on a real redis-server', () => {
  let server: RunningRedis;
  let redis: Redis;
  let dir: string;
  beforeAll(async () => {
    const out = await synth(plugin, short);
    dir = mkdtempSync(join(tmpdir(), 'topoforge-sc-'));
    writeFileSync(join(dir, 'redis.conf'), out.text('clusters/d1/session-cache/redis-short.conf'));
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
});
