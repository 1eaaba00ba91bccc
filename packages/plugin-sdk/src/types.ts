/**
 * The plugin contract, version 1. A plugin is a plain object made by definePlugin():
 * a name, the contract version it was built for, an options schema, and hooks. Each hook
 * receives one typed context holding everything it may do.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { Diagnostic, Environment } from '@topoforge/model';

export const CONTRACT_VERSION = 1 as const;
export const PLUGIN_TYPE = 'topoforge.plugin' as const;

/** A Kubernetes object as plugins emit it. Only the identifying fields are typed. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Where an object is applied: one DC's cluster, or environment-wide (not tied to a cluster). */
export type Target = { readonly dc: string } | { readonly environment: true };

export interface EmitObjectOptions {
  /** The service the object belongs to; adds the `topoforge.io/service` label. */
  readonly service?: string;
  /** Overrides the default path (relative to the environment's output directory). */
  readonly path?: string;
}

interface EmittedBase {
  /** Path relative to the environment's output directory, `/`-separated. */
  readonly path: string;
  readonly plugin: string;
  readonly service?: string;
  readonly dc?: string;
}
export interface EmittedObject extends EmittedBase {
  readonly type: 'object';
  /** The object with topoforge's labels added; frozen. */
  readonly object: Readonly<KubeObject>;
}
export interface EmittedFile extends EmittedBase {
  readonly type: 'file';
  readonly content: string;
}
export type Emitted = EmittedObject | EmittedFile;

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export interface LogEntry {
  readonly plugin: string;
  readonly level: 'info' | 'warn';
  readonly message: string;
}

export interface ReportOptions {
  /** Field path in the environment (dot-separated, e.g. `services.store.policies.backup`) to point the error at. */
  readonly field?: string;
  readonly hint?: string;
}

export interface RenderContext<O> {
  /** The resolved environment: placement, recovery order, per-DC service lists. */
  readonly env: Environment;
  /** This plugin's options, validated against its schema, defaults applied. */
  readonly options: O;
  /**
   * Another environment of the same topology, resolved (e.g. staging reads production to
   * set up restore drills); undefined when there is no environment of that name.
   */
  environment(name: string): Environment | undefined;
  /** Labelled with the plugin's name. */
  readonly log: Logger;
  /** Emit a Kubernetes object for one DC's cluster or for the environment. */
  object(target: Target, object: KubeObject, options?: EmitObjectOptions): void;
  /** Emit a text file at a path relative to the environment's output directory. */
  file(path: string, content: string, options?: { readonly service?: string; readonly dc?: string }): void;
  /** Render a handlebars template (strict: a missing field is an error; no HTML escaping). */
  renderTemplate(source: string, data: unknown): string;
  /** Render a handlebars template into a text file. */
  template(path: string, source: string, data: unknown, options?: { readonly service?: string; readonly dc?: string }): void;
  /** What plugins that ran before this one emitted (declare them in `after`). */
  emitted(): readonly Emitted[];
  /** Report a problem as a value; the render fails after this plugin finishes, and writes nothing. */
  error(message: string, options?: ReportOptions): void;
}

export interface PlanSection {
  readonly title: string;
  /** Preformatted text (tables), printed as is. */
  readonly body: string;
}

export interface PlanContext<O> {
  readonly env: Environment;
  readonly options: O;
  readonly log: Logger;
  /** Everything every plugin emitted for this environment. */
  emitted(): readonly Emitted[];
  /** Arguments of `topoforge plan`, e.g. { month: '2026-02' }. */
  readonly args: Readonly<Record<string, string>>;
}

export interface PluginHooks<O> {
  /** Emits the plugin's output for one environment. */
  render(ctx: RenderContext<O>): void | Promise<void>;
  /** Adds sections to `topoforge plan`. */
  plan?(ctx: PlanContext<O>): readonly PlanSection[] | Promise<readonly PlanSection[]>;
}

export interface PluginDefinition<O = Record<string, unknown>> {
  readonly $$type: typeof PLUGIN_TYPE;
  readonly contract: number;
  readonly name: string;
  readonly description: string;
  /** Plugins that must run first when they are enabled; `'*'` = after every other plugin. */
  readonly after: readonly string[] | '*';
  /** JSON Schema of the options (TypeBox schemas are JSON Schema). */
  readonly options: TSchema;
  readonly hooks: PluginHooks<O>;
}

export interface PluginSpec<S extends TSchema> {
  readonly name: string;
  readonly description: string;
  readonly after?: readonly string[] | '*';
  readonly options: S;
  readonly render: PluginHooks<Static<S>>['render'];
  readonly plan?: PluginHooks<Static<S>>['plan'];
}

/** A render result for one environment, in memory. */
export interface RenderResult {
  readonly environment: string;
  /** Every emitted item in path order. */
  readonly emitted: readonly Emitted[];
  /** Serialized file content by path. */
  readonly files: ReadonlyMap<string, { readonly content: string; readonly plugin: string }>;
  readonly logs: readonly LogEntry[];
}

export type { Diagnostic };
