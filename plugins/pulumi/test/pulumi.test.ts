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
  n1: { region: north, rotation: 1, cluster: { context: ctx-n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
  s1: { region: south, rotation: 2, cluster: { context: ctx-s1 }, backupStorage: { provider: aws, bucket: s1-backups } }
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
      ctx.object(
        { dc: dc.name },
        {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'widgets.example.com' },
          spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions: [] },
        },
      );
      ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'platform', namespace: 'kube-system' }, data: { dc: dc.name } });
      for (const name of dc.services) {
        const s = ctx.env.services.find((x) => x.name === name)!;
        ctx.object(
          { dc: dc.name },
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name, namespace: s.namespace },
            spec: {
              selector: { matchLabels: { app: name } },
              template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${s.image}:${s.version}` }] } },
            },
          },
          { service: name },
        );
        ctx.object(
          { dc: dc.name },
          { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: s.namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }] } },
          { service: name },
        );
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
  }, 300_000); // tsc over @pulumi/kubernetes' types takes a while on a busy 2-core machine

  it('lists every manifest in manifests.tsv, one per line, and pins npm ci with a lockfile for exactly these versions', () => {
    const lines = rendered
      .text('pulumi/manifests.tsv')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    const manifests = rendered.emitted.filter((e): e is EmittedObject => e.type === 'object' && e.dc !== undefined);
    expect(lines.map((l) => l.split('\t')[3]).sort()).toEqual(manifests.map((m) => m.path).sort());
    for (const l of lines) expect(l.length).toBeLessThan(200);
    expect(
      rendered
        .text('pulumi/index.ts')
        .split('\n')
        .every((l) => l.length <= 160),
    ).toBe(true);
    const lock = JSON.parse(rendered.text('pulumi/package-lock.json'));
    const pkg = JSON.parse(rendered.text('pulumi/package.json'));
    expect(lock.name).toBe('topoforge-stage1');
    expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
    expect(lock.packages[''].devDependencies).toEqual(pkg.devDependencies);
    expect(lock.packages['node_modules/@pulumi/pulumi'].version).toBe('3.248.0');
    expect(lock.packages['node_modules/@pulumi/kubernetes'].version).toBe('4.34.2');
  });

  it('under Pulumi mocks: one provider per DC, a yaml/v2 ConfigGroup per DC and tier in recovery order, unique URNs, every dependsOn registered', () => {
    const r = spawnSync(
      process.execPath,
      [join(here, 'mock-harness.cjs'), join(envDir, 'pulumi', 'bin', 'index.js'), 'topoforge-stage1', 'stage1', JSON.stringify({ n1: 'ctx-n1', s1: 'ctx-s1' })],
      { encoding: 'utf8', timeout: 240_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const graph = JSON.parse(r.stdout) as {
      resources: { type: string; name: string; provider: string | null; inputs: { files?: string[]; resourcePrefix?: string } }[];
      registrations: { urn: string; type: string; name: string; dependsOn: string[]; provider: string }[];
      children: { group: string; file: string; kind: string; urn: string }[];
      applyOrder: Record<string, Record<string, string[]>>;
      objectsPerService: Record<string, Record<string, number>>;
    };
    const providers = graph.resources.filter((x) => x.type === 'pulumi:providers:kubernetes');
    expect(providers.map((p) => p.name).sort()).toEqual(['n1', 's1']);
    // the engine refuses a duplicate URN: none among what the program and the provider register
    const urns = [...graph.registrations.map((x) => x.urn), ...graph.children.map((c) => c.urn)];
    expect(urns.length).toBeGreaterThan(0);
    expect(urns.filter((u, i) => urns.indexOf(u) !== i)).toEqual([]);
    // every dependsOn target is a registered resource
    const registered = new Set(graph.registrations.map((x) => x.urn));
    for (const x of graph.registrations) for (const d of x.dependsOn) expect(registered.has(d), `${x.name} depends on unregistered ${d}`).toBe(true);
    // each manifest exactly once, in a group of its own DC through that DC's provider
    const manifests = rendered.emitted.filter((e): e is EmittedObject => e.type === 'object' && e.dc !== undefined);
    const groups = graph.resources.filter((x) => x.type === 'kubernetes:yaml/v2:ConfigGroup');
    const placed = groups.flatMap((g) =>
      g.inputs.files!.map((f) => ({ group: g.name, prefix: g.inputs.resourcePrefix, provider: g.provider, path: f.replace(/^\.\.\//, '') })),
    );
    expect(placed.map((p) => p.path).sort()).toEqual(manifests.map((m) => m.path).sort());
    for (const p of placed) {
      const m = manifests.find((x) => x.path === p.path)!;
      expect(p.group.startsWith(`${m.dc}-`), p.path).toBe(true);
      expect(p.prefix).toBe(m.dc);
      expect(p.provider, p.path).toContain(`::${m.dc}::`);
    }
    // dependsOn: each group waits for its DC's previous tier, registered as such
    const tierRank = (g: string) =>
      ['crds', 'cluster', 'platform', 'priority-1', 'priority-2', 'priority-3', 'priority-4'].indexOf(g.replace(/^[a-z0-9]+-/, ''));
    for (const [dc, deps] of Object.entries(graph.applyOrder)) {
      const names = Object.keys(deps);
      expect(names.map(tierRank)).toEqual([...names.map(tierRank)].sort((a, b) => a - b));
      names.forEach((n, i) => expect(deps[n], `${dc}: ${n}`).toEqual(i === 0 ? [] : [names[i - 1]]));
      for (const n of names) {
        const reg = graph.registrations.find((x) => x.name === n)!;
        const want = deps[n]!.map((d) => graph.registrations.find((x) => x.name === d)!.urn);
        expect(reg.dependsOn).toEqual(want);
      }
    }
    expect(Object.keys(graph.applyOrder.n1!)).toEqual(['n1-crds', 'n1-cluster', 'n1-platform', 'n1-priority-1', 'n1-priority-3', 'n1-priority-4']);
    expect(graph.objectsPerService.n1).toEqual({ platform: 2, shop: 3, social: 3, stock: 3 }); // platform: the CRD and the shared ConfigMap
  }, 300_000);
});
