import { describe, expect, it } from 'vitest';
import { formatDiagnostic, type Environment } from '@topoforge/model';
import { env } from './environment.js';
import { definePlugin, Type, type PluginDefinition } from '@topoforge/plugin-contract';
import { runPlugins, type LoadedPlugin } from '../src/index.js';

const ENV = (policies: string) => `kind: Environment
name: t
stage: staging
regions: { r: { timeZone: UTC, businessUnits: [] } }
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b-backups } }
policies:
${policies}
services:
  web: { kind: front-application, image: r/web, version: "1.0.0" }
`;
const owner = (name: string, group: string) =>
  definePlugin({
    name,
    description: 'owns a group',
    options: Type.Object({}),
    policies: { [group]: Type.Object({ size: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }) },
    render() {},
  }) as PluginDefinition<never>;
const load = (...ps: PluginDefinition<never>[]): LoadedPlugin[] =>
  ps.map((definition) => ({ definition, use: { name: definition.name, package: definition.name, options: {} } }));
const errors = async (e: Environment, ps: LoadedPlugin[]) => {
  const r = await runPlugins(e, ps);
  return r.ok ? [] : r.diagnostics.map(formatDiagnostic);
};

describe('policy groups in the host', () => {
  it("validates each policy of a group against its owner's schema, with position and plugin", async () => {
    expect(await errors(env(ENV('  quota:\n    small: { size: 0 }')), load(owner('quotas', 'quota')))).toEqual([
      'e.yaml:9:20: error TOPOLOGY_INVALID_VALUE: [plugin quotas] policies.quota.small.size must be >= 1 (got 0) (field policies.quota.small.size)',
    ]);
    expect(await errors(env(ENV('  quota:\n    small: { size: 2 }')), load(owner('quotas', 'quota')))).toEqual([]);
  });

  it('one owner per group: a second plugin is a conflict; the model owns none', async () => {
    const e = env(ENV('  quota:\n    small: { size: 2 }'));
    expect(await errors(e, load(owner('a', 'quota'), owner('b', 'quota')))).toEqual([
      'error PLUGIN_POLICY_GROUP_CONFLICT: [t] [plugin b] declares policy group "quota", which plugin "a" already declares\n    hint: a policy group has one owner; rename the group',
    ]);
    // trafficDrop was the model's last group; plugins/traffic-alerts owns it now like any other.
    expect(await errors(e, load(owner('a', 'quota'), owner('b', 'trafficDrop')))).toEqual([]);
  });

  it('a group nobody owns that is close to an owned one is a typo; an unrelated one is left to its (disabled) plugin', async () => {
    expect(await errors(env(ENV('  quotas:\n    small: { size: 2 }')), load(owner('q', 'quota')))).toEqual([
      'e.yaml:8:3: error PLUGIN_UNKNOWN_POLICY_GROUP: no enabled plugin implements policy group "quotas" (field policies.quotas)\n    hint: did you mean "quota"? (or enable the plugin that declares "quotas")',
    ]);
    expect(await errors(env(ENV('  somethingElse:\n    x: { any: 1 }')), load(owner('q', 'quota')))).toEqual([]);
  });
});
