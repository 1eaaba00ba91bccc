/**
 * Finds and imports the plugins an environment names. A plugin is a package
 * (default `@topoforge/plugin-<name>`) or a path relative to the environment file,
 * resolved from the environment's directory first (a team's own workspace plugin),
 * then from the working directory, then from where topoforge itself is installed (the
 * plugins installed beside the CLI).
 */
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Diagnostic, Environment } from '@topoforge/model';
import { checkDefinition, type LoadedPlugin, type PluginDefinition } from '@topoforge/plugin-sdk';

const moduleCache = new Map<string, Promise<unknown>>();

function resolveModule(spec: string, envFile: string, cwd: string): string | undefined {
  const envDir = dirname(resolve(cwd, envFile));
  if (spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec)) return resolve(envDir, spec);
  for (const base of [envDir, cwd, fileURLToPath(new URL('.', import.meta.url))]) {
    try {
      return createRequire(resolve(base, 'noop.js')).resolve(spec);
    } catch {
      // try the next base
    }
  }
  return undefined;
}

export interface PluginLoadOptions {
  readonly cwd?: string;
  /** Plugins given in code (tests, embedding); looked up by name before any import. */
  readonly builtins?: readonly PluginDefinition<never>[];
}

export async function loadPlugins(env: Environment, options: PluginLoadOptions = {}): Promise<{ plugins: LoadedPlugin[]; diagnostics: Diagnostic[] }> {
  const cwd = options.cwd ?? process.cwd();
  const plugins: LoadedPlugin[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const use of env.plugins) {
    const given = options.builtins?.find((b) => b.name === use.name);
    if (given) {
      plugins.push({ definition: given, use });
      continue;
    }
    const where = use.position ? { position: use.position } : {};
    const file = resolveModule(use.package, env.file, cwd);
    if (!file) {
      diagnostics.push({ code: 'PLUGIN_NOT_FOUND', plugin: use.name, environment: env.name, field: `plugins.${use.name}`, message: `cannot find plugin package ${use.package}`, hint: `add it as a dependency of the workspace (pnpm add -w ${use.package}) or set plugins.${use.name}.package`, ...where });
      continue;
    }
    let mod: unknown;
    try {
      let p = moduleCache.get(file);
      if (!p) {
        p = import(pathToFileURL(file).href);
        moduleCache.set(file, p);
      }
      mod = await p;
    } catch (err) {
      diagnostics.push({ code: 'PLUGIN_NOT_FOUND', plugin: use.name, environment: env.name, message: `cannot import ${use.package}: ${(err as Error).message}`, ...where });
      continue;
    }
    const definition = (mod as { default?: unknown }).default ?? (mod as { plugin?: unknown }).plugin;
    const problems = checkDefinition(definition, use);
    if (problems.length > 0) {
      diagnostics.push(...problems.map((d) => ({ ...d, environment: env.name })));
      continue;
    }
    plugins.push({ definition: definition as PluginDefinition<never>, use });
  }
  return { plugins, diagnostics };
}
