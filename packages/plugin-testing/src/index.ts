/**
 * A test harness for plugin authors: an inline topology in, the emitted objects out,
 * without touching the file system.
 *
 *   const env = environmentFromYaml(`kind: Environment\nname: test\n...`);
 *   const out = await synth(myPlugin, env, { someOption: 1 });
 *   expect(out.objects('Schedule')).toHaveLength(3);
 *   expect(await synthErrors(myPlugin, badEnv)).toEqual([expect.stringContaining('replicas')]);
 */
import { posix } from 'node:path';
import { formatDiagnostic, loadEnvironment, TopoforgeError, type Diagnostic, type Environment, type Result } from '@topoforge/model';
import type { Emitted, EmittedObject, KubeObject, PluginDefinition, RenderResult } from '@topoforge/plugin-contract';
import { runPlugins, type LoadedPlugin } from '@topoforge/plugin-host';

/**
 * Loads an environment from YAML text. `files` holds other files it may `extends`,
 * keyed by name (e.g. { 'base.yaml': '...' }). Throws with every problem on bad input.
 */
export function environmentFromYaml(text: string, files: Readonly<Record<string, string>> = {}): Environment {
  const tree: Record<string, string> = { '/inline/environment.yaml': text };
  for (const [name, content] of Object.entries(files)) tree[posix.join('/inline', name)] = content;
  const r = loadEnvironment('environment.yaml', {
    cwd: '/inline',
    readFile: (p) => {
      const c = tree[p.split('\\').join('/')];
      if (c === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return c;
    },
  });
  if (!r.ok) throw new TopoforgeError(r.diagnostics);
  return r.value;
}

export interface SynthResult extends RenderResult {
  /** Emitted objects, optionally of one kind. */
  objects(kind?: string): KubeObject[];
  /** Emitted objects with their path, DC and service. */
  records(kind?: string): EmittedObject[];
  /** The serialized text of one output path. */
  text(path: string): string;
}

type Plugins = PluginDefinition<never> | readonly PluginDefinition<never>[];
/** Options of a single plugin, or by plugin name when several run. */
type Options = Readonly<Record<string, Record<string, unknown>>> | Record<string, unknown>;

/** `emptyMeansEnv`: options given as {} fall back to the environment's (synth); otherwise {} given by plugin name is taken as is (a test of missing options). */
async function run(
  plugins: Plugins,
  env: Environment,
  options: Options,
  others: readonly Environment[],
  emptyMeansEnv: boolean,
): Promise<Result<RenderResult>> {
  const list = Array.isArray(plugins) ? (plugins as readonly PluginDefinition<never>[]) : [plugins as PluginDefinition<never>];
  const single = !Array.isArray(plugins);
  const loaded: LoadedPlugin[] = list.map((definition) => {
    const given = single ? (options as Record<string, unknown>) : (options as Record<string, Record<string, unknown>>)[definition.name];
    const fromEnv = env.plugins.find((u) => u.name === definition.name)?.options;
    // Options given here win; otherwise those the environment configures for the plugin.
    const explicit = !single && !emptyMeansEnv && given !== undefined;
    const opts = given !== undefined && (explicit || Object.keys(given).length > 0) ? given : (fromEnv ?? {});
    return { definition, use: { name: definition.name, package: `(test) ${definition.name}`, options: opts } };
  });
  // A test runs a few plugins against a whole topology: groups other plugins own are not errors here.
  return runPlugins(env, loaded, { environments: [env, ...others], reportUnownedPolicies: false });
}

/**
 * Runs plugins (the last one is the plugin under test; earlier ones are those it reads)
 * against an environment, with options for each; throws with formatted diagnostics on failure.
 */
export async function synth(
  plugins: Plugins,
  env: Environment,
  options: Options = {},
  /** Other environments the plugins may read with ctx.environment(name). */ others: readonly Environment[] = [],
): Promise<SynthResult> {
  const r = await run(plugins, env, options, others, true);
  if (!r.ok) throw new TopoforgeError(r.diagnostics);
  const result = r.value;
  const recs = (kind?: string) => result.emitted.filter((e): e is EmittedObject => e.type === 'object' && (kind === undefined || e.object.kind === kind));
  return {
    ...result,
    records: recs,
    objects: (kind) => recs(kind).map((e) => e.object as KubeObject),
    text: (path) => {
      const f = result.files.get(path);
      if (!f) throw new Error(`no output at ${path}; paths: ${[...result.files.keys()].join(', ')}`);
      return f.content;
    },
  };
}

/** Like synth (same arguments), expecting failure: the diagnostics as values. */
export async function synthDiagnostics(
  plugins: Plugins,
  env: Environment,
  options: Options = {},
  others: readonly Environment[] = [],
): Promise<readonly Diagnostic[]> {
  const r = await run(plugins, env, options, others, false);
  if (r.ok) throw new Error('expected the render to fail, but it succeeded');
  return r.diagnostics;
}

/** Like synth (same arguments), expecting failure: the formatted diagnostics (`file:line:col: error CODE: …`). */
export async function synthErrors(plugins: Plugins, env: Environment, options: Options = {}, others: readonly Environment[] = []): Promise<string[]> {
  return (await synthDiagnostics(plugins, env, options, others)).map(formatDiagnostic);
}

export type { Emitted };

/**
 * A small production topology for policy tests: three regions (warehouses in one, couriers in
 * another), one DC each, a client-facing service and two regional ones (the model's own test
 * topology). `extra` is appended as is: policies, more services, plugins.
 */
export function threeRegionTopology(extra = ''): string {
  return `kind: Environment
name: prod
stage: production
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [warehouses] }
  south: { timeZone: Europe/Rome, businessUnits: [couriers] }
  east:  { timeZone: Asia/Tokyo, businessUnits: [] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
  s1: { region: south, rotation: 2, cluster: { context: s1 }, backupStorage: { provider: aws, bucket: s1-backups } }
  e1: { region: east,  rotation: 3, cluster: { context: e1 }, backupStorage: { provider: aws, bucket: e1-backups } }
services:
  social: { kind: social-network, image: r/social, version: "1.0.0" }
  stock: { kind: warehouse, image: r/stock, version: "1.0.0" }
  delivery: { kind: logistics, image: r/delivery, version: "1.0.0" }
${extra}`;
}
