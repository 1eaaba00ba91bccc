/**
 * Runs plugins for one environment, in memory: validates their options, calls their
 * hooks in order with one typed context each, checks and labels what they emit, and
 * serializes it. Nothing here touches the file system: the engine writes the result
 * only when every plugin of every environment succeeded.
 */
import { checkSchema, locate, type Diagnostic, type Environment, type PluginUse, type Result } from '@topoforge/model';
import { toYaml } from '@topoforge/yaml-emit';
import { LABEL_DC, LABEL_ENVIRONMENT, LABEL_MANAGED_BY, LABEL_SERVICE, MANAGED_BY } from './labels.js';
import { orderPlugins } from './order.js';
import { defaultObjectPath, pathProblem } from './paths.js';
import { renderTemplate } from './templates.js';
import {
  CONTRACT_VERSION,
  PLUGIN_TYPE,
  type Emitted,
  type EmitObjectOptions,
  type KubeObject,
  type LogEntry,
  type PlanSection,
  type PluginDefinition,
  type RenderContext,
  type RenderResult,
  type Target,
} from './types.js';

export interface LoadedPlugin {
  // The runner treats every plugin alike; option types are checked by the schema at run time.
  readonly definition: PluginDefinition<never>;
  readonly use: PluginUse;
}

/** Checks the envelope of something a module exported as a plugin. */
export function checkDefinition(value: unknown, use: Pick<PluginUse, 'name' | 'package' | 'position'>): Diagnostic[] {
  const where = use.position ? { position: use.position } : {};
  const v = value as Partial<PluginDefinition> | null;
  if (!v || typeof v !== 'object' || v.$$type !== PLUGIN_TYPE) {
    return [{ code: 'PLUGIN_INVALID_DEFINITION', plugin: use.name, message: `${use.package} does not export a topoforge plugin`, hint: 'export default definePlugin({...}) from @topoforge/plugin-sdk', ...where }];
  }
  if (v.contract !== CONTRACT_VERSION) {
    return [{ code: 'PLUGIN_CONTRACT_VERSION', plugin: use.name, message: `${use.package} was built for plugin contract v${String(v.contract)}; this topoforge speaks v${CONTRACT_VERSION}`, hint: 'upgrade the plugin or topoforge so both use the same contract', ...where }];
  }
  if (v.name !== use.name) {
    return [{ code: 'PLUGIN_INVALID_DEFINITION', plugin: use.name, message: `${use.package} calls itself "${String(v.name)}" but is configured as "${use.name}"`, hint: `use the key "${String(v.name)}" under plugins`, ...where }];
  }
  if (!v.hooks || typeof v.hooks.render !== 'function') {
    return [{ code: 'PLUGIN_INVALID_DEFINITION', plugin: use.name, message: `${use.package} has no render hook`, ...where }];
  }
  return [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

function fieldToPointer(field: string): string {
  return field === '' ? '' : '/' + field.split('.').map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

export interface RunOptions {
  /** Called after each plugin; used by tests to interrupt a render midway. */
  readonly onPluginDone?: (plugin: string) => void;
  /** Every environment of the topology (for ctx.environment); defaults to just this one. */
  readonly environments?: readonly Environment[];
}

export async function runPlugins(env: Environment, plugins: readonly LoadedPlugin[], runOptions: RunOptions = {}): Promise<Result<RenderResult>> {
  const diagnostics: Diagnostic[] = [];
  const seenNames = new Map<string, LoadedPlugin>();
  for (const p of plugins) {
    const prev = seenNames.get(p.definition.name);
    if (prev) {
      diagnostics.push({ code: 'PLUGIN_DUPLICATE_NAME', plugin: p.definition.name, environment: env.name, message: `two plugins are named "${p.definition.name}": ${prev.use.package} and ${p.use.package}`, hint: 'plugin names must be unique' });
    }
    seenNames.set(p.definition.name, p);
  }
  const { ordered, diagnostics: orderProblems } = orderPlugins(plugins);
  diagnostics.push(...orderProblems);
  // Options: all plugins' problems are reported together, before anything runs.
  const options = new Map<string, unknown>();
  for (const p of ordered) {
    const data = structuredClone(p.use.options) as unknown;
    const problems = checkSchema(p.definition.options, data, env.sourceMap, {
      basePointer: `/plugins/${p.use.name}/options`,
      code: 'PLUGIN_INVALID_OPTIONS',
      plugin: p.definition.name,
      environment: env.name,
      useDefaults: true,
    });
    diagnostics.push(...problems);
    options.set(p.definition.name, deepFreeze(data));
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics };

  const emitted: Emitted[] = [];
  const owner = new Map<string, string>();
  const logs: LogEntry[] = [];
  const dcNames = new Set(env.dataCenters.map((d) => d.name));
  const serviceNames = new Set(env.services.map((s) => s.name));

  for (const p of ordered) {
    const plugin = p.definition.name;
    const mine: Emitted[] = [];
    const problems: Diagnostic[] = [];
    const problem = (code: Diagnostic['code'], message: string, hint?: string, field?: string): void => {
      const position = field !== undefined ? locate(env.sourceMap, fieldToPointer(field)) : undefined;
      problems.push({ code, plugin, environment: env.name, message, ...(hint ? { hint } : {}), ...(field ? { field } : {}), ...(position ? { position } : {}) });
    };
    const claim = (path: string): boolean => {
      const why = pathProblem(path);
      if (why) {
        problem('PLUGIN_PATH_ESCAPE', `cannot write "${path}": ${why}`, 'emit paths relative to the environment directory');
        return false;
      }
      const other = owner.get(path);
      if (other !== undefined) {
        problem('PLUGIN_PATH_CONFLICT', other === plugin ? `writes "${path}" twice` : `writes "${path}", which plugin "${other}" already wrote`, 'give each output its own path (e.g. include the DC or service name)');
        return false;
      }
      owner.set(path, plugin);
      return true;
    };
    const checkScope = (service: string | undefined, dc: string | undefined): boolean => {
      if (dc !== undefined && !dcNames.has(dc)) {
        problem('PLUGIN_INVALID_OBJECT', `emits for unknown data centre "${dc}"`, `known: ${[...dcNames].join(', ')}`);
        return false;
      }
      if (service !== undefined && !serviceNames.has(service)) {
        problem('PLUGIN_INVALID_OBJECT', `emits for unknown service "${service}"`);
        return false;
      }
      return true;
    };
    const ctx: RenderContext<never> = {
      env,
      options: options.get(plugin) as never,
      environment: (name) => (runOptions.environments ?? [env]).find((e) => e.name === name),
      log: {
        info: (message) => logs.push({ plugin, level: 'info', message }),
        warn: (message) => logs.push({ plugin, level: 'warn', message }),
      },
      object(target: Target, object: KubeObject, opts: EmitObjectOptions = {}) {
        const o = object as unknown;
        if (!isObject(o) || typeof o.apiVersion !== 'string' || !o.apiVersion || typeof o.kind !== 'string' || !o.kind || !isObject(o.metadata) || typeof o.metadata.name !== 'string' || !o.metadata.name) {
          const id = isObject(o) ? `${String(o.kind ?? '?')}/${String(isObject(o.metadata) ? (o.metadata.name ?? '?') : '?')}` : typeof o;
          problem('PLUGIN_INVALID_OBJECT', `emitted an object without apiVersion, kind and metadata.name (${id})`, 'every Kubernetes object needs apiVersion, kind and metadata.name');
          return;
        }
        const dc = 'dc' in target ? target.dc : undefined;
        if (!checkScope(opts.service, dc)) return;
        const copy = structuredClone(object);
        copy.metadata.labels = {
          ...(copy.metadata.labels ?? {}),
          [LABEL_MANAGED_BY]: MANAGED_BY,
          [LABEL_ENVIRONMENT]: env.name,
          ...(opts.service ? { [LABEL_SERVICE]: opts.service } : {}),
          ...(dc ? { [LABEL_DC]: dc } : {}),
        };
        const path = opts.path ?? defaultObjectPath(plugin, target, copy.kind, copy.metadata.name, copy.metadata.namespace);
        if (!claim(path)) return;
        mine.push({ type: 'object', path, plugin, object: deepFreeze(copy), ...(opts.service ? { service: opts.service } : {}), ...(dc ? { dc } : {}) });
      },
      file(path, content, opts = {}) {
        if (typeof content !== 'string') {
          problem('PLUGIN_INVALID_OBJECT', `file "${path}" content is not a string`);
          return;
        }
        if (!checkScope(opts.service, opts.dc)) return;
        if (!claim(path)) return;
        mine.push({ type: 'file', path, plugin, content, ...(opts.service ? { service: opts.service } : {}), ...(opts.dc ? { dc: opts.dc } : {}) });
      },
      renderTemplate(source, data) {
        return renderTemplate(source, data);
      },
      template(path, source, data, opts = {}) {
        let text: string;
        try {
          text = renderTemplate(source, data);
        } catch (err) {
          problem('PLUGIN_TEMPLATE_ERROR', `template for "${path}" failed: ${(err as Error).message.split('\n')[0]}`, 'strict mode: every field the template uses must exist in its data');
          return;
        }
        ctx.file(path, text, opts);
      },
      emitted: () => emitted,
      error(message, opts = {}) {
        problem('PLUGIN_VALIDATION_FAILED', message, opts.hint, opts.field);
      },
    };
    try {
      await p.definition.hooks.render(ctx);
    } catch (err) {
      const e = err as Error;
      const frame = (e.stack ?? '').split('\n').find((l) => l.trim().startsWith('at '))?.trim();
      problem('PLUGIN_THREW', `threw during render: ${e?.message ?? String(err)}${frame ? ` (${frame})` : ''}`, 'a bug in the plugin; report errors with ctx.error() instead of throwing');
    }
    if (problems.length > 0) {
      diagnostics.push(...problems);
      // Later plugins may read this plugin's output; stop rather than feed them half of it.
      break;
    }
    emitted.push(...mine);
    runOptions.onPluginDone?.(plugin);
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics };

  emitted.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files = new Map<string, { content: string; plugin: string }>();
  for (const e of emitted) {
    try {
      files.set(e.path, { content: e.type === 'object' ? toYaml(e.object) : e.content, plugin: e.plugin });
    } catch (err) {
      return { ok: false, diagnostics: [{ code: 'PLUGIN_INVALID_OBJECT', plugin: e.plugin, environment: env.name, message: `cannot serialize ${e.path}: ${(err as Error).message}` }] };
    }
  }
  return { ok: true, value: { environment: env.name, emitted, files, logs } };
}

/** Collects `plan` sections from every plugin that has the hook, in plugin order. */
export async function runPlanHooks(env: Environment, plugins: readonly LoadedPlugin[], result: RenderResult, args: Readonly<Record<string, string>> = {}): Promise<Result<{ plugin: string; sections: readonly PlanSection[] }[]>> {
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
      return { ok: false, diagnostics: [{ code: 'PLUGIN_THREW', plugin: p.definition.name, environment: env.name, message: `threw during plan: ${(err as Error).message}` }] };
    }
  }
  return { ok: true, value: out };
}
