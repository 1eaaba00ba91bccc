import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import {
  collectCrds,
  kubectlSync,
  liveProcesses,
  PREREQUISITE_NAMESPACES,
  requireTool,
  SandboxError,
  startSandbox,
  stopSandbox,
  toolsAvailable,
  type SandboxState,
} from '../src/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'topoforge-sandbox-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('collectCrds', () => {
  it('finds CRDs in files and in `kubectl get crd -o yaml` lists, strips server-set fields, and names file and line of bad YAML', () => {
    const d = join(work, 'crds');
    mkdirSync(join(d, 'sub'), { recursive: true });
    const crd = (name: string) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name, uid: 'x', resourceVersion: '1', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: {},
      status: { conditions: [] },
    });
    writeFileSync(join(d, 'a.yaml'), JSON.stringify(crd('widgets.example.com')));
    writeFileSync(
      join(d, 'sub', 'list.yaml'),
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [crd('gadgets.example.com'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }] }),
    );
    writeFileSync(join(d, 'notes.txt'), 'not yaml: [');
    const found = collectCrds([d]);
    expect(found.map((c) => c.name)).toEqual(['gadgets.example.com', 'widgets.example.com']);
    expect(found[0]!.object).toEqual({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.com' },
      spec: {},
    });
    writeFileSync(join(d, 'bad.yaml'), 'kind: CustomResourceDefinition\nmetadata:\n  name: [unclosed\n');
    try {
      collectCrds([d]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SandboxError);
      expect((e as SandboxError).code).toBe('SANDBOX_CRD_INVALID');
      expect((e as SandboxError).message).toMatch(/bad\.yaml:\d+: /);
    }
  });
});

describe('finding the binaries', () => {
  it('says how to get them when they are missing', () => {
    const empty = join(work, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const saved = { PATH: process.env.PATH, KUBEBUILDER_ASSETS: process.env.KUBEBUILDER_ASSETS, TOPOFORGE_TOOLS_BIN: process.env.TOPOFORGE_TOOLS_BIN };
    process.env.PATH = empty;
    process.env.TOPOFORGE_TOOLS_BIN = empty;
    delete process.env.KUBEBUILDER_ASSETS;
    try {
      expect(() => requireTool('kube-apiserver')).toThrow(/kube-apiserver not found in \$KUBEBUILDER_ASSETS/);
      try {
        requireTool('kube-apiserver');
      } catch (e) {
        expect((e as SandboxError).code).toBe('SANDBOX_TOOL_MISSING');
        expect((e as SandboxError).hint).toContain('pnpm run setup:tools');
      }
      // KUBEBUILDER_ASSETS comes first
      writeFileSync(join(empty, 'kubectl'), '#!/bin/sh\n', { mode: 0o755 });
      process.env.KUBEBUILDER_ASSETS = empty;
      expect(requireTool('kubectl')).toBe(join(empty, 'kubectl'));
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

const shared = findSharedDir(here);
if (!shared) console.warn(SHARED_MISSING);

const clusterTools = toolsAvailable();
if (!clusterTools) console.warn('sandbox.test.ts: real kube-apiserver suite not run: cluster tools not built (TOPOFORGE_CLUSTER_TOOLS=1 pnpm run setup:tools)');

describe.runIf(shared && clusterTools)('a two-DC sandbox on real kube-apiservers', () => {
  const dir = join(work, 'sb');
  let state: SandboxState;
  // A port another process holds: handed out once for etcd's peer listener and once for the west
  // API server, as if someone bound them between the sandbox's choosing and the server's bind.
  const taken = createServer();
  let takenPort = 0;
  const handedOut: string[] = [];
  const lines: string[] = [];
  beforeAll(async () => {
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    takenPort = (taken.address() as AddressInfo).port;
    const poisoned = new Set(['etcd peer', 'kube-apiserver of west']);
    state = await startSandbox({
      dir,
      clusters: [
        { name: 'east', context: 'ctx-east' },
        { name: 'west', context: 'ctx-west' },
      ],
      crdDirs: [join(shared!, 'crds')],
      log: (l) => lines.push(l),
      choosePort: async (listener) => {
        handedOut.push(listener);
        if (poisoned.delete(listener)) return takenPort;
        return new Promise<number>((r) => {
          const s = createServer().listen(0, '127.0.0.1', () => {
            const port = (s.address() as AddressInfo).port;
            s.close(() => r(port));
          });
        });
      },
    });
  }, 600_000);
  afterAll(async () => {
    taken.close();
    if (existsSync(join(dir, 'sandbox.json'))) await stopSandbox(dir);
  }, 120_000);

  it('starts a server again on new ports when a port it was given was taken before it could bind', () => {
    // Each poisoned listener was asked for twice: the taken port, then a free one.
    expect(handedOut.filter((l) => l === 'etcd peer')).toHaveLength(2);
    expect(handedOut.filter((l) => l === 'etcd client')).toHaveLength(2);
    expect(handedOut.filter((l) => l === 'kube-apiserver of west')).toHaveLength(2);
    expect(handedOut.filter((l) => l === 'kube-apiserver of east')).toHaveLength(1);
    const retries = lines.filter((l) => l.includes('was taken before it could bind'));
    expect(retries).toHaveLength(2);
    expect(retries.find((l) => l.startsWith('etcd:'))).toContain(String(takenPort));
    expect(retries.find((l) => l.startsWith('kube-apiserver of west:'))).toContain(`(${takenPort})`);
    // What was really refused, in the servers' own logs.
    expect(readFileSync(join(dir, 'logs', 'etcd.log'), 'utf8')).toContain(`127.0.0.1:${takenPort}: bind: address already in use`);
    expect(readFileSync(join(dir, 'logs', 'west-kube-apiserver.log'), 'utf8')).toContain(`127.0.0.1:${takenPort}: bind: address already in use`);
    // And what runs does not use it.
    expect(state.etcd.url).not.toContain(`:${takenPort}`);
    for (const c of state.clusters) expect(c.server).not.toBe(`https://127.0.0.1:${takenPort}`);
  });

  it('writes a kubeconfig with one context per DC, named as given, token auth, loopback servers', () => {
    const kc = parse(readFileSync(state.kubeconfig, 'utf8')) as {
      contexts: { name: string }[];
      clusters: { cluster: { server: string } }[];
      users: { user: { token?: string } }[];
    };
    expect(kc.contexts.map((c) => c.name)).toEqual(['ctx-east', 'ctx-west']);
    for (const c of kc.clusters) expect(c.cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(kc.users[0]!.user.token).toMatch(/^[0-9a-f]{48}$/);
    for (const ctx of ['ctx-east', 'ctx-west']) {
      const r = kubectlSync(state, ctx, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe('topoforge-sandbox-admin');
    }
  });

  it('installs every CRD of ../shared/crds, Established, and the prerequisite namespaces, in each cluster', () => {
    const want = collectCrds([join(shared!, 'crds')]).map((c) => c.name);
    expect(want.length).toBeGreaterThan(5);
    for (const ctx of ['ctx-east', 'ctx-west']) {
      const r = kubectlSync(state, ctx, [
        'get',
        'crd',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}',
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out.trim().split('\n').sort()).toEqual(want.map((n) => `${n}=True`).sort());
      const ns = kubectlSync(state, ctx, ['get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}']);
      for (const n of PREREQUISITE_NAMESPACES) expect(ns.out.split(' ')).toContain(n);
    }
  });

  it('keeps each DC apart: an object created in one API server is not in the other', () => {
    const cm = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'only-east', namespace: 'default' }, data: { a: 'b' } });
    expect(kubectlSync(state, 'ctx-east', ['apply', '--server-side', '-f', '-'], cm).code).toBe(0);
    expect(kubectlSync(state, 'ctx-east', ['get', 'configmap', 'only-east']).code).toBe(0);
    const west = kubectlSync(state, 'ctx-west', ['get', 'configmap', 'only-east']);
    expect(west.code).not.toBe(0);
    expect(west.err).toContain('NotFound');
  });

  it('finishes deleting a Namespace (its namespace controller runs), as a real cluster does', async () => {
    expect(kubectlSync(state, 'ctx-west', ['create', 'namespace', 'short-lived']).code).toBe(0);
    expect(kubectlSync(state, 'ctx-west', ['create', 'configmap', 'x', '-n', 'short-lived']).code).toBe(0);
    const r = kubectlSync(state, 'ctx-west', ['delete', 'namespace', 'short-lived', '--wait=true', '--timeout=120s']);
    expect(r.code, r.err).toBe(0);
    expect(kubectlSync(state, 'ctx-west', ['get', 'namespace', 'short-lived']).code).not.toBe(0);
  }, 180_000);

  it('refuses a second up on a live directory, naming the PIDs', async () => {
    await expect(startSandbox({ dir, clusters: [{ name: 'east', context: 'ctx-east' }] })).rejects.toMatchObject({ code: 'SANDBOX_RUNNING' });
    expect(liveProcesses(dir).length).toBe(1 + 2 * 2);
  });

  it('down stops exactly the recorded PIDs and removes the state', async () => {
    const pids = liveProcesses(dir).map((p) => p.pid);
    const r = await stopSandbox(dir);
    expect(r.stopped.sort()).toEqual(pids.sort());
    for (const pid of pids) expect(spawnSync('kill', ['-0', String(pid)]).status).not.toBe(0);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);
});
