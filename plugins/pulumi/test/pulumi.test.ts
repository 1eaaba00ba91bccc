import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { environmentFromYaml, synth } from '@topoforge/plugin-sdk/testing';
import { definePlugin, Type, type PluginDefinition, type EmittedObject } from '@topoforge/plugin-sdk';
import pulumiPlugin from '../src/index.js';
import namespaces from '@topoforge/plugin-namespaces';

const here = dirname(fileURLToPath(import.meta.url));
// Inside the package so the program resolves the workspace's one copy of @pulumi/* (no network).
const outRoot = join(here, '..', '.test-output');
mkdirSync(outRoot, { recursive: true });
const work = mkdtempSync(join(outRoot, 'run-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

const env = environmentFromYaml(`
kind: Environment
name: stage1
stage: staging
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [warehouses] }
  south: { timeZone: Europe/Rome, businessUnits: [] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: ctx-n1 }, backupStorage: { provider: aws, bucket: n1 } }
  s1: { region: south, rotation: 2, cluster: { context: ctx-s1 }, backupStorage: { provider: aws, bucket: s1 } }
services:
  social: { kind: social-network, image: r/social, version: "1.0.0" }
  shop: { kind: online-store, image: r/shop, version: "1.0.0" }
  stock: { kind: warehouse, image: r/stock, version: "1.0.0" }
`);

/** Emits, per DC: a CRD, a shared platform ConfigMap, and a Deployment + Service per service. */
const workloads = definePlugin({
  name: 'workloads',
  description: 'test workloads',
  options: Type.Object({}),
  render(ctx) {
    for (const dc of ctx.env.dataCenters) {
      ctx.object({ dc: dc.name }, { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions: [] } });
      ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'platform', namespace: 'kube-system' }, data: { dc: dc.name } });
      for (const name of dc.services) {
        const s = ctx.env.services.find((x) => x.name === name)!;
        ctx.object({ dc: dc.name }, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: s.namespace }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${s.image}:${s.version}` }] } } } }, { service: name });
        ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: s.namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }] } }, { service: name });
      }
    }
  },
});

const plugins = [namespaces, workloads, pulumiPlugin] as PluginDefinition<never>[];
let rendered: Awaited<ReturnType<typeof synth>>;
const envDir = join(work, 'stage1');

beforeAll(async () => {
  rendered = await synth(plugins, env);
  for (const [path, f] of rendered.files) {
    mkdirSync(dirname(join(envDir, path)), { recursive: true });
    writeFileSync(join(envDir, path), f.content);
  }
});

describe('the emitted Pulumi project', () => {
  it('has the project, stack config with a kube context per DC and no secret, pinned package.json and tsconfig', () => {
    expect(rendered.text('pulumi/Pulumi.yaml')).toContain('name: topoforge-stage1\nruntime:\n  name: nodejs');
    expect(rendered.text('pulumi/Pulumi.stage1.yaml')).toContain('config:\n  topoforge-stage1:kubeContexts:\n    n1: "ctx-n1"\n    s1: "ctx-s1"\n');
    const pkg = JSON.parse(rendered.text('pulumi/package.json'));
    expect(pkg.dependencies).toEqual({ '@pulumi/kubernetes': '4.34.2', '@pulumi/pulumi': '3.248.0' });
    for (const v of [...Object.values(pkg.dependencies), ...Object.values(pkg.devDependencies)] as string[]) expect(v).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('type-checks and compiles with tsc against the real @pulumi/pulumi and @pulumi/kubernetes types', () => {
    const r = spawnSync(process.execPath, [tsc, '-p', join(envDir, 'pulumi', 'tsconfig.json')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('under Pulumi mocks: one provider per DC, every manifest once with its DC provider, dependsOn in recovery order', () => {
    const r = spawnSync(process.execPath, [join(here, 'mock-harness.cjs'), join(envDir, 'pulumi', 'bin', 'index.js'), 'topoforge-stage1', 'stage1', JSON.stringify({ n1: 'ctx-n1', s1: 'ctx-s1' })], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const graph = JSON.parse(r.stdout) as {
      resources: { type: string; name: string; provider: string | null; kind?: string; objName?: string }[];
      applyOrder: Record<string, Record<string, string[]>>;
      objectsPerService: Record<string, Record<string, number>>;
    };
    const providers = graph.resources.filter((x) => x.type === 'pulumi:providers:kubernetes');
    expect(providers.map((p) => p.name).sort()).toEqual(['n1', 's1']);
    const manifests = rendered.emitted.filter((e): e is EmittedObject => e.type === 'object' && e.dc !== undefined);
    const files = graph.resources.filter((x) => x.type === 'kubernetes:yaml:ConfigFile');
    expect(files.map((f) => f.name).sort()).toEqual(manifests.map((m) => `${m.dc}/${m.path}`).sort());
    // each manifest's object, created once, through its DC's provider
    for (const dc of ['n1', 's1']) {
      const mine = manifests.filter((m) => m.dc === dc);
      const children = graph.resources.filter((x) => x.kind && x.provider?.includes(`::${dc}::`) );
      expect(children.map((c) => `${c.kind}/${c.objName}`).sort()).toEqual(mine.map((m) => `${m.object.kind}/${m.object.metadata.name}`).sort());
    }
    // dependsOn: CRDs, then namespaces, then platform, then each recovery priority
    const tierOf = (name: string) => {
      const m = manifests.find((x) => `${x.dc}/${x.path}` === name)!;
      if (m.object.kind === 'CustomResourceDefinition') return 0;
      if (m.object.kind === 'Namespace') return 1;
      if (!m.service) return 2;
      return 2 + env.services.find((s) => s.name === m.service)!.recoveryPriority;
    };
    for (const [dc, deps] of Object.entries(graph.applyOrder)) {
      for (const [name, on] of Object.entries(deps)) {
        const t = tierOf(name);
        const present = [...new Set(Object.keys(deps).map(tierOf))].sort((a, b) => a - b);
        const previous = present.filter((x) => x < t).pop();
        expect(on.map(tierOf).every((x) => x === previous), `${dc}: ${name} waits for ${on.join(', ')}`).toBe(true);
        if (previous !== undefined) expect(on.length).toBe(Object.keys(deps).filter((n) => tierOf(n) === previous).length);
        else expect(on).toEqual([]);
      }
    }
    // social network (priority 1) before the store (3) before the warehouse (4)
    const n1 = graph.applyOrder.n1!;
    expect(n1['n1/clusters/n1/workloads/shop/deployment-shop.yaml']).toEqual(expect.arrayContaining(['n1/clusters/n1/workloads/social/deployment-social.yaml']));
    expect(n1['n1/clusters/n1/workloads/stock/deployment-stock.yaml']).toEqual(expect.arrayContaining(['n1/clusters/n1/workloads/shop/service-shop.yaml']));
    expect(graph.objectsPerService.n1).toEqual({ platform: 2, shop: 3, social: 3, stock: 3 }); // platform: the CRD and the shared ConfigMap
  });
});
