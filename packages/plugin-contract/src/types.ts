/**
 * The plugin contract, version 2. A plugin is a plain object made by definePlugin():
 * a name, the contract version it was built for, an options schema, the policy groups it
 * owns (with their schemas), hooks (`check`, `render`, `plan`) and review rules. Each hook
 * receives one typed context holding everything it may do; what a hook reads is frozen.
 *
 * v1 → v2: rebuild with this package's definePlugin (it stamps `contract: 2`); a plugin
 * that validated its policies inside `render` declares them under `policies` and moves
 * cross-field rules into `check`.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { DataCenter, Diagnostic, Environment, Region, Service, Stage, Tier } from '@topoforge/model';

export const CONTRACT_VERSION = 2 as const;
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

/** Catalog codes a plugin may report an input problem under, besides its default `PLUGIN_VALIDATION_FAILED`. */
export type InputProblemCode = 'TOPOLOGY_INVALID_VALUE' | 'TOPOLOGY_MISSING_FIELD' | 'TOPOLOGY_NAME_TOO_LONG' | 'TOPOLOGY_NAME_COLLISION';

export interface ReportOptions {
  /** Field path in the environment (dot-separated, e.g. `services.store.policies.backup`) to point the error at. */
  readonly field?: string;
  readonly hint?: string;
  /**
   * The owner of a policy group reports a value that breaks a rule of the group under the
   * code the model used when it owned such rules (`TOPOLOGY_INVALID_VALUE`), so moving a
   * group out of the model changes no code a script matches on. Default `PLUGIN_VALIDATION_FAILED`.
   */
  readonly code?: InputProblemCode;
  /** Point the position at the field's key (a service's or policy's name) rather than its value. Default `value`. */
  readonly at?: 'key' | 'value';
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

/** A DC as one service's render sees it: without the list of the other services placed there. */
export type ServiceDataCenter = Omit<DataCenter, 'services'>;

/**
 * What `renderService` receives: one service and the shape of the environment around it, and
 * nothing about the other services. Because its output can depend on nothing else, the host
 * renders a service again only when this view, the plugin's options or the plugin's code
 * changed; otherwise the files the service's render wrote last time are carried into the new
 * tree unread and unwritten (issue 19: a one-service change re-renders one service).
 */
export interface ServiceRenderContext<O> {
  readonly environment: { readonly name: string; readonly stage: Stage };
  readonly service: Service;
  /** The DCs the service runs in, in rotation order. */
  readonly dataCenters: readonly ServiceDataCenter[];
  /** Every region of the environment (time zones, business units, their DCs). */
  readonly regions: readonly Region[];
  /** This plugin's options, validated against its schema, defaults applied. */
  readonly options: O;
  /** Labelled with the plugin's name. Not repeated when the service's output is carried over unchanged. */
  readonly log: Logger;
  /** Emit an object of this service (it gets the `topoforge.io/service` label) for one of its DCs or for the environment. */
  object(target: Target, object: KubeObject, options?: { readonly path?: string }): void;
  /** Emit a text file of this service. */
  file(path: string, content: string, options?: { readonly dc?: string }): void;
  renderTemplate(source: string, data: unknown): string;
  template(path: string, source: string, data: unknown, options?: { readonly dc?: string }): void;
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

/**
 * `check` runs for every plugin before any plugin renders, so one render reports every
 * plugin's input problems at once. It reads the frozen model and reports, never emits.
 */
export interface CheckContext<O> {
  readonly env: Environment;
  readonly options: O;
  /** Another environment of the same topology, resolved. */
  environment(name: string): Environment | undefined;
  /** Report a problem at a field of the environment (`policies.sessionCache.default.replicas`): the render fails with its position. */
  error(message: string, options?: ReportOptions): void;
}

/** Where a review rule looks: an API group (`''` for core) and a kind. */
export interface ObjectKind {
  readonly group: string;
  readonly kind: string;
}

export interface ReviewContext {
  readonly environment: string;
  /** The DC of the object (`clusters/<dc>/…`), or its top-level directory. */
  readonly where: string;
  /** The tier of a service in the rendered model, when known (a directory on disk does not say). */
  tier(service: string): Tier | undefined;
}

/** How bad a flagged change is; `topoforge diff` lists flags most severe first. */
export type RiskSeverity = 'critical' | 'high' | 'medium' | 'low';

interface RiskRuleBase {
  /** Permanent id, kebab-case, e.g. `backup-retention-reduced`. */
  readonly id: string;
  /** Shown as the flag's heading, e.g. `Backup retention reduced`. */
  readonly title: string;
  readonly kinds: readonly ObjectKind[];
  /** Default `medium`. */
  readonly severity?: RiskSeverity;
  /** Why it matters, one line a reviewer reads to judge the flag. */
  readonly why?: string;
}

/**
 * A risk rule a plugin contributes to `topoforge diff`: for every object of one of `kinds`
 * present before or after a change (same identity: DC, group, kind, namespace, name),
 * `compare` returns what a reviewer must not miss, one line per finding; none = no flag.
 */
export interface RiskRuleDefinition extends RiskRuleBase {
  compare(before: Readonly<KubeObject> | undefined, after: Readonly<KubeObject> | undefined, ctx: ReviewContext): readonly string[];
}

/** An object as an environment-wide rule sees it: the object and where it is applied. */
export interface ReviewedObject {
  readonly object: Readonly<KubeObject>;
  /** The DC of the object (`clusters/<dc>/…`), or its top-level directory. */
  readonly where: string;
}

/** What an environment-wide rule found. */
export interface RiskFinding {
  /** What the flag is about, e.g. `storage location backups-dc03` or `alert TrafficDrop`. */
  readonly subject: string;
  readonly detail: string;
  /** The DC it happens in; absent = the environment as a whole. */
  readonly where?: string;
  /** One of the objects handed to `compareAll` that the finding is about: the flag points at its file and service. */
  readonly about?: ReviewedObject;
}

export interface EnvironmentReviewContext {
  readonly environment: string;
  /** The tier of a service in the rendered model, when known. */
  tier(service: string): Tier | undefined;
}

/**
 * A risk rule over every object of its `kinds` at once, for changes no single object shows:
 * a storage location that no Schedule writes to any more, an alert that moved between
 * PrometheusRules. `before` and `after` are sorted by DC and identity.
 */
export interface EnvironmentRiskRuleDefinition extends RiskRuleBase {
  compareAll(before: readonly ReviewedObject[], after: readonly ReviewedObject[], ctx: EnvironmentReviewContext): readonly RiskFinding[];
}

/** A review rule: per object (`compare`), or over the environment's objects of its kinds (`compareAll`). */
export type ReviewRule = RiskRuleDefinition | EnvironmentRiskRuleDefinition;

/**
 * Policy groups a plugin owns: group name (the key under `policies:` and under
 * `services.<name>.policies`) → TypeBox schema of one named policy. The model resolves
 * references generically; the host validates every definition against this schema, with
 * file, line and column.
 */
export type PolicySchemas = Readonly<Record<string, TSchema>>;

export interface PluginHooks<O> {
  /** Cross-field rules on the model and options, with positioned errors; runs before any render. */
  check?(ctx: CheckContext<O>): void | Promise<void>;
  /** Emits the plugin's output for one environment (what is not one service's alone). */
  render?(ctx: RenderContext<O>): void | Promise<void>;
  /**
   * Emits what belongs to one service, from that service alone; called once per service,
   * after `render`. Output written here is re-rendered only when its service (or the plugin)
   * changed. A plugin has `render`, `renderService` or both.
   */
  renderService?(ctx: ServiceRenderContext<O>): void | Promise<void>;
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
  /** Policy groups this plugin owns, with the schema of one policy. */
  readonly policies: PolicySchemas;
  readonly hooks: PluginHooks<O>;
  /** Risk rules `topoforge diff` runs besides the built-in ones. */
  readonly review: readonly ReviewRule[];
}

interface PluginSpecBase<S extends TSchema> {
  readonly name: string;
  readonly description: string;
  readonly after?: readonly string[] | '*';
  readonly options: S;
  readonly policies?: PolicySchemas;
  readonly check?: PluginHooks<Static<S>>['check'];
  readonly plan?: PluginHooks<Static<S>>['plan'];
  readonly review?: readonly ReviewRule[];
}

/** What definePlugin takes: `render`, `renderService` or both. */
export type PluginSpec<S extends TSchema> = PluginSpecBase<S> &
  (
    | { readonly render: NonNullable<PluginHooks<Static<S>>['render']>; readonly renderService?: PluginHooks<Static<S>>['renderService'] }
    | { readonly render?: PluginHooks<Static<S>>['render']; readonly renderService: NonNullable<PluginHooks<Static<S>>['renderService']> }
  );

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
