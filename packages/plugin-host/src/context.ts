/**
 * The one typed context a plugin's render hook receives: the frozen model and options,
 * and the ways to emit. Every emission is checked (identity fields, scope, path claim),
 * labelled, copied and frozen; problems are collected as values.
 */
import type { Diagnostic, Environment } from '@topoforge/model';
import {
  LABEL_DC,
  LABEL_ENVIRONMENT,
  LABEL_MANAGED_BY,
  LABEL_SERVICE,
  MANAGED_BY,
  type Emitted,
  type EmittedFile,
  type EmittedObject,
  type EmitObjectOptions,
  type KubeObject,
  type LogEntry,
  type RenderContext,
  type ServiceRenderContext,
  type Target,
} from '@topoforge/plugin-contract';
import type { Service } from '@topoforge/model';
import type { ServiceView } from './units.js';
import type { Claims, Complaint } from './claims.js';
import { fieldProblem } from './check.js';
import { frozenCopy, isObject, type Mutable } from './freeze.js';
import { defaultObjectPath } from './paths.js';
import { renderTemplate } from './templates.js';

export interface ContextInputs {
  readonly env: Environment;
  readonly environments: readonly Environment[];
  readonly plugin: string;
  readonly options: unknown;
  readonly claims: Claims;
  /** What earlier plugins emitted and later plugins may read (frozen items). */
  readonly emitted: readonly Emitted[];
  readonly logs: LogEntry[];
  /** Where each accepted item goes, the moment it is emitted. */
  readonly out: (item: Emitted) => void;
  /**
   * Whether a later plugin may read this plugin's output (ctx.emitted()): only then is each
   * object copied and frozen; otherwise it is serialized at once and not kept.
   */
  readonly retain: boolean;
}

export interface PluginRun {
  readonly ctx: RenderContext<never>;
  readonly problems: Diagnostic[];
}

function identity(o: unknown): string | undefined {
  if (
    isObject(o) &&
    typeof o.apiVersion === 'string' &&
    o.apiVersion &&
    typeof o.kind === 'string' &&
    o.kind &&
    isObject(o.metadata) &&
    typeof o.metadata.name === 'string' &&
    o.metadata.name
  )
    return undefined;
  return isObject(o) ? `${String(o.kind ?? '?')}/${String(isObject(o.metadata) ? (o.metadata.name ?? '?') : '?')}` : typeof o;
}

export function renderContext(inp: ContextInputs): PluginRun {
  const { env, plugin, claims } = inp;
  const problems: Diagnostic[] = [];
  const complain: Complaint = (code, message, hint) => void problems.push({ code, plugin, message, ...(hint ? { hint } : {}) });
  // Optional members are set when present, not spread from an object made for the purpose:
  // every emitted item passes here, and the spreads were ~5 % of a render's time at 100k objects.
  const labels = (o: KubeObject, service: string | undefined, dc: string | undefined): Record<string, string> => {
    const l: Record<string, string> = { ...(o.metadata.labels ?? {}), [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_ENVIRONMENT]: env.name };
    if (service) l[LABEL_SERVICE] = service;
    if (dc) l[LABEL_DC] = dc;
    return l;
  };
  const ctx: RenderContext<never> = {
    env,
    options: inp.options as never,
    environment: (name) => inp.environments.find((e) => e.name === name),
    log: {
      info: (message) => inp.logs.push({ plugin, level: 'info', message }),
      warn: (message) => inp.logs.push({ plugin, level: 'warn', message }),
    },
    object(target: Target, object: KubeObject, opts: EmitObjectOptions = {}) {
      const bad = identity(object);
      if (bad !== undefined)
        return complain(
          'PLUGIN_INVALID_OBJECT',
          `emitted an object without apiVersion, kind and metadata.name (${bad})`,
          'every Kubernetes object needs apiVersion, kind and metadata.name',
        );
      const dc = 'dc' in target ? target.dc : undefined;
      if (!claims.scope(opts.service, dc, complain)) return;
      // The plugin's object is never changed: labels go on a copy of the top and metadata. A
      // retained object is copied whole and frozen, since the plugin may change its own after
      // emitting it; one that is not is serialized by `out` before the plugin runs on.
      const labelled: KubeObject = { ...object, metadata: { ...object.metadata, labels: labels(object, opts.service, dc) } };
      const copy = inp.retain ? frozenCopy(labelled) : labelled;
      const path = opts.path ?? defaultObjectPath(plugin, target, copy.kind, copy.metadata.name, copy.metadata.namespace);
      if (!claims.claim(plugin, path, complain)) return;
      // The same keys, in the same order, as spreading would give.
      const item: Mutable<EmittedObject> = { type: 'object', path, plugin, object: copy };
      if (opts.service) item.service = opts.service;
      if (dc) item.dc = dc;
      inp.out(item);
    },
    file(path, content, opts = {}) {
      if (typeof content !== 'string') return complain('PLUGIN_INVALID_OBJECT', `file "${path}" content is not a string`);
      if (!claims.scope(opts.service, opts.dc, complain)) return;
      if (!claims.claim(plugin, path, complain)) return;
      const item: Mutable<EmittedFile> = { type: 'file', path, plugin, content };
      if (opts.service) item.service = opts.service;
      if (opts.dc) item.dc = opts.dc;
      inp.out(item);
    },
    renderTemplate,
    template(path, source, data, opts = {}) {
      let text: string;
      try {
        text = renderTemplate(source, data);
      } catch (err) {
        return void problems.push({
          code: 'PLUGIN_TEMPLATE_ERROR',
          plugin,
          message: `template for "${path}" failed: ${(err as Error).message.split('\n')[0]}`,
          hint: 'strict mode: every field the template uses must exist in its data',
        });
      }
      ctx.file(path, text, opts);
    },
    emitted: () => inp.emitted,
    error: (message, opts) => void problems.push(fieldProblem(env, plugin, opts?.code ?? 'PLUGIN_VALIDATION_FAILED', message, opts)),
  };
  return { ctx, problems };
}

/**
 * The context of `renderService` for one service: the render context narrowed to the
 * service's view (see units.ts), every output labelled with the service, and only the
 * service's own DCs as targets (what it emits may depend on nothing the key leaves out).
 */
export function serviceContext(inp: ContextInputs, view: ServiceView): { ctx: ServiceRenderContext<never>; problems: Diagnostic[] } {
  const { ctx: whole, problems } = renderContext(inp);
  const service: Service = view.service;
  const ownDc = (dc: string | undefined): boolean => {
    if (dc === undefined || service.dataCenters.includes(dc)) return true;
    problems.push({
      code: 'PLUGIN_INVALID_OBJECT',
      plugin: inp.plugin,
      message: `renderService of "${service.name}" emits for data centre "${dc}", where the service does not run`,
      hint: `a service's output targets its own DCs (${service.dataCenters.join(', ') || 'none'}) or the environment; emit the rest from render`,
    });
    return false;
  };
  /** A file's options in the whole context: the service's, and the DC when one is given. */
  const fileOptions = (dc: string | undefined): { service: string; dc?: string } => {
    const o: { service: string; dc?: string } = { service: service.name };
    if (dc !== undefined) o.dc = dc;
    return o;
  };
  const ctx: ServiceRenderContext<never> = {
    environment: view.environment,
    service,
    dataCenters: view.dataCenters,
    regions: view.regions,
    options: whole.options,
    log: whole.log,
    object(target, object, opts = {}) {
      if (!ownDc('dc' in target ? target.dc : undefined)) return;
      const o: Mutable<EmitObjectOptions> = { service: service.name };
      if (opts.path !== undefined) o.path = opts.path;
      whole.object(target, object, o);
    },
    file(path, content, opts = {}) {
      if (!ownDc(opts.dc)) return;
      whole.file(path, content, fileOptions(opts.dc));
    },
    renderTemplate,
    template(path, source, data, opts = {}) {
      if (!ownDc(opts.dc)) return;
      whole.template(path, source, data, fileOptions(opts.dc));
    },
    error: whole.error,
  };
  return { ctx, problems };
}
