/**
 * The render pipeline: load every environment, load and run its plugins in memory,
 * and only when all of them succeeded, write the owned tree (or compare it with disk).
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, loadEnvironments, ok, TopoforgeError, type Diagnostic, type Environment, type Result } from '@topoforge/model';
import type { PlanSection, PluginDefinition, RenderResult } from '@topoforge/plugin-contract';
import { loadPlugins, runPlanHooks, runPlugins, type LoadedPlugin, type PluginLoadOptions, type RunOptions } from '@topoforge/plugin-host';
import { crdValidator } from './crds.js';
import {
  compareWithDisk,
  environmentFiles,
  interruptedWork,
  listTree,
  LOCK_FILE,
  recover,
  renderedEnvironments,
  writeTree,
  type EnvironmentChange,
  type WriteOptions,
} from './tree.js';
import { acquireLock } from '@topoforge/safe-fs';
import { scanObject, scanText } from '@topoforge/secret-scan';

export interface RenderRequest {
  /** Directory holding the environment files. */
  readonly environmentsDir: string;
  /** Only these environments (by name); all when empty. */
  readonly only?: readonly string[];
  readonly cwd?: string;
  /** Plugin definitions given in code, used instead of importing packages of the same name. */
  readonly builtins?: readonly PluginDefinition<never>[];
  readonly run?: RunOptions;
  /**
   * Directories of CustomResourceDefinitions (upstream files, or `kubectl get crd -o yaml`):
   * every emitted custom resource is validated against them before anything is written.
   * Default: the directories in TOPOFORGE_CRDS (path-list separated).
   */
  readonly crds?: readonly string[];
  /** The environments directory is a copy (diff --base): relative plugin paths fall back to the original. */
  readonly copiedFrom?: PluginLoadOptions['copiedFrom'];
}

export interface RenderedEnvironment {
  readonly env: Environment;
  readonly plugins: readonly LoadedPlugin[];
  readonly result: RenderResult;
}

/** Renders in memory; collects the diagnostics of every environment. */
export async function renderInMemory(req: RenderRequest): Promise<Result<RenderedEnvironment[]>> {
  const cwd = req.cwd ?? process.cwd();
  // Every environment is loaded (plugins may read another one, e.g. staging reads
  // production for restore drills); only the selected ones are rendered.
  const all = loadEnvironments(req.environmentsDir, { cwd });
  if (!all.ok) return all;
  const only = req.only ?? [];
  const unknown = only.filter((n) => !all.value.some((e) => e.name === n));
  if (unknown.length > 0) {
    return fail([
      {
        code: 'TOPOLOGY_UNKNOWN_REFERENCE',
        message: `no environment named ${unknown.map((m) => `"${m}"`).join(', ')} in ${req.environmentsDir}`,
        hint: `known environments: ${all.value.map((e) => e.name).join(', ')}`,
      },
    ]);
  }
  const crds = crdValidator(req.crds, cwd);
  if (!crds.ok) return crds;
  const validators = [...(req.run?.validators ?? []), ...(crds.value ? [crds.value] : [])];
  const diagnostics: Diagnostic[] = [];
  const rendered: RenderedEnvironment[] = [];
  for (const env of all.value.filter((e) => only.length === 0 || only.includes(e.name))) {
    const { plugins, diagnostics: pluginProblems } = await loadPlugins(env, {
      cwd,
      ...(req.builtins ? { builtins: req.builtins } : {}),
      ...(req.copiedFrom ? { copiedFrom: req.copiedFrom } : {}),
      // plugins installed beside topoforge itself
      searchDirs: [fileURLToPath(new URL('.', import.meta.url))],
    });
    if (pluginProblems.length > 0) {
      diagnostics.push(...pluginProblems);
      continue;
    }
    const r = await runPlugins(env, plugins, { ...req.run, validators, environments: all.value });
    if (!r.ok) {
      diagnostics.push(...r.diagnostics);
      continue;
    }
    // Two plugins emitting one object are found by the host's validation phase (PLUGIN_OBJECT_CONFLICT).
    const conflicts = outputSecrets(env, r.value);
    if (conflicts.length > 0) {
      diagnostics.push(...conflicts);
      continue;
    }
    rendered.push({ env, plugins, result: r.value });
  }
  return diagnostics.length > 0 ? fail(diagnostics) : ok(rendered);
}

/** A plugin's output never holds a secret value (render refuses to write it). */
function outputSecrets(env: Environment, result: RenderResult): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of result.emitted) {
    const findings = e.type === 'object' ? scanObject(e.object as unknown as Record<string, unknown>) : scanText(e.content);
    for (const f of findings) {
      out.push({
        code: 'PLUGIN_PLAIN_SECRET',
        environment: env.name,
        plugin: e.plugin,
        message: `${e.path} would hold a plain-text secret at ${f.where}: ${f.reason}`,
        hint: 'emit a reference to a Kubernetes Secret (secretKeyRef / credential: { name, key }) instead of the value; the value never belongs in the GitOps repository',
      });
    }
  }
  return out;
}

export interface WriteRequest extends RenderRequest {
  readonly out: string;
  readonly write?: WriteOptions;
}

export interface RenderSummary {
  readonly rendered: readonly RenderedEnvironment[];
  readonly changes: readonly EnvironmentChange[];
}

/** `path` with symbolic links resolved as far as it exists (the rest appended). */
function real(path: string): string {
  let p = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(p), ...rest.reverse());
    } catch {
      const parent = dirname(p);
      if (parent === p) return resolve(path);
      rest.push(p.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      p = parent;
    }
  }
}

const within = (inner: string, outer: string): boolean => {
  const r = relative(outer, inner);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && r !== '..');
};

/** The nearest ancestor of `dir` (itself included) that is a repository root (holds `.git`). */
function repositoryRoot(dir: string): string | undefined {
  let d = dir;
  for (;;) {
    if (existsSync(join(d, '.git'))) return d;
    const parent = dirname(d);
    if (parent === d) return undefined;
    d = parent;
  }
}

/**
 * A machine-independent name for the environments directory, recorded in each index: its
 * path relative to its repository root (`environments`), or its own name outside a repository.
 */
export function sourceId(environmentsDir: string): string {
  const env = real(environmentsDir);
  const root = repositoryRoot(env);
  const rel = root ? relative(root, env) : '';
  return (rel === '' ? (env.split(sep).at(-1) ?? '') : rel).split(sep).join('/') || '.';
}

/**
 * Refuses an output directory that cannot be topoforge's alone: `/`, the home directory,
 * a repository root, or a directory that holds the environments themselves.
 */
export function unsafeOutput(out: string, environmentsDir: string, cwd: string): Diagnostic | undefined {
  const o = real(out);
  const env = real(environmentsDir);
  const home = real(homedir());
  const repos = [repositoryRoot(env), repositoryRoot(real(cwd))].filter((r): r is string => r !== undefined);
  const why =
    o === sep || dirname(o) === o
      ? 'the file-system root'
      : o === home
        ? 'your home directory'
        : repos.some((r) => within(r, o))
          ? 'a repository root'
          : within(env, o)
            ? 'the directory that holds the environments'
            : undefined;
  if (!why) return undefined;
  return {
    code: 'RENDER_UNSAFE_OUTPUT',
    message: `refusing to render into ${out}: it is ${why}, and topoforge replaces what it renders there`,
    hint: 'render into a directory of its own, e.g. --out out',
  };
}

function writeFailed(err: unknown, out: string): Diagnostic[] {
  if (err instanceof TopoforgeError) return [...err.diagnostics];
  const e = err as NodeJS.ErrnoException;
  return [
    {
      code: 'RENDER_WRITE_FAILED',
      message: `cannot write ${out}: ${e.code ?? ''}${e.code ? ' ' : ''}${e.message ?? String(err)}`.trim(),
      hint: 'the previous output was left as it was',
    },
  ];
}

/** Renders every environment and writes the tree, all or nothing. */
export async function render(req: WriteRequest): Promise<Result<RenderSummary>> {
  const cwd = req.cwd ?? process.cwd();
  const out = resolve(cwd, req.out);
  const envDir = resolve(cwd, req.environmentsDir);
  const refused = unsafeOutput(out, envDir, cwd);
  if (refused) return fail([refused]);
  const r = await renderInMemory(req);
  if (!r.ok) return r;
  try {
    const changes = writeTree(
      out,
      r.value.map((x) => x.result),
      { prune: !req.only || req.only.length === 0, source: sourceId(envDir), ...req.write },
    );
    return ok({ rendered: r.value, changes });
  } catch (err) {
    return fail(writeFailed(err, req.out));
  }
}

/**
 * Renders in memory and compares with the tree on disk (the drift check). A swap a
 * killed render left half done is completed first (under the output's lock).
 */
export async function check(req: WriteRequest): Promise<Result<EnvironmentChange[]>> {
  const cwd = req.cwd ?? process.cwd();
  const out = resolve(cwd, req.out);
  try {
    if (existsSync(out) && !statSync(out).isDirectory())
      return fail([{ code: 'RENDER_OUTPUT_INVALID', message: `${req.out} is not a directory`, hint: 'give --out the directory render wrote' }]);
  } catch (err) {
    return fail([
      {
        code: 'RENDER_OUTPUT_INVALID',
        message: `cannot read ${req.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        hint: 'give --out the directory render wrote (a link loop or a broken link cannot be read)',
      },
    ]);
  }
  const r = await renderInMemory(req);
  if (!r.ok) return r;
  const source = sourceId(resolve(cwd, req.environmentsDir));
  try {
    if (interruptedWork(out).length > 0) {
      const release = acquireLock(join(out, LOCK_FILE), { purpose: 'topoforge check (repairing an interrupted render)' });
      try {
        recover(out);
      } finally {
        release();
      }
    }
    const changes = r.value.map((x) => compareWithDisk(out, x.result.environment, environmentFiles(x.result, source)));
    if (!req.only || req.only.length === 0) {
      const produced = new Set(r.value.map((x) => x.result.environment));
      for (const env of renderedEnvironments(out)) {
        if (!produced.has(env)) changes.push({ environment: env, added: [], changed: [], removed: listTree(resolve(out, env)), files: 0 });
      }
    }
    return ok(changes);
  } catch (err) {
    const d = writeFailed(err, req.out);
    return fail(
      d.map((x) =>
        x.code === 'RENDER_WRITE_FAILED'
          ? {
              ...x,
              code: 'RENDER_OUTPUT_INVALID' as const,
              message: x.message.replace('cannot write', 'cannot read'),
              hint: 'give --out the directory render wrote',
            }
          : x,
      ),
    );
  }
}

export interface PlanReport {
  readonly env: Environment;
  readonly sections: readonly { readonly plugin: string; readonly sections: readonly PlanSection[] }[];
}

/** Renders in memory and asks each plugin for its plan sections. */
export async function plan(req: RenderRequest, args: Readonly<Record<string, string>> = {}): Promise<Result<PlanReport[]>> {
  const r = await renderInMemory(req);
  if (!r.ok) return r;
  const reports: PlanReport[] = [];
  for (const x of r.value) {
    const s = await runPlanHooks(x.env, x.plugins, x.result, args);
    if (!s.ok) return s;
    reports.push({ env: x.env, sections: s.value });
  }
  return ok(reports);
}
