/**
 * The `check` hook of every plugin, before any plugin renders: one render reports every
 * plugin's input problems at once, each at the field it names.
 */
import { locate, type Diagnostic, type Environment } from '@topoforge/model';
import type { CheckContext, ReportOptions } from '@topoforge/plugin-contract';
import { fieldToPointer } from './freeze.js';
import type { LoadedPlugin } from './loaded.js';
import { threw } from './threw.js';

/** A problem at a field of the environment, positioned through the source map. */
export function fieldProblem(env: Environment, plugin: string, code: Diagnostic['code'], message: string, opts: ReportOptions = {}): Diagnostic {
  const position = opts.field !== undefined ? locate(env.sourceMap, fieldToPointer(opts.field), opts.at ?? 'value') : undefined;
  return { code, plugin, message, ...(opts.hint ? { hint: opts.hint } : {}), ...(opts.field ? { field: opts.field } : {}), ...(position ? { position } : {}) };
}

export async function runChecks(
  env: Environment,
  plugins: readonly LoadedPlugin[],
  options: ReadonlyMap<string, unknown>,
  environments: readonly Environment[],
): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const p of plugins) {
    const check = p.definition.hooks.check;
    if (!check) continue;
    const plugin = p.definition.name;
    const ctx: CheckContext<never> = {
      env,
      options: options.get(plugin) as never,
      environment: (name) => environments.find((e) => e.name === name),
      error: (message, opts) => void out.push(fieldProblem(env, plugin, opts?.code ?? 'PLUGIN_VALIDATION_FAILED', message, opts)),
    };
    try {
      await check(ctx);
    } catch (err) {
      out.push(threw(plugin, 'check', err));
    }
  }
  return out;
}
