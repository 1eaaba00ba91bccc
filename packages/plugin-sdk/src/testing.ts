/**
 * A test harness for plugin authors: an inline topology in, the emitted objects out,
 * without touching the file system.
 *
 *   const env = environmentFromYaml(`kind: Environment\nname: test\n...`);
 *   const out = await synth(myPlugin, env, { someOption: 1 });
 *   expect(out.objects('Schedule')).toHaveLength(3);
 */
import { posix } from 'node:path';
import { formatDiagnostic, loadEnvironment, TopoforgeError, type Environment } from '@topoforge/model';
import { runPlugins, type LoadedPlugin } from './runner.js';
import type { Emitted, EmittedObject, KubeObject, PluginDefinition, RenderResult } from './types.js';

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

/**
 * Runs plugins (the last one is the plugin under test; earlier ones are those it reads)
 * against an environment, with options for each; throws with formatted diagnostics on failure.
 */
export async function synth(
  plugins: PluginDefinition<never> | readonly PluginDefinition<never>[],
  env: Environment,
  options: Readonly<Record<string, Record<string, unknown>>> | Record<string, unknown> = {},
  /** Other environments the plugins may read with ctx.environment(name). */
  others: readonly Environment[] = [],
): Promise<SynthResult> {
  const list = Array.isArray(plugins) ? (plugins as readonly PluginDefinition<never>[]) : [plugins as PluginDefinition<never>];
  const single = !Array.isArray(plugins);
  const loaded: LoadedPlugin[] = list.map((definition) => {
    const given = single ? (options as Record<string, unknown>) : (options as Record<string, Record<string, unknown>>)[definition.name];
    const fromEnv = env.plugins.find((u) => u.name === definition.name)?.options;
    // Options given here win; otherwise those the environment configures for the plugin.
    const opts = given !== undefined && Object.keys(given).length > 0 ? given : (fromEnv ?? {});
    return { definition, use: { name: definition.name, package: `(test) ${definition.name}`, options: opts } };
  });
  const r = await runPlugins(env, loaded, { environments: [env, ...others] });
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

/** Runs plugins expecting failure; returns the formatted diagnostics. */
export async function synthErrors(plugins: readonly PluginDefinition<never>[], env: Environment, options: Readonly<Record<string, Record<string, unknown>>> = {}): Promise<string[]> {
  const loaded: LoadedPlugin[] = plugins.map((definition) => ({ definition, use: { name: definition.name, package: `(test) ${definition.name}`, options: options[definition.name] ?? {} } }));
  const r = await runPlugins(env, loaded);
  if (r.ok) throw new Error('expected the render to fail, but it succeeded');
  return r.diagnostics.map(formatDiagnostic);
}

export type { Emitted };
