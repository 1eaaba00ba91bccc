/**
 * The render pipeline: load every environment, load and run its plugins in memory,
 * and only when all of them succeeded, write the owned tree (or compare it with disk).
 */
import { resolve } from 'node:path';
import { fail, loadEnvironments, ok, type Diagnostic, type Environment, type Result } from '@topoforge/model';
import { runPlanHooks, runPlugins, type LoadedPlugin, type PlanSection, type PluginDefinition, type RenderResult, type RunOptions } from '@topoforge/plugin-sdk';
import { loadPlugins } from './plugins.js';
import { compareWithDisk, environmentFiles, listTree, renderedEnvironments, writeTree, type EnvironmentChange, type WriteOptions } from './tree.js';

export interface RenderRequest {
  /** Directory holding the environment files. */
  readonly environmentsDir: string;
  /** Only these environments (by name); all when empty. */
  readonly only?: readonly string[];
  readonly cwd?: string;
  /** Plugin definitions given in code, used instead of importing packages of the same name. */
  readonly builtins?: readonly PluginDefinition<never>[];
  readonly run?: RunOptions;
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
  const diagnostics: Diagnostic[] = [];
  const rendered: RenderedEnvironment[] = [];
  for (const env of all.value.filter((e) => only.length === 0 || only.includes(e.name))) {
    const { plugins, diagnostics: pluginProblems } = await loadPlugins(env, { cwd, ...(req.builtins ? { builtins: req.builtins } : {}) });
    if (pluginProblems.length > 0) {
      diagnostics.push(...pluginProblems);
      continue;
    }
    const r = await runPlugins(env, plugins, { ...req.run, environments: all.value });
    if (!r.ok) {
      diagnostics.push(...r.diagnostics);
      continue;
    }
    rendered.push({ env, plugins, result: r.value });
  }
  return diagnostics.length > 0 ? fail(diagnostics) : ok(rendered);
}

export interface WriteRequest extends RenderRequest {
  readonly out: string;
  readonly write?: WriteOptions;
}

export interface RenderSummary {
  readonly rendered: readonly RenderedEnvironment[];
  readonly changes: readonly EnvironmentChange[];
}

/** Renders every environment and writes the tree, all or nothing. */
export async function render(req: WriteRequest): Promise<Result<RenderSummary>> {
  const r = await renderInMemory(req);
  if (!r.ok) return r;
  const out = resolve(req.cwd ?? process.cwd(), req.out);
  try {
    const changes = writeTree(
      out,
      r.value.map((x) => x.result),
      { prune: !req.only || req.only.length === 0, ...req.write },
    );
    return ok({ rendered: r.value, changes });
  } catch (err) {
    return fail([{ code: 'RENDER_WRITE_FAILED', message: `cannot write ${req.out}: ${(err as Error).message}`, hint: 'the previous output was left as it was' }]);
  }
}

/** Renders in memory and compares with the tree on disk (the drift check). */
export async function check(req: WriteRequest): Promise<Result<EnvironmentChange[]>> {
  const r = await renderInMemory(req);
  if (!r.ok) return r;
  const out = resolve(req.cwd ?? process.cwd(), req.out);
  const changes = r.value.map((x) => compareWithDisk(out, x.result.environment, environmentFiles(x.result)));
  if (!req.only || req.only.length === 0) {
    const produced = new Set(r.value.map((x) => x.result.environment));
    for (const env of renderedEnvironments(out)) {
      if (!produced.has(env)) changes.push({ environment: env, added: [], changed: [], removed: listTree(resolve(out, env)), files: 0 });
    }
  }
  return ok(changes);
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
