import { describe, expect, it } from 'vitest';
import { environmentFromYaml, synth, synthErrors, threeRegionTopology } from '@topoforge/plugin-sdk/testing';
import plugin from '../src/index.js';

const env = (policy: string) =>
  environmentFromYaml(`kind: Environment
name: t
stage: staging
regions: { r: { timeZone: UTC, businessUnits: [] } }
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b-backups } }
policies:
  sessionCache:
    short: ${policy}
services:
  web: { kind: front-application, image: r/web, version: "1.0.0", policies: { sessionCache: short } }
`);

describe("the sessionCache policy group is this plugin's (contract v2 policies + check)", () => {
  it("validates each policy against the plugin's schema, at the field, with the plugin named", async () => {
    const errors = await synthErrors(plugin, env('{ windowSeconds: 2, ttlSeconds: 2, maxMemory: 64MB, replication: standalone, replicas: 0, extra: 1 }'));
    expect(errors).toEqual([
      expect.stringMatching(
        /^environment\.yaml:9:\d+: error TOPOLOGY_UNKNOWN_KEY: \[plugin session-cache\] unknown key "extra" \(field policies\.sessionCache\.short\.extra\)/,
      ),
      expect.stringMatching(
        /^environment\.yaml:9:\d+: error TOPOLOGY_INVALID_VALUE: \[plugin session-cache\] policies\.sessionCache\.short\.maxMemory must match pattern .*\(got "64MB"\)/,
      ),
    ]);
  });

  it('the cross-field rule runs in check, before render, at the field to change', async () => {
    const errors = await synthErrors(plugin, env('{ windowSeconds: 2, ttlSeconds: 2, maxMemory: 64mb, replication: sentinel, replicas: 0 }'));
    expect(errors).toEqual([
      'environment.yaml:9:97: error PLUGIN_VALIDATION_FAILED: [plugin session-cache] sentinel replication needs at least one replica (field policies.sessionCache.short.replicas)\n    hint: set replicas: 1 or more, or replication: standalone',
    ]);
  });
  it('refuses a Sentinel StatefulSet name over 52 characters at the policy key, and accepts exactly 52 (moved from the model)', async () => {
    const topology = (n: string) =>
      threeRegionTopology(
        `policies:\n  sessionCache:\n    ${n}: { windowSeconds: 60, ttlSeconds: 60, maxMemory: 64mb, replication: sentinel, replicas: 1 }\n`,
      ).replace('social: { kind: social-network,', `social: { kind: social-network, policies: { sessionCache: ${n} },`);
    const tooLong = 'p' + 'x'.repeat(37); // redis-<38>-sentinel = 53
    expect(await synthErrors(plugin, environmentFromYaml(topology(tooLong)))).toEqual([
      `environment.yaml:18:5: error TOPOLOGY_NAME_TOO_LONG: [plugin session-cache] "redis-${tooLong}-sentinel" (Sentinel StatefulSet (plugins/session-cache)) has 53 characters; Kubernetes allows 52 (field policies.sessionCache.${tooLong})\n    hint: shorten the name by at least 1 characters`,
    ]);
    await expect(synth(plugin, environmentFromYaml(topology('p' + 'x'.repeat(36))))).resolves.toBeDefined();
  });
});
