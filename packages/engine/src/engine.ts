/**
 * The render pipeline: load every environment, load and run its plugins, stream each file
 * into a staging tree as it is made, and only when every plugin of every environment
 * succeeded, swap it in (or compare it with disk). Nothing holds the whole output in memory.
 */
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  fail,
  loadEnvironments,
  ok,
  TopoforgeError,
  untestedImages,
  unverifiedVersions,
  type Diagnostic,
  type Environment,
  type Result,
} from '@topoforge/model';
import { INDEX_FILE } from '@topoforge/plugin-host';
import type { PlanSection, PluginDefinition, RenderResult } from '@topoforge/plugin-contract';
import {
  loadPlugins,
  pluginFingerprint,
  type FingerprintCache,
  runPlanHooks,
  runPlugins,
  streamPlugins,
  type LoadedPlugin,
  type OutputValidator,
  type PluginLoadOptions,
  type RunOptions,
  type OutputFile,
  type StreamedEnvironment,
  type UnitStore,
} from '@topoforge/plugin-host';
import { crdValidator } from './crds.js';
import { prescanOutput, type Prescan } from './scan.js';
import { loadOptions, real, renderInputsKey, repositoryRoot, sourceId, sourceIdentity, unitSalt } from './recorded.js';
import {
  ChangeCounter,
  indexDigest,
  interruptedWork,
  listTree,
  LOCK_FILE,
  PreviousTree,
  recover,
  renderedEnvironments,
  sha256,
  TreeWriter,
  type EnvironmentChange,
  type HeldOutput,
  type IndexEntry,
  type RecordedPlugin,
  type RenderInputs,
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

interface Prepared {
  readonly all: readonly Environment[];
  readonly selected: readonly Environment[];
  readonly validators: readonly OutputValidator[];
  readonly cwd: string;
}

/** Loads every environment and the CRDs; selects the environments to render. */
function prepare(req: RenderRequest): Result<Prepared> {
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
  const selected = all.value.filter((e) => only.length === 0 || only.includes(e.name));
  // Before any plugin runs: a production version that never passed its test stand, or an
  // image other than the one the stand runs (the ledger records tags only), is bad input.
  const unverified = [...unverifiedVersions(all.value, selected), ...untestedImages(all.value, selected)];
  if (unverified.length > 0) return fail(unverified);
  const crds = crdValidator(req.crds, cwd);
  if (!crds.ok) return crds;
  // A plugin's output never holds a secret value (render refuses to write it).
  const validators = [...(req.run?.validators ?? []), ...(crds.value ? [crds.value] : []), plainSecrets];
  return ok({ all: all.value, selected, validators, cwd });
}

async function pluginsOf(env: Environment, req: RenderRequest, cwd: string): Promise<{ plugins: LoadedPlugin[]; diagnostics: Diagnostic[] }> {
  return loadPlugins(env, loadOptions(req, cwd));
}

/**
 * Whether the key covers `file`: a file inside the environments directory, not under a
 * node_modules directory there (the key's fingerprint of the directory skips those: see
 * renderInputsKey). A base installed as a package (`extends: node_modules/base/base.yaml`) is
 * read by the render, so such an environment gets no record, and `check` renders.
 */
const isInside = (file: string, dir: string): boolean => {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('node_modules');
};

/** What the render of each environment read (see RenderInputs); an environment with a plugin that cannot be fingerprinted gets none. */
function renderInputs(
  key: string | undefined,
  envDir: string,
  all: readonly Environment[],
  rendered: readonly StreamedRendering[],
  cwd: string,
  cache: FingerprintCache,
): Map<string, RenderInputs> {
  const out = new Map<string, RenderInputs>();
  if (key === undefined) return out;
  // A file merged in from outside the directory (`extends: ../base.yaml`), or from its node_modules, is not in the key.
  if (all.some((e) => e.files.some((f) => !isInside(resolve(cwd, f), envDir)))) return out;
  for (const x of rendered) {
    const plugins: RecordedPlugin[] = [];
    for (const p of x.plugins) {
      const fingerprint = p.file !== undefined ? pluginFingerprint(p.file, cache) : undefined;
      if (p.file === undefined || fingerprint === undefined) break;
      plugins.push({ package: p.use.package, envFile: resolve(cwd, x.env.file), file: p.file, fingerprint });
    }
    if (plugins.length === x.plugins.length) out.set(x.env.name, { key, environments: all.map((e) => e.name), plugins });
  }
  return out;
}

/** Renders in memory (every object and file kept); collects the diagnostics of every environment. */
export async function renderInMemory(req: RenderRequest): Promise<Result<RenderedEnvironment[]>> {
  const p = prepare(req);
  if (!p.ok) return p;
  const diagnostics: Diagnostic[] = [];
  const rendered: RenderedEnvironment[] = [];
  for (const env of p.value.selected) {
    const { plugins, diagnostics: pluginProblems } = await pluginsOf(env, req, p.value.cwd);
    if (pluginProblems.length > 0) {
      diagnostics.push(...pluginProblems);
      continue;
    }
    // Two plugins emitting one object are found by the host's validation phase (PLUGIN_OBJECT_CONFLICT).
    const r = await runPlugins(env, plugins, { ...req.run, validators: p.value.validators, environments: p.value.all });
    if (!r.ok) diagnostics.push(...r.diagnostics);
    else rendered.push({ env, plugins, result: r.value });
  }
  return diagnostics.length > 0 ? fail(diagnostics) : ok(rendered);
}

/** What one environment's streamed render leaves: counts and logs, no content. */
export interface StreamedRendering {
  readonly env: Environment;
  readonly plugins: readonly LoadedPlugin[];
  readonly result: StreamedEnvironment;
}

/**
 * Streams every selected environment's files into `sinkFor(env)` as plugins make them;
 * collects the diagnostics of every environment. A sink that throws stops the render and is
 * reported by `sinkFailed` (e.g. RENDER_WRITE_FAILED), not as the fault of the plugin that emitted.
 */
async function renderStreaming(
  req: RenderRequest,
  p: Prepared,
  sinkFor: (env: Environment) => { readonly put: (f: OutputFile) => void; readonly units?: UnitStore },
  sinkFailed: (err: unknown) => Diagnostic[],
): Promise<Result<StreamedRendering[]>> {
  const diagnostics: Diagnostic[] = [];
  const rendered: StreamedRendering[] = [];
  for (const env of p.selected) {
    const { plugins, diagnostics: pluginProblems } = await pluginsOf(env, req, p.cwd);
    if (pluginProblems.length > 0) {
      diagnostics.push(...pluginProblems);
      continue;
    }
    const { put, units } = sinkFor(env);
    let writeError: unknown;
    const r = await streamPlugins(
      env,
      plugins,
      (f) => {
        if (writeError !== undefined) return;
        try {
          put(f);
        } catch (err) {
          writeError = err;
        }
      },
      { ...req.run, validators: p.validators, environments: p.all, ...(units ? { units } : {}) },
    );
    if (writeError !== undefined) return fail(sinkFailed(writeError));
    if (!r.ok) diagnostics.push(...r.diagnostics);
    else rendered.push({ env, plugins, result: r.value });
  }
  return diagnostics.length > 0 ? fail(diagnostics) : ok(rendered);
}

const plainSecrets: OutputValidator = (e, env) =>
  (e.type === 'object' ? scanObject(e.object as unknown as Record<string, unknown>) : scanText(e.content)).map((f) => ({
    code: 'PLUGIN_PLAIN_SECRET' as const,
    environment: env.name,
    plugin: e.plugin,
    message: `${e.path} would hold a plain-text secret at ${f.where}: ${f.reason}`,
    hint: 'emit a reference to a Kubernetes Secret (secretKeyRef / credential: { name, key }) instead of the value; the value never belongs in the GitOps repository',
  }));

export interface WriteRequest extends RenderRequest {
  readonly out: string;
  readonly write?: WriteOptions;
}

export interface RenderSummary {
  readonly rendered: readonly StreamedRendering[];
  readonly changes: readonly EnvironmentChange[];
}

const within = (inner: string, outer: string): boolean => {
  const r = relative(outer, inner);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && r !== '..');
};

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

/**
 * Renders every environment and writes the tree, all or nothing: files stream into a
 * staging directory as plugins make them (only added and changed ones, for an environment
 * directory that is ours), and the swap happens only when every environment succeeded.
 */
export async function render(req: WriteRequest): Promise<Result<RenderSummary>> {
  const cwd = req.cwd ?? process.cwd();
  const out = resolve(cwd, req.out);
  const envDir = resolve(cwd, req.environmentsDir);
  const refused = unsafeOutput(out, envDir, cwd);
  if (refused) return fail([refused]);
  const options: WriteOptions = { prune: !req.only || req.only.length === 0, ...sourceIdentity(envDir), ...req.write };
  // The output is locked first, so that its walk (another process: see Prescan) runs under the
  // lock while this one fingerprints and loads.
  let held: HeldOutput;
  try {
    held = TreeWriter.lock(out, options);
  } catch (err) {
    return fail(writeFailed(err, req.out));
  }
  let prescans = new Map<string, Prescan>();
  let writer: TreeWriter | undefined;
  try {
    prescans = prescanOutput(out, req.only);
    // Fingerprinted before anything is read, as check will fingerprint it (see checkFromRecord).
    const cache: FingerprintCache = new Map();
    const salt = unitSalt(req, cwd, process.versions, cache);
    const inputsKey = renderInputsKey(req, cwd, salt);
    const p = prepare(req);
    if (!p.ok) return p;
    // While find walks: the indexes of the environments this render will update.
    for (const e of p.value.selected) prescans.get(e.name)?.readIndex(e.name);
    await Promise.all([...prescans.values()].map((s) => s.done()));
    try {
      writer = TreeWriter.open(
        held,
        p.value.selected.map((e) => e.name),
        options,
        prescans,
      );
    } catch (err) {
      return fail(writeFailed(err, req.out));
    } finally {
      // What was not taken (environments not produced) is let go before the render.
      for (const s of prescans.values()) s.cancel();
    }
    return await renderInto(req, cwd, envDir, p.value, writer, salt, inputsKey, cache);
  } finally {
    for (const s of prescans.values()) s.cancel();
    // Failed before a writer had the lock (it releases it itself from then on).
    if (!writer) held.abandon();
    // Each find stopped and its temp directory removed before the render returns.
    await Promise.all([...prescans.values()].map((s) => s.done()));
  }
}

async function renderInto(
  req: WriteRequest,
  cwd: string,
  envDir: string,
  prepared: Prepared,
  writer: TreeWriter,
  salt: string | undefined,
  inputsKey: string | undefined,
  cache: FingerprintCache,
): Promise<Result<RenderSummary>> {
  let r: Result<StreamedRendering[]>;
  try {
    r = await renderStreaming(
      req,
      prepared,
      (env) => {
        const w = writer.environment(env.name, { units: salt !== undefined });
        return {
          put: (f: OutputFile) => w.put(f.path, f.content, f.plugin, f.unit),
          ...(salt !== undefined
            ? { units: { salt, fingerprints: cache, carry: (plugin: string, service: string, key: string) => w.carry(plugin, service, key) } }
            : {}),
        };
      },
      (err) => writeFailed(err, req.out),
    );
  } catch (err) {
    writer.abort();
    throw err;
  }
  if (!r.ok) {
    writer.abort();
    return r;
  }
  try {
    // Recorded only when the environments directory is still what the key saw before the render
    // read it: an edit saved meanwhile could be in the output and not in the key, or the other way.
    const unchanged = inputsKey !== undefined && renderInputsKey(req, cwd, salt) === inputsKey;
    for (const [env, inputs] of renderInputs(unchanged ? inputsKey : undefined, envDir, prepared.all, r.value, cwd, cache)) writer.recordInputs(env, inputs);
    return ok({ rendered: r.value, changes: writer.commit() });
  } catch (err) {
    // Nothing swapped in (or, after a failed swap, what the journal completes): the lock and staging go (a no-op once committed).
    writer.abort();
    return fail(writeFailed(err, req.out));
  }
}

/** check past its record: renders and compares, each environment's walk taken from `prescans` when it is there and still valid. */
export async function checkRendering(
  req: WriteRequest,
  cwd: string,
  out: string,
  prescans: ReadonlyMap<string, Prescan>,
): Promise<Result<EnvironmentChange[]>> {
  const p = prepare(req);
  if (!p.ok) return p;
  // The walks of environments check does not produce are let go (their removal is reported from a listing).
  const produced = new Set(p.value.selected.map((e) => e.name));
  for (const [name, s] of prescans) if (!produced.has(name)) s.cancel();
  for (const [name, s] of prescans) s.readIndex(name);
  await Promise.all([...prescans.values()].map((s) => s.done()));
  const source = sourceId(resolve(cwd, req.environmentsDir));
  const readFailed = (err: unknown): Diagnostic[] =>
    writeFailed(err, req.out).map((x) =>
      x.code === 'RENDER_WRITE_FAILED'
        ? {
            ...x,
            code: 'RENDER_OUTPUT_INVALID' as const,
            message: x.message.replace('cannot write', 'cannot read'),
            hint: 'give --out the directory render wrote',
          }
        : x,
    );
  try {
    if (interruptedWork(out).length > 0) {
      const release = acquireLock(join(out, LOCK_FILE), { purpose: 'topoforge check (repairing an interrupted render)' });
      try {
        recover(out);
        // What a walk begun before the repair found is not the tree any more.
        for (const s of prescans.values()) s.cancel();
      } finally {
        release();
      }
    }
  } catch (err) {
    return fail(readFailed(err));
  }
  const counting = new Map<string, { counter: ChangeCounter; entries: IndexEntry[] }>();
  let r: Result<StreamedRendering[]>;
  try {
    r = await renderStreaming(
      req,
      p.value,
      (env) => {
        const walked = prescans.get(env.name)?.take();
        req.write?.walked?.(env.name, walked ? 'find' : 'process', walked?.index !== undefined);
        const c = { counter: new ChangeCounter(env.name, PreviousTree.read(join(out, env.name), env.name, walked)), entries: [] as IndexEntry[] };
        counting.set(env.name, c);
        return {
          put: ({ path, content, plugin }: OutputFile) => {
            const sha = sha256(content);
            c.entries.push({ path, sha256: sha, plugin });
            c.counter.note(path, content, sha);
          },
        };
      },
      readFailed,
    );
  } catch (err) {
    return fail(readFailed(err));
  }
  if (!r.ok) return r;
  try {
    const changes: EnvironmentChange[] = [];
    for (const x of r.value) {
      const c = counting.get(x.env.name)!;
      const index = indexDigest(x.env.name, source, c.entries);
      c.counter.noteHashed(INDEX_FILE, index.sha, index.size);
      changes.push(c.counter.finish());
    }
    if (!req.only || req.only.length === 0) {
      const produced = new Set(r.value.map((x) => x.env.name));
      for (const env of renderedEnvironments(out, [...produced])) {
        changes.push({ environment: env, added: [], changed: [], removed: listTree(resolve(out, env)), files: 0 });
      }
    }
    return ok(changes);
  } catch (err) {
    return fail(readFailed(err));
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
