import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { environmentFromYaml, synth, synthErrors } from '@topoforge/plugin-sdk/testing';
import type { KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import trafficAlerts, { priorityClassName } from '@topoforge/plugin-traffic-alerts';
import sessionCache from '@topoforge/plugin-session-cache';
import workloads from '../src/index.js';

const plugins = [trafficAlerts, sessionCache, workloads] as unknown as PluginDefinition<never>[];
const envDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const loaded = loadEnvironments(envDir);
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];

interface Container {
  name: string;
  image: string;
  envFrom?: { configMapRef: { name: string } }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string } };
  startupProbe: { failureThreshold: number; periodSeconds: number };
}
interface PodSpec {
  priorityClassName: string;
  containers: Container[];
  topologySpreadConstraints: { topologyKey: string }[];
}
const spec = (o: KubeObject) => o['spec'] as Record<string, unknown> & { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };

describe('workloads of the bundled environments', () => {
  it('emits a Deployment for every service in every DC where it runs, from image:version, without replicas', async () => {
    const out = await synth(plugins, production);
    const deployments = out.records('Deployment').filter((r) => r.plugin === 'workloads');
    const expected = production.dataCenters.flatMap((dc) => dc.services.map((s) => `${dc.name}/${s}`));
    expect(deployments.map((r) => `${r.dc}/${r.object.metadata.name}`).sort()).toEqual(expected.sort());
    for (const r of deployments) {
      const s = production.services.find((x) => x.name === r.service)!;
      const sp = spec(r.object);
      expect(sp).not.toHaveProperty('replicas');
      expect(r.object.metadata.namespace).toBe(s.namespace);
      expect(sp.template.spec.containers[0]!.image).toBe(`${s.image}:${s.version}`);
      expect(r.path).toBe(`clusters/${r.dc}/workloads/${s.namespace}/deployment-${s.name}.yaml`);
    }
  });

  it('references the recovery PriorityClass of each service, which traffic-alerts emits in the same DC', async () => {
    const out = await synth(plugins, production);
    const classes = new Set(out.records('PriorityClass').map((r) => `${r.dc}/${r.object.metadata.name}`));
    for (const r of out.records('Deployment').filter((r) => r.plugin === 'workloads')) {
      const s = production.services.find((x) => x.name === r.service)!;
      const pc = spec(r.object).template.spec.priorityClassName;
      expect(pc).toBe(priorityClassName(s.recoveryPriority));
      expect(classes.has(`${r.dc}/${pc}`), `${r.dc}/${pc}`).toBe(true);
    }
    // The social network outranks the warehouse.
    const pcOf = (name: string) => spec(out.objects('Deployment').find((o) => o.metadata.name === name)!).template.spec.priorityClassName;
    expect(pcOf('social-network')).toBe('topoforge-recovery-p1');
    expect(pcOf('warehouse')).toBe('topoforge-recovery-p4');
  });

  it('leaves the Service of canary rollouts to Flagger and emits it for the others', async () => {
    const out = await synth(plugins, production);
    const services = new Set(
      out
        .records('Service')
        .filter((r) => r.dc === 'dc01')
        .map((r) => r.object.metadata.name),
    );
    for (const s of production.services.filter((x) => x.dataCenters.includes('dc01'))) {
      expect(services.has(s.name), s.name).toBe(s.rollout !== 'canary');
    }
  });

  it('exposes client-facing services through an Ingress whose host comes from the model, per environment', async () => {
    const prod = await synth(plugins, production);
    const stage = await synth(plugins, staging);
    const hosts = (out: Awaited<ReturnType<typeof synth>>, dc: string) =>
      Object.fromEntries(
        out
          .records('Ingress')
          .filter((r) => r.dc === dc)
          .map((r) => [r.object.metadata.name, (r.object['spec'] as { rules: { host: string }[] }).rules[0]!.host]),
      );
    expect(hosts(prod, 'dc01')['online-store']).toBe('online-store.commerce.example.com');
    expect(hosts(stage, 'stg01')['online-store']).toBe('online-store.staging.commerce.example.com');
    // Regional back offices are internal.
    expect(hosts(prod, 'dc01')).not.toHaveProperty('warehouse');
    // k8gb fails over exactly these Ingresses.
    const gslbs = prod
      .records('Gslb')
      .filter((r) => r.dc === 'dc01')
      .map((r) => r.object.metadata.name)
      .sort();
    expect(Object.keys(hosts(prod, 'dc01')).sort()).toEqual(gslbs);
  });

  it('feeds the session-cache ConfigMap to every service with a session cache, in the namespace where session-cache writes it', async () => {
    const out = await synth(plugins, production);
    const configMaps = new Set(
      out
        .records('ConfigMap')
        .filter((r) => r.object.metadata.name === 'session-cache')
        .map((r) => `${r.dc}/${r.object.metadata.namespace}`),
    );
    for (const r of out.records('Deployment').filter((r) => r.plugin === 'workloads')) {
      const s = production.services.find((x) => x.name === r.service)!;
      const envFrom = spec(r.object).template.spec.containers[0]!.envFrom?.map((e) => e.configMapRef.name) ?? [];
      expect(envFrom.includes('session-cache'), s.name).toBe(s.policies.sessionCache !== undefined);
      if (envFrom.includes('session-cache')) expect(configMaps.has(`${r.dc}/${s.namespace}`)).toBe(true);
      // the cache user's password only as a Secret reference, exactly where a cache is used
      const env = (spec(r.object).template.spec.containers[0] as { env?: { name: string; value?: string; valueFrom?: unknown }[] }).env ?? [];
      const password = env.find((e) => e.name === 'SESSION_CACHE_PASSWORD');
      expect(password !== undefined, s.name).toBe(s.policies.sessionCache !== undefined);
      if (password) {
        expect(password.value).toBeUndefined();
        expect(password.valueFrom).toEqual({ secretKeyRef: { name: 'session-cache', key: 'password' } });
      }
    }
  });

  it('keeps Flagger-managed pods under their PodDisruptionBudget (the primary), autoscales, probes and spreads across zones', async () => {
    const out = await synth(plugins, production);
    const pdb = (name: string) =>
      (out.objects('PodDisruptionBudget').find((o) => o.metadata.name === name)!['spec'] as { selector: { matchLabels: Record<string, string> } }).selector
        .matchLabels;
    expect(pdb('online-store')).toEqual({ 'app.kubernetes.io/name': 'online-store-primary' });
    expect(pdb('warehouse')).toEqual({ 'app.kubernetes.io/name': 'warehouse' });
    const hpa = out.objects('HorizontalPodAutoscaler').find((o) => o.metadata.name === 'online-store')!['spec'] as {
      minReplicas: number;
      maxReplicas: number;
      scaleTargetRef: { name: string };
    };
    expect(hpa).toMatchObject({ minReplicas: 3, maxReplicas: 20, scaleTargetRef: { name: 'online-store' } });
    const d = spec(out.objects('Deployment').find((o) => o.metadata.name === 'warehouse')!).template.spec;
    expect(d.topologySpreadConstraints.map((t) => t.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    const c = d.containers[0]!;
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    // Warehouse starts slowly: 120 s before liveness counts.
    expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBe(120);
  });

  it('labels pods with topoforge.io/* but not with the version, so a bump changes only the image', async () => {
    const out = await synth(plugins, production);
    const r = out
      .records('Deployment')
      .filter((r) => r.plugin === 'workloads')
      .find((x) => x.dc === 'dc03' && x.service === 'online-store')!;
    expect(spec(r.object).template.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'online-store',
      'topoforge.io/environment': 'production',
      'topoforge.io/dc': 'dc03',
      'topoforge.io/service': 'online-store',
      'topoforge.io/tier': 'client-facing',
      'topoforge.io/recovery-priority': '3',
    });
    expect(r.object.metadata.labels).toMatchObject({
      'topoforge.io/service': 'online-store',
      'topoforge.io/dc': 'dc03',
      'topoforge.io/environment': 'production',
    });
  });
});

const inline = (service: string, extra = '') =>
  environmentFromYaml(`
kind: Environment
name: live
stage: production
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [] }
  south: { timeZone: Europe/Rome, businessUnits: [] }
dataCenters:
  a1: { region: north, rotation: 1, cluster: { context: a1 }, backupStorage: { provider: aws, bucket: b1-backups } }
  b1: { region: south, rotation: 2, cluster: { context: b1 }, backupStorage: { provider: aws, bucket: b2-backups } }
policies:
  sessionCache:
    short: { windowSeconds: 60, ttlSeconds: 60, maxMemory: 64mb, replication: standalone, replicas: 0 }
services:
  ${service}
plugins:
  traffic-alerts: { options: { orchestrator: { webhookUrl: "http://o.platform:8080/" } } }
${extra}`);

describe('what a team says in the model', () => {
  it('takes host, replicas, resources, probes and extra ConfigMaps from services.<name>.workload', async () => {
    const env = inline(
      `shop: { kind: online-store, image: r/shop, version: "2.1.0", port: 9000, policies: { sessionCache: short }, workload: { host: shop.example.org, replicas: { min: 4, max: 7 }, resources: { requests: { cpu: 300m }, limits: { memory: 2Gi } }, envFrom: [shop-flags], probes: { readiness: /ready, startupSeconds: 30 } } }`,
    );
    const out = await synth(plugins, env);
    const d = out.records('Deployment').filter((r) => r.plugin === 'workloads')[0]!.object;
    const c = spec(d).template.spec.containers[0]! as Container & { ports: { containerPort: number }[] };
    expect(c.ports[0]!.containerPort).toBe(9000);
    expect(c.envFrom!.map((e) => e.configMapRef.name)).toEqual(['session-cache', 'shop-flags']);
    expect(c.resources).toEqual({ requests: { cpu: '300m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } });
    expect(c.readinessProbe.httpGet.path).toBe('/ready');
    expect(c.startupProbe.failureThreshold).toBe(6);
    expect((out.objects('Ingress')[0]!['spec'] as { rules: { host: string }[] }).rules[0]!.host).toBe('shop.example.org');
    expect(out.objects('HorizontalPodAutoscaler')[0]!['spec']).toMatchObject({ minReplicas: 4, maxReplicas: 7 });
  });

  it('refuses the session-cache ConfigMap for a service without a session cache, and a request above its limit, with positions', async () => {
    const env = inline(
      `shop: { kind: online-store, image: r/shop, version: "2.1.0", workload: { envFrom: [session-cache], resources: { requests: { memory: 4Gi } } } }`,
    );
    const errors = await synthErrors(plugins, env, { 'traffic-alerts': { orchestrator: { webhookUrl: 'http://o.platform:8080/' } } });
    expect(errors.join('\n')).toMatch(
      /environment\.yaml:\d+:\d+: error PLUGIN_VALIDATION_FAILED: \[plugin workloads\] shop reads ConfigMap session-cache, which exists only for services with a sessionCache policy \(field services\.shop\.workload\.envFrom\.0\)/,
    );
    expect(errors.join('\n')).toMatch(
      /environment\.yaml:\d+:\d+: error PLUGIN_VALIDATION_FAILED: \[plugin workloads\] shop requests 4Gi memory but is limited to 1Gi \(field services\.shop\.workload\.resources\.requests\.memory\)/,
    );
  });

  it('refuses to reference PriorityClasses nobody emits', async () => {
    const env = inline(`shop: { kind: online-store, image: r/shop, version: "2.1.0" }`);
    const errors = await synthErrors([workloads as unknown as PluginDefinition<never>], env);
    expect(errors.join('\n')).toContain('shop in a1 needs PriorityClass topoforge-recovery-p3, which no plugin emits');
  });

  it('changes exactly the image line of each DC when the version is bumped', async () => {
    const before = await synth(plugins, inline(`shop: { kind: online-store, image: r/shop, version: "2.1.0", policies: { sessionCache: short } }`));
    const after = await synth(plugins, inline(`shop: { kind: online-store, image: r/shop, version: "2.2.0", policies: { sessionCache: short } }`));
    const changed = [...after.files.keys()].filter((p) => before.files.get(p)?.content !== after.files.get(p)!.content);
    expect(changed.sort()).toEqual(['clusters/a1/workloads/shop/deployment-shop.yaml', 'clusters/b1/workloads/shop/deployment-shop.yaml']);
    for (const p of changed) {
      const a = before.text(p).split('\n');
      const b = after.text(p).split('\n');
      const lines = b.flatMap((l, i) => (l !== a[i] ? [[a[i], l]] : []));
      expect(lines).toEqual([['          image: r/shop:2.1.0', '          image: r/shop:2.2.0']]);
      expect((parse(after.text(p)) as KubeObject).kind).toBe('Deployment');
    }
  });
});
