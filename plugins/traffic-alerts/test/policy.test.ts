/**
 * The `trafficDrop` policy group is this plugin's (contract v2 `policies`): its schema moved
 * here from the model; a wrong policy is reported with the same code, message, field and
 * position (now naming the plugin).
 */
import { describe, expect, it } from 'vitest';
import { environmentFromYaml, synth, synthErrors, threeRegionTopology } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import trafficAlerts, { trafficDropPolicies, trafficDropPolicyOf } from '../src/index.js';

const plugin = trafficAlerts as PluginDefinition<never>;
const options = { orchestrator: { webhookUrl: 'http://orchestrator.monitoring.svc:8080/alerts' } };

const policy = (fields: string) => `policies:
  trafficDrop:
    client: { ${fields} }
`;
const GOOD = 'dropRatio: 0.5, minRequestsPerSecond: 5, rateWindow: 5m, for: 5m, severity: critical';
const topology = (fields: string) =>
  threeRegionTopology(policy(fields)).replace('social: { kind: social-network,', 'social: { kind: social-network, policies: { trafficDrop: client },');

describe("the trafficDrop policy group is traffic-alerts'", () => {
  it('reads the policy a service names through trafficDropPolicyOf', async () => {
    const env = environmentFromYaml(topology(GOOD));
    expect(trafficDropPolicyOf(env.services.find((s) => s.name === 'social')!)).toMatchObject({ name: 'client', dropRatio: 0.5, for: '5m' });
    expect(trafficDropPolicyOf(env.services.find((s) => s.name === 'stock')!)).toBeUndefined();
    expect(trafficDropPolicies(env).map((p) => p.name)).toEqual(['client']);
    const out = await synth(plugin, env, options);
    expect(out.objects('PrometheusRule').map((o) => o.metadata.name)).toContain('traffic-drop-social');
  });

  it("validates each policy against the plugin's schema: the model's messages, codes and positions, with the plugin named", async () => {
    const wrong = topology(GOOD.replace('dropRatio: 0.5', 'dropRatio: 1.5').replace('for: 5m', 'for: soon'));
    expect(await synthErrors(plugin, environmentFromYaml(wrong), options)).toEqual([
      'environment.yaml:18:26: error TOPOLOGY_INVALID_VALUE: [plugin traffic-alerts] policies.trafficDrop.client.dropRatio must be < 1 (got 1.5) (field policies.trafficDrop.client.dropRatio)\n    hint: expected fire when traffic falls below this share of the same time last week',
      'environment.yaml:18:77: error TOPOLOGY_INVALID_VALUE: [plugin traffic-alerts] policies.trafficDrop.client.for must match pattern "^([0-9]+(ms|s|m|h))+$" (got "soon") (field policies.trafficDrop.client.for)\n    hint: expected how long the condition must hold before the alert fires',
    ]);
    const typo = topology(GOOD.replace(', severity: critical', ', sevrity: critical'));
    expect(await synthErrors(plugin, environmentFromYaml(typo), options)).toEqual([
      'environment.yaml:18:81: error TOPOLOGY_UNKNOWN_KEY: [plugin traffic-alerts] unknown key "sevrity" (field policies.trafficDrop.client.sevrity)\n    hint: did you mean "severity"?',
    ]);
  });
});
