/**
 * Runs plugins for one environment. Read `render` as a table of contents: each step is a
 * small function in its own file. Nothing here touches the file system: `runPlugins` keeps
 * the output in memory, `streamPlugins` hands each file to the caller's sink as it is made
 * (the engine writes it into a staging tree it swaps in only when every plugin of every
 * environment succeeded).
 */
import { fail, ok, type Diagnostic, type Environment, type Result } from '@topoforge/model';
import type { Emitted, LogEntry, RenderResult } from '@topoforge/plugin-contract';
import { runChecks } from './check.js';
import { Claims, PATH_CONFLICT_HINT, pathConflict } from './claims.js';
import { renderContext, serviceContext } from './context.js';
import { byString, deepFreeze } from './freeze.js';
import type { LoadedPlugin } from './loaded.js';
import { duplicateNames } from './names.js';
import { resolveOptions } from './options.js';
import { orderPlugins } from './order.js';
import { checkPolicies } from './policies.js';
import { OutputPipeline, type FileSink, type OutputFile, type OutputValidator } from './output.js';
import { threw } from './threw.js';
import { pluginFingerprint, serviceView, unitKey, type CarriedUnit, type ServiceView, type UnitStore, type UnitTag } from './units.js';

export interface RunOptions {
  /** Called after each plugin; used by tests to interrupt a render midway. */
  readonly onPluginDone?: (plugin: string) => void;
  /** Every environment of the topology (for ctx.environment); defaults to just this one. */
  readonly environments?: readonly Environment[];
  /** Report policy groups no given plugin implements (default true; the test harness turns it off). */
  readonly reportUnownedPolicies?: boolean;
  /** Checks of each output item beyond the layout rules (e.g. CRD schemas); they run before anything is written. */
  readonly validators?: readonly OutputValidator[];
  /**
   * Where `renderService` units of the last render are kept (the engine's writer): a unit
   * whose key it still holds is carried, not rendered. Without it every unit is rendered.
   */
  readonly units?: UnitStore;
}

/** What a streamed render leaves in memory: no file contents, and only the objects later plugins read. */
export interface StreamedEnvironment {
  readonly environment: string;
  /** Files written to the sink, per plugin. */
  readonly counts: ReadonlyMap<string, number>;
  readonly logs: readonly LogEntry[];
}

const withEnv = (env: Environment, ds: readonly Diagnostic[]): Diagnostic[] => ds.map((d) => ({ ...d, environment: d.environment ?? env.name }));

/** Renders in memory: every item kept (frozen, in path order) with its serialized file. */
export async function runPlugins(env: Environment, plugins: readonly LoadedPlugin[], run: RunOptions = {}): Promise<Result<RenderResult>> {
  const files: OutputFile[] = [];
  const r = await render(
    env,
    plugins,
    (f) => void files.push(f),
    run,
    () => true,
  );
  if (!r.ok) return r;
  const byPath = (a: { path: string }, b: { path: string }): number => byString(a.path, b.path);
  return ok({
    environment: env.name,
    emitted: r.value.emitted.sort(byPath),
    files: new Map(files.sort(byPath).map((f) => [f.path, { content: f.content, plugin: f.plugin }])),
    logs: r.value.logs,
  });
}

/**
 * Renders into a sink: each file leaves as soon as its plugin emits it, serialized and
 * validated, and only what a later plugin reads (`after`) is kept. On failure the sink has
 * seen part of the output; the caller discards it (the engine streams into a staging tree).
 */
export async function streamPlugins(
  env: Environment,
  plugins: readonly LoadedPlugin[],
  sink: FileSink,
  run: RunOptions = {},
): Promise<Result<StreamedEnvironment>> {
  const r = await render(env, plugins, sink, run, readByLaterPlugins(plugins));
  if (!r.ok) return r;
  return ok({ environment: env.name, counts: r.value.counts, logs: r.value.logs });
}

/** A plugin's output is kept when another plugin runs after it (by name, or `after: '*'`). */
function readByLaterPlugins(plugins: readonly LoadedPlugin[]): (plugin: string) => boolean {
  const read = new Set<string>();
  const everything = plugins.some((p) => p.definition.after === '*');
  for (const p of plugins) {
    const after = p.definition.after;
    if (Array.isArray(after)) for (const a of after as readonly string[]) read.add(a.endsWith('?') ? a.slice(0, -1) : a);
  }
  return (plugin) => everything || read.has(plugin);
}

async function render(
  env: Environment,
  plugins: readonly LoadedPlugin[],
  sink: FileSink,
  run: RunOptions,
  retain: (plugin: string) => boolean,
): Promise<Result<{ emitted: Emitted[]; logs: LogEntry[]; counts: ReadonlyMap<string, number> }>> {
  const environments = deepFreeze(run.environments ?? [env]);
  deepFreeze(env);
  // 1. Who runs, in which order, with which options — all problems at once, before anything runs.
  const { ordered, diagnostics: orderProblems } = orderPlugins(plugins);
  const { options, diagnostics: optionProblems } = resolveOptions(env, ordered);
  const setup = [...duplicateNames(plugins), ...orderProblems, ...optionProblems];
  if (setup.length > 0) return fail(withEnv(env, setup));
  // 2. Input: the policy groups plugins own, then every plugin's cross-field checks.
  const input = [
    ...checkPolicies(env, ordered, { reportUnowned: run.reportUnownedPolicies ?? true }),
    ...(await runChecks(env, ordered, options, environments)),
  ];
  if (input.length > 0) return fail(withEnv(env, input));
  // 3. Render, plugin by plugin; 4. each item is serialized and validated (layout, CRDs) as it
  // is emitted, and reaches the sink only when it passes. Any problem fails the whole render.
  const output = new OutputPipeline(env, run.validators ?? [], sink);
  const rendered = await renderAll(env, ordered, options, environments, run, output, retain);
  if (!rendered.ok) return fail(withEnv(env, rendered.diagnostics));
  const problems = output.finish();
  if (problems.length > 0) return fail(withEnv(env, problems));
  return ok({ ...rendered.value, counts: output.counts });
}

async function renderAll(
  env: Environment,
  ordered: readonly LoadedPlugin[],
  options: ReadonlyMap<string, unknown>,
  environments: readonly Environment[],
  run: RunOptions,
  output: OutputPipeline,
  retain: (plugin: string) => boolean,
): Promise<Result<{ emitted: Emitted[]; logs: LogEntry[] }>> {
  const emitted: Emitted[] = [];
  const logs: LogEntry[] = [];
  const claims = new Claims(env);
  // Units carried from the last render: checked against what is rendered once all of it is (see checkCarried).
  const carriedUnits: CarriedUnits = [];
  for (const p of ordered) {
    const plugin = p.definition.name;
    const keep = retain(plugin);
    // ctx.emitted() shows what earlier plugins emitted: this plugin's items join after it ran.
    const mine: Emitted[] = [];
    let unit: UnitTag | undefined;
    const out = (item: Emitted): void => {
      output.add(item, unit);
      if (keep) mine.push(item);
    };
    const inputs = { env, environments, plugin, options: options.get(plugin), claims, emitted, logs, out, retain: keep };
    const problems: Diagnostic[] = [];
    const hooks = p.definition.hooks;
    if (hooks.render) {
      const { ctx, problems: found } = renderContext(inputs);
      try {
        await hooks.render(ctx);
      } catch (err) {
        found.push(threw(plugin, 'render', err));
      }
      problems.push(...found);
    }
    if (hooks.renderService && problems.length === 0) {
      // A unit is carried only when nothing reads the plugin's objects (a later plugin needs them whole).
      const units = run.units && !keep ? carrier(p, run.units, options.get(plugin)) : undefined;
      for (const service of env.services) {
        const view = serviceView(env, service);
        const key = units?.key(view);
        const carried = units && key !== undefined ? units.carry(service.name, key) : undefined;
        if (carried) {
          output.carried(plugin, carried.count);
          carriedUnits.push({ plugin, unit: carried });
          continue;
        }
        unit = key !== undefined ? { service: service.name, key } : undefined;
        const { ctx, problems: found } = serviceContext(inputs, view);
        try {
          await hooks.renderService(ctx);
        } catch (err) {
          found.push(threw(plugin, `renderService (${service.name})`, err));
        }
        unit = undefined;
        problems.push(...found);
        if (problems.length > 0) break;
      }
    }
    // Later plugins may read this plugin's output; stop rather than feed them half of it. A
    // clash with a carried file so far is told too, as it was when carried files were claimed.
    if (problems.length > 0) return fail([...problems, ...checkCarried(carriedUnits, claims, output, ordered)]);
    // Not push(...mine): a spread passes every object as an argument and overflows the stack at ~300k.
    for (const e of mine) emitted.push(e);
    run.onPluginDone?.(plugin);
  }
  const clashes = checkCarried(carriedUnits, claims, output, ordered);
  if (clashes.length > 0) return fail(clashes);
  return ok({ emitted, logs });
}

type CarriedUnits = { readonly plugin: string; readonly unit: CarriedUnit }[];

/**
 * The carried units' files against the items this render made. Carried files cannot clash
 * with each other: a record names only units that were in the render that wrote it, which
 * checked them against each other (rendered there, or carried and checked here in turn). So
 * nothing is noted for a carried file: its path is looked up in the claims and its identities
 * in the layout rule's, once every rendered item is in — and not at all when nothing was
 * rendered. Claiming and noting every carried file as its unit was carried was ~10 % of a
 * re-render after a one-service change at 112,585 files (issue 19). A clash is told as a claim
 * in run order would have told it: by the plugin that runs later, naming the one before.
 */
function checkCarried(units: CarriedUnits, claims: Claims, output: OutputPipeline, ordered: readonly LoadedPlugin[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  // Every rendered item claims its path before anything else of it is noted.
  if (units.length === 0 || claims.size === 0) return problems;
  const rank = new Map(ordered.map((p, i) => [p.definition.name, i]));
  for (const { plugin, unit } of units) {
    for (const f of unit.files()) {
      const other = claims.ownerOf(f.path);
      if (other === undefined) {
        output.carriedFile(plugin, f);
        continue;
      }
      // The same plugin (another service's unit): the path twice, whichever came first.
      const later = rank.get(other)! > rank.get(plugin)! ? other : plugin;
      const first = later === plugin ? other : plugin;
      problems.push({ code: 'PLUGIN_PATH_CONFLICT', plugin: later, message: pathConflict(later, first, f.path), hint: PATH_CONFLICT_HINT });
    }
  }
  return problems;
}

/**
 * How a plugin's units are keyed and carried; undefined when they cannot be (no fingerprint:
 * a plugin given in code, or one too large to hash). The plugin's code is hashed only here,
 * when its units may be carried: it takes milliseconds.
 */
function carrier(
  p: LoadedPlugin,
  store: UnitStore,
  options: unknown,
): { key(view: ServiceView): string; carry(service: string, key: string): CarriedUnit | undefined } | undefined {
  const fingerprint = p.fingerprint ?? (p.file !== undefined ? pluginFingerprint(p.file, store.fingerprints) : undefined);
  if (fingerprint === undefined) return undefined;
  const plugin = p.definition.name;
  return {
    key: (view) => unitKey(store.salt, fingerprint, plugin, options, view),
    carry: (service, key) => store.carry(plugin, service, key),
  };
}
