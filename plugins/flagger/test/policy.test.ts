/**
 * The `canary` policy group is this plugin's (contract v2 `policies` + `check`): its schema
 * and rules moved here from the model with their messages, codes and positions.
 */
import { describe, expect, it } from 'vitest';
import { environmentFromYaml, synthDiagnostics, synthErrors, threeRegionTopology } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import flagger from '../src/index.js';

const plugin = flagger as PluginDefinition<never>;

// The model's own test topology, from the harness.
const valid = (extra = '') => threeRegionTopology(extra);

describe("the canary policy group is flagger's", () => {
  it('rejects a canary rollout without a canary policy, at the rollout', async () => {
    const errors = await synthDiagnostics(
      plugin,
      environmentFromYaml(valid().replace('social: { kind: social-network,', 'social: { kind: social-network, rollout: canary,')),
    );
    const hit = errors.find((e) => e.code === 'TOPOLOGY_MISSING_FIELD');
    expect(hit).toBeDefined();
    expect(hit!.field).toBe('services.social.rollout');
    expect(hit!.message).toBe('service "social" rolls out by canary but names no canary policy');
    expect(hit!.position?.file).toBe('environment.yaml');
    expect(hit!.position!.line).toBeGreaterThan(0);
  });

  it('rejects a step bigger than the maximum weight, at stepWeight, under the code the model used', async () => {
    const errors = await synthDiagnostics(
      plugin,
      environmentFromYaml(
        valid('policies:\n  canary:\n    c: { interval: 1m, threshold: 5, maxWeight: 20, stepWeight: 30, successRateMin: 99, durationMaxMs: 500 }\n'),
      ),
    );
    expect(errors.map((e) => [e.code, e.field, e.message, e.hint, e.position?.line])).toEqual([
      [
        'TOPOLOGY_INVALID_VALUE',
        'policies.canary.c.stepWeight',
        'stepWeight 30 exceeds maxWeight 20',
        'the canary would jump past its maximum weight in one step',
        18,
      ],
    ]);
  });

  it("validates each policy against the plugin's schema, with the plugin named", async () => {
    const errors = await synthDiagnostics(
      plugin,
      environmentFromYaml(
        valid('policies:\n  canary:\n    c: { interval: 1h, threshold: 5, maxWeight: 20, stepWeight: 10, successRateMin: 99, durationMaxMs: 500 }\n'),
      ),
    );
    expect(errors.map((e) => [e.code, e.plugin, e.field])).toEqual([['TOPOLOGY_INVALID_VALUE', 'flagger', 'policies.canary.c.interval']]);
  });
  it('refuses a canary service whose Flagger primary name exceeds 63 characters, at the service key (moved from the model)', async () => {
    const name = 's' + 'x'.repeat(56);
    const text = valid(
      'policies:\n  canary:\n    c: { interval: 1m, threshold: 5, maxWeight: 50, stepWeight: 10, successRateMin: 99, durationMaxMs: 500 }\n',
    ).replace('  social: {', `  ${name}: { rollout: canary, policies: { canary: c },`);
    expect(await synthErrors(plugin, environmentFromYaml(text))).toEqual([
      `environment.yaml:13:3: error TOPOLOGY_NAME_TOO_LONG: [plugin flagger] "${name}-primary" (Flagger primary Deployment and its selector label (plugins/flagger)) has 65 characters; Kubernetes allows 63 (field services.${name})\n    hint: shorten the name by at least 2 characters`,
    ]);
  });
});
