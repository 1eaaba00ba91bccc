import { describe, expect, it } from 'vitest';
import { loadEnvironment, formatDiagnostic } from '@topoforge/model';
import { runPlugins, type PluginDefinition } from '@topoforge/plugin-sdk';
import { syntheticEnvironment } from '../src/generate.js';
import { syntheticPlugin } from '../src/plugin.js';

describe('synthetic topology generator', () => {
  it('produces a valid environment whose object count follows the scale', async () => {
    const text = syntheticEnvironment({ dcs: 6, regions: 3, services: 12 });
    const r = loadEnvironment('s.yaml', { cwd: '/', readFile: () => text });
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    expect(r.value.dataCenters).toHaveLength(6);
    const placements = r.value.services.reduce((n, s) => n + s.dataCenters.length, 0);
    const out = await runPlugins(r.value, [
      { definition: syntheticPlugin(3) as PluginDefinition<never>, use: { name: 'synthetic', package: 'bench', options: {} } },
    ]);
    expect(out.ok && out.value.emitted.length).toBe(placements * 3);
  });
});
