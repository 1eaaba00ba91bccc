/**
 * Finding the server and client binaries the way envtest users expect: `$KUBEBUILDER_ASSETS`
 * first, then topoforge's tools cache (what `pnpm run setup:tools` builds from pinned Go
 * modules), then `PATH`.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxError } from './errors.js';

export type ToolName = 'kube-apiserver' | 'kube-controller-manager' | 'kubectl' | 'etcd' | 'pulumi' | 'pulumi-language-nodejs' | 'pulumi-resource-kubernetes';

export const SETUP_HINT =
  'run `pnpm run setup:tools` in the topoforge checkout (builds kube-apiserver, kubectl, pulumi and its plugins from pinned Go modules into ~/.cache/topoforge/tools)';

const repoRoot = (): string | undefined => {
  // dist/tools.js or src/tools.ts → packages/sandbox → repo root
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return existsSync(join(root, 'scripts', 'build-tools.mjs')) ? root : undefined;
};

let cachedBinDir: string | null | undefined;

/** The tools-cache bin directory of this checkout (it exists only after setup:tools). */
export function toolsCacheBinDir(): string | undefined {
  if (process.env.TOPOFORGE_TOOLS_BIN) return process.env.TOPOFORGE_TOOLS_BIN;
  if (cachedBinDir !== undefined) return cachedBinDir ?? undefined;
  const root = repoRoot();
  if (!root) {
    cachedBinDir = null;
    return undefined;
  }
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-tools.mjs'), '--print-bin-dir'], { encoding: 'utf8' });
  cachedBinDir = r.status === 0 ? r.stdout.trim() : null;
  return cachedBinDir ?? undefined;
}

const executable = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Where `name` was found, or undefined. */
export function lookupTool(name: ToolName): string | undefined {
  const dirs: string[] = [];
  if (process.env.KUBEBUILDER_ASSETS) dirs.push(process.env.KUBEBUILDER_ASSETS);
  const cache = toolsCacheBinDir();
  if (cache) dirs.push(cache);
  dirs.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  for (const d of dirs) {
    const p = join(d, name);
    if (executable(p)) return p;
  }
  return undefined;
}

/** Like lookupTool, but a missing binary is an error that says how to get it. */
export function requireTool(name: ToolName): string {
  const found = lookupTool(name);
  if (found) return found;
  const cache = toolsCacheBinDir();
  throw new SandboxError(
    'SANDBOX_TOOL_MISSING',
    `${name} not found in $KUBEBUILDER_ASSETS${cache ? `, the tools cache (${cache})` : ''} or PATH`,
    name === 'etcd' ? 'install Debian package etcd-server (`pnpm run setup:tools` does)' : SETUP_HINT,
  );
}

/** The directory to put on PATH for pulumi, its plugins, kubectl and the servers. */
export function toolsPathDir(): string {
  const cache = toolsCacheBinDir();
  if (cache && existsSync(join(cache, 'kube-apiserver'))) return cache;
  return dirname(requireTool('kube-apiserver'));
}
