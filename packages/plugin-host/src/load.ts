/**
 * Finds and imports the plugins an environment names. A plugin is a package (default
 * `@topoforge/plugin-<name>`) or a path relative to the environment file (a file, or a
 * package directory whose package.json names its entry). Packages are resolved from the
 * environment's directory first (a team's own plugin), then from the working directory,
 * then from where topoforge itself is installed (the plugins installed beside the CLI).
 */
import { pathToFileURL } from 'node:url';
import type { Diagnostic, Environment, PluginUse } from '@topoforge/model';
import type { PluginDefinition } from '@topoforge/plugin-contract';
import { checkDefinition } from './envelope.js';
import type { LoadedPlugin } from './loaded.js';
import { isPath, resolveModule, type PluginLoadOptions } from './resolve.js';

export { resolvePlugin, type PluginLoadOptions } from './resolve.js';

const moduleCache = new Map<string, Promise<unknown>>();

async function importOnce(file: string): Promise<unknown> {
  let p = moduleCache.get(file);
  if (!p) {
    p = import(pathToFileURL(file).href);
    moduleCache.set(file, p);
  }
  return p;
}

function notFound(use: PluginUse): Diagnostic {
  const where = use.position ? { position: use.position } : {};
  const hint = isPath(use.package)
    ? `a path is relative to the environment file; point it at the plugin's package directory (built, with package.json "main") or its entry file`
    : `install it beside the environments (npm install ${use.package}, or pnpm add -w ${use.package} in the workspace) or set plugins.${use.name}.package to its path`;
  return { code: 'PLUGIN_NOT_FOUND', plugin: use.name, field: `plugins.${use.name}`, message: `cannot find plugin package ${use.package}`, hint, ...where };
}

function importFailed(use: PluginUse, file: string, err: unknown): Diagnostic {
  const where = use.position ? { position: use.position } : {};
  const e = err as NodeJS.ErrnoException;
  const missingDep = e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND';
  return {
    code: 'PLUGIN_IMPORT_FAILED',
    plugin: use.name,
    message: `found ${use.package} (${file}) but importing it failed: ${(e?.message ?? String(err)).split('\n')[0]}`,
    hint: missingDep
      ? `install the plugin's own dependencies (npm install in its directory; the SDK tarballs come from pnpm pack:sdk)`
      : 'a bug in the plugin module, or it was not built (npm run build)',
    ...where,
  };
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
    const file = resolveModule(use.package, env.file, cwd, options);
    if (!file) {
      diagnostics.push({ ...notFound(use), environment: env.name });
      continue;
    }
    let mod: unknown;
    try {
      mod = await importOnce(file);
    } catch (err) {
      diagnostics.push({ ...importFailed(use, file, err), environment: env.name });
      continue;
    }
    const definition = (mod as { default?: unknown }).default ?? (mod as { plugin?: unknown }).plugin;
    const problems = checkDefinition(definition, use);
    if (problems.length > 0) {
      diagnostics.push(...problems.map((d) => ({ ...d, environment: env.name })));
      continue;
    }
    plugins.push({ definition: definition as PluginDefinition<never>, use, file });
  }
  return { plugins, diagnostics };
}
