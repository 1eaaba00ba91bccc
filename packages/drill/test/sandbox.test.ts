import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadEnvironments } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import trafficAlerts from '@topoforge/plugin-traffic-alerts';
import { kubectlSync, startSandbox, stopSandbox, toolsAvailable, type SandboxState } from '@topoforge/sandbox';
import { findSharedDir } from '@topoforge/crd-validate';
import { runDrill, SCENARIOS_DIR, which } from '../src/index.js';

const environmentsDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const shared = findSharedDir();
const ready = toolsAvailable() && shared !== undefined && which(['promtool']) !== undefined && which(['alertmanager', 'prometheus-alertmanager']) !== undefined;
if (!ready) console.warn('sandbox drill skipped: needs kube-apiserver/etcd/kubectl (`pnpm run setup:tools`), ../shared (CRDs), promtool and alertmanager');

describe.runIf(ready)('drill --sandbox: the orchestrator patches the Gslbs in the sandbox clusters', () => {
  let dir: string | undefined;
  let state: SandboxState | undefined;
  afterAll(async () => {
    if (!dir) return;
    await stopSandbox(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("one DC loses its traffic: stg01 weight 0 in every cluster's Gslb of every service, stg02 untouched", async () => {
    const loaded = loadEnvironments(environmentsDir);
    if (!loaded.ok) throw new Error('model');
    const env = loaded.value.find((e) => e.name === 'staging')!;
    dir = mkdtempSync(join(tmpdir(), 'topoforge-drill-sandbox-'));
    state = await startSandbox({
      dir,
      clusters: env.dataCenters.map((d) => ({ name: d.name, context: d.cluster.context })),
      crdDirs: [join(shared!, 'crds', 'k8gb')],
    });
    // What `kubectl apply` of the rendered output creates: the services' namespaces and Gslbs.
    const out = await synth(
      trafficAlerts as PluginDefinition<never>,
      env,
      env.plugins.find((p) => p.name === 'traffic-alerts')!.options as Record<string, unknown>,
    );
    for (const dc of env.dataCenters) {
      const gslbs = out
        .records('Gslb')
        .filter((r) => r.dc === dc.name)
        .map((r) => r.object);
      const namespaces = [...new Set(gslbs.map((g) => g.metadata.namespace!))].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
      for (const docs of [namespaces, gslbs]) {
        const r = kubectlSync(state, dc.cluster.context, ['apply', '-f', '-'], docs.map((d) => `---\n${stringify(d)}`).join(''));
        expect(r.code, r.err).toBe(0);
      }
    }
    const r = await runDrill({ environmentsDir, env: 'staging', scenarioFile: join(SCENARIOS_DIR, 'one-dc-loses-traffic.yaml'), kubeconfig: state.kubeconfig });
    expect(r.mode).toBe('sandbox');
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    for (const dc of env.dataCenters) {
      for (const s of ['social-network', 'telemetry', 'online-store', 'social-web', 'storefront-web']) {
        const ns = env.services.find((x) => x.name === s)!.namespace;
        const got = kubectlSync(state, dc.cluster.context, ['get', 'gslb', s, '-n', ns, '-o', 'json']);
        expect(got.code, got.err).toBe(0);
        const gslb = JSON.parse(got.out) as { spec: { strategy: { type: string; weight: Record<string, number> } } };
        expect(gslb.spec.strategy, `${dc.name} ${s}`).toEqual({ type: 'roundRobin', dnsTtlSeconds: 30, weight: { stg01: 0, stg02: 10 } });
      }
    }
  }, 3_600_000);
});
