import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import flagger from '../src/index.js';

const plugin = flagger as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];

interface CanarySpec {
  analysis: { interval: string; threshold: number; maxWeight: number; stepWeight: number; metrics: { name: string; thresholdRange: { min?: number; max?: number } }[]; webhooks: { name: string; type: string; metadata: Record<string, string> }[] };
}

describe('flagger canaries', () => {
  it('cover every canary service in every DC where it runs, in both environments, and nothing else', async () => {
    for (const env of [production, staging]) {
      const out = await synth(plugin, env);
      const want = env.services.filter((s) => s.rollout === 'canary').flatMap((s) => s.dataCenters.map((d) => `${s.name}@${d}`)).sort();
      expect(out.records('Canary').map((r) => `${r.service}@${r.dc}`).sort()).toEqual(want);
      expect(want.length).toBeGreaterThan(0);
      expect(out.records('Canary').some((r) => r.service === 'social-network' || r.service === 'warehouse')).toBe(false);
    }
  });

  it('takes the analysis from the canary policy with built-in success-rate and duration checks', async () => {
    const out = await synth(plugin, production);
    const c = out.objects('Canary')[0]!;
    const policy = production.services.find((s) => s.name === c.metadata.name)!.policies.canary!;
    const spec = c.spec as CanarySpec & Record<string, unknown>;
    expect(spec.analysis).toMatchObject({ interval: policy.interval, threshold: policy.threshold, maxWeight: policy.maxWeight, stepWeight: policy.stepWeight });
    expect(spec.analysis.metrics.slice(0, 2)).toEqual([
      { name: 'request-success-rate', interval: '1m', thresholdRange: { min: 99 } },
      { name: 'request-duration', interval: '1m', thresholdRange: { max: 500 } },
    ]);
    expect(spec).toMatchObject({ provider: 'nginx', targetRef: { kind: 'Deployment' }, autoscalerRef: { kind: 'HorizontalPodAutoscaler' }, ingressRef: { kind: 'Ingress' } });
    expect(spec.replicas).toBeUndefined();
  });

  it('runs acceptance and load tests on the test stand, and gates production on what passed staging', async () => {
    const st = (await synth(plugin, staging)).objects('Canary')[0]!;
    const hooks = (st.spec as CanarySpec).analysis.webhooks;
    expect(hooks.map((h) => h.type)).toEqual(['pre-rollout', 'rollout', 'post-rollout']);
    expect(hooks[1]!.metadata.cmd).toMatch(/^hey -z 1m -q 20 -c 2 http:\/\/online-store-canary\.online-store\/$/);
    const pr = (await synth(plugin, production)).objects('Canary').find((c) => c.metadata.name === 'online-store')!;
    const gate = (pr.spec as CanarySpec).analysis.webhooks;
    expect(gate).toEqual([{ name: 'passed-staging', type: 'confirm-promotion', url: 'http://promotion-gate.platform.svc:8080/gate', timeout: '15s', metadata: { requires: 'staging', service: 'online-store', version: production.services.find((s) => s.name === 'online-store')!.version } }]);
  });

  it('notifies canary events through an AlertProvider whose address stays in a Secret', async () => {
    const out = await synth(plugin, production);
    const ap = out.objects('AlertProvider');
    expect(ap).toHaveLength(production.dataCenters.length);
    expect(ap[0]!.spec).toEqual({ type: 'slack', channel: 'deployments', username: 'flagger-production-dc01', secretRef: { name: 'flagger-alerts' } });
    expect(JSON.stringify(ap)).not.toContain('hooks.slack.com');
  });
});

const shared = findSharedDir();
if (!shared) console.warn(SHARED_MISSING);
describe.runIf(shared)('Flagger objects validate against the upstream CRDs', () => {
  it('Canary, MetricTemplate and AlertProvider', async () => {
    const catalog = CrdCatalog.fromDir(join(shared!, 'crds', 'flagger'));
    const objs = [...(await synth(plugin, production)).objects(), ...(await synth(plugin, staging)).objects()];
    expect(new Set(objs.map((o) => o.kind))).toEqual(new Set(['Canary', 'MetricTemplate', 'AlertProvider']));
    expect(objs.flatMap((o) => catalog.validate(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path} ${p.message}`))).toEqual([]);
  });
});
