/**
 * Flagger's own review rules (contract v2 `review`): a removed or loosened Canary is flagged
 * by the plugin that writes Canaries. Checked on the Canaries it emits for the bundled
 * production environment, edited the way a policy change would edit them.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, loadEnvironments, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import flagger, { canaryLoosened, canaryRemoved, review } from '../src/index.js';

const plugin = flagger as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
/** The gate reads the staging ledger, so production renders with its test stand. */
const canaries = async () => (await synth(plugin, production, {}, [staging])).objects('Canary');
const ctx = { environment: 'production', where: 'dc01', tier: () => undefined };

type Analysis = Record<string, unknown> & { metrics?: { name: string; thresholdRange?: { min?: number; max?: number } }[] };
const analysisOf = (o: KubeObject) => (o.spec as { analysis: Analysis }).analysis;
const withAnalysis = (o: KubeObject, change: (a: Analysis) => Analysis | undefined): KubeObject => {
  const spec = { ...(o.spec as Record<string, unknown>) };
  const next = change({ ...analysisOf(o) });
  if (next === undefined) delete spec.analysis;
  else spec.analysis = next;
  return { ...o, spec };
};

describe("flagger's review rules", () => {
  it('are the plugin contribution diff runs, with severity and why', () => {
    expect(plugin.review).toBe(review);
    expect(review).toEqual([canaryRemoved, canaryLoosened]);
    expect(canaryRemoved).toMatchObject({
      id: 'canary-removed',
      title: 'Canary removed',
      severity: 'medium',
      kinds: [{ group: 'flagger.app', kind: 'Canary' }],
    });
    expect(canaryLoosened).toMatchObject({ id: 'canary-loosened', title: 'Canary loosened', severity: 'low' });
  });

  it('flags a Canary no longer rendered; not a new or unchanged one', async () => {
    const canary = (await canaries())[0]!;
    expect(canaryRemoved.compare(canary, undefined, ctx)).toEqual(['the Canary no longer exists: changes roll out without analysis']);
    expect(canaryRemoved.compare(undefined, canary, ctx)).toEqual([]);
    expect(canaryRemoved.compare(canary, canary, ctx)).toEqual([]);
    expect(canaryLoosened.compare(canary, undefined, ctx)).toEqual([]);
    expect(canaryLoosened.compare(canary, canary, ctx)).toEqual([]);
  });

  it('flags every looser analysis field, one line each; a stricter one is no risk', async () => {
    const canary = (await canaries())[0]!;
    const a = analysisOf(canary);
    const threshold = a.threshold as number;
    const maxWeight = a.maxWeight as number;
    expect(
      canaryLoosened.compare(
        canary,
        withAnalysis(canary, (x) => ({ ...x, threshold: threshold + 5, maxWeight: maxWeight + 10 })),
        ctx,
      ),
    ).toEqual([
      `analysis.threshold ${threshold} → ${threshold + 5} (more failed checks tolerated before rollback)`,
      `analysis.maxWeight ${maxWeight} → ${maxWeight + 10} (more traffic on the canary)`,
    ]);
    expect(
      canaryLoosened.compare(
        canary,
        withAnalysis(canary, (x) => ({ ...x, threshold: threshold - 1 })),
        ctx,
      ),
    ).toEqual([]);
    expect(
      canaryLoosened.compare(
        canary,
        withAnalysis(canary, () => undefined),
        ctx,
      ),
    ).toEqual(['spec.analysis removed']);
    const metric = a.metrics![0]!;
    expect(
      canaryLoosened.compare(
        canary,
        withAnalysis(canary, (x) => ({ ...x, metrics: x.metrics!.filter((m) => m.name !== metric.name) })),
        ctx,
      ),
    ).toEqual([`metric ${metric.name} removed from the analysis`]);
    expect(canaryLoosened.compare(canary, { ...canary, spec: { ...(canary.spec as object), skipAnalysis: true } }, ctx)).toEqual([
      'spec.skipAnalysis turned on: promotion without analysis',
    ]);
  });
});
