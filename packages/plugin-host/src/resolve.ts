/**
 * Where a plugin specifier of an environment file resolves to, without importing anything:
 * what loadPlugins imports, and what `check` compares with its record (see plugin-host/core).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { PluginDefinition } from '@topoforge/plugin-contract';

export interface PluginLoadOptions {
  readonly cwd?: string;
  /** Plugins given in code (tests, embedding); looked up by name before any import. */
  readonly builtins?: readonly PluginDefinition<never>[];
  /** More directories to resolve package names from (e.g. where the CLI is installed). */
  readonly searchDirs?: readonly string[];
  /**
   * The environment files were copied (e.g. `diff --base` reads them from a git ref into a
   * temporary directory): a relative plugin path that is not in the copy is resolved
   * against the original directory `to` of the copy `from`.
   */
  readonly copiedFrom?: { readonly from: string; readonly to: string };
}

export const isPath = (spec: string): boolean => spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec);

/** A file, or a package directory (its package.json `main`). */
function resolvePath(abs: string): string | undefined {
  if (!existsSync(abs)) return undefined;
  try {
    return createRequire(join(abs, 'noop.js')).resolve(abs);
  } catch {
    return undefined;
  }
}

/**
 * The file a plugin specifier resolves to for an environment file, as loadPlugins resolves it
 * (without importing it); undefined when it is not found.
 */
export function resolvePlugin(spec: string, envFile: string, opts: PluginLoadOptions = {}): string | undefined {
  return resolveModule(spec, envFile, opts.cwd ?? process.cwd(), opts);
}

export function resolveModule(spec: string, envFile: string, cwd: string, opts: PluginLoadOptions): string | undefined {
  const envDir = dirname(resolve(cwd, envFile));
  if (isPath(spec)) {
    const here = resolvePath(resolve(envDir, spec));
    if (here || !opts.copiedFrom) return here;
    const rel = relative(opts.copiedFrom.from, envDir);
    return rel.startsWith('..') || isAbsolute(rel) ? undefined : resolvePath(resolve(opts.copiedFrom.to, rel, spec));
  }
  for (const base of [envDir, cwd, ...(opts.searchDirs ?? [])]) {
    try {
      return createRequire(resolve(base, 'noop.js')).resolve(spec);
    } catch {
      // try the next base
    }
  }
  return undefined;
}
