/** `topoforge plan`: the sections every plugin with a plan hook adds, in plugin order. */
import { checkSchema, type Environment, type Result } from '@topoforge/model';
import type { PlanSection, RenderResult } from '@topoforge/plugin-contract';
import type { LoadedPlugin } from './loaded.js';
import { orderPlugins } from './order.js';
import { threw } from './threw.js';

export async function runPlanHooks(
  env: Environment,
  plugins: readonly LoadedPlugin[],
  result: RenderResult,
  args: Readonly<Record<string, string>> = {},
): Promise<Result<{ plugin: string; sections: readonly PlanSection[] }[]>> {
  const { ordered } = orderPlugins(plugins);
  const out: { plugin: string; sections: readonly PlanSection[] }[] = [];
  for (const p of ordered) {
    const plan = p.definition.hooks.plan;
    if (!plan) continue;
    const data = structuredClone(p.use.options) as unknown;
    checkSchema(p.definition.options, data, env.sourceMap, { useDefaults: true });
    try {
      const sections = await plan({ env, options: data as never, args, emitted: () => result.emitted, log: { info: () => {}, warn: () => {} } });
      out.push({ plugin: p.definition.name, sections });
    } catch (err) {
      return { ok: false, diagnostics: [{ ...threw(p.definition.name, 'plan', err), environment: env.name }] };
    }
  }
  return { ok: true, value: out };
}
