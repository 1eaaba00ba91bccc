/**
 * Runs plugins for one environment, in memory. Read `runPlugins` as a table of contents:
 * each step is a small function in its own file. Nothing here touches the file system:
 * the engine writes the result only when every plugin of every environment succeeded.
 */
import { fail, ok, type Diagnostic, type Environment, type Result } from '@topoforge/model';
import type { Emitted, LogEntry, RenderResult } from '@topoforge/plugin-contract';
import { runChecks } from './check.js';
import { Claims } from './claims.js';
import { renderContext } from './context.js';
import { deepFreeze } from './freeze.js';
import type { LoadedPlugin } from './loaded.js';
import { duplicateNames } from './names.js';
import { resolveOptions } from './options.js';
import { orderPlugins } from './order.js';
import { checkPolicies } from './policies.js';
import { serialize } from './serialize.js';
import { threw } from './threw.js';
import { validateOutput, type OutputValidator } from './validate.js';

export interface RunOptions {
  /** Called after each plugin; used by tests to interrupt a render midway. */
  readonly onPluginDone?: (plugin: string) => void;
  /** Every environment of the topology (for ctx.environment); defaults to just this one. */
  readonly environments?: readonly Environment[];
  /** Report policy groups no given plugin implements (default true; the test harness turns it off). */
  readonly reportUnownedPolicies?: boolean;
  /** Checks of the output beyond the layout rules (e.g. CRD schemas); they run before anything is written. */
  readonly validators?: readonly OutputValidator[];
}

const withEnv = (env: Environment, ds: readonly Diagnostic[]): Diagnostic[] => ds.map((d) => ({ ...d, environment: d.environment ?? env.name }));

export async function runPlugins(env: Environment, plugins: readonly LoadedPlugin[], run: RunOptions = {}): Promise<Result<RenderResult>> {
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
  // 3. Render, plugin by plugin.
  const rendered = await renderAll(env, ordered, options, environments, run);
  if (!rendered.ok) return fail(withEnv(env, rendered.diagnostics));
  const { emitted, logs } = rendered.value;
  // 4. Serialize and validate the output (layout, CRDs) before the engine writes anything.
  const { files, diagnostics: serializeProblems } = serialize(emitted);
  const output = serializeProblems.length > 0 ? serializeProblems : validateOutput({ env, emitted, files }, run.validators ?? []);
  if (output.length > 0) return fail(withEnv(env, output));
  return ok({ environment: env.name, emitted, files, logs });
}

async function renderAll(
  env: Environment,
  ordered: readonly LoadedPlugin[],
  options: ReadonlyMap<string, unknown>,
  environments: readonly Environment[],
  run: RunOptions,
): Promise<Result<{ emitted: Emitted[]; logs: LogEntry[] }>> {
  const emitted: Emitted[] = [];
  const logs: LogEntry[] = [];
  const claims = new Claims(env);
  for (const p of ordered) {
    const plugin = p.definition.name;
    const { ctx, mine, problems } = renderContext({ env, environments, plugin, options: options.get(plugin), claims, emitted, logs });
    try {
      await p.definition.hooks.render(ctx);
    } catch (err) {
      problems.push(threw(plugin, 'render', err));
    }
    // Later plugins may read this plugin's output; stop rather than feed them half of it.
    if (problems.length > 0) return fail(problems);
    // Not push(...mine): a spread passes every object as an argument and overflows the stack at ~300k.
    for (const e of mine) emitted.push(e);
    run.onPluginDone?.(plugin);
  }
  return ok({ emitted, logs });
}
