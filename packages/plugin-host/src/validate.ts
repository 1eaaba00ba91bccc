/**
 * Validation is a render phase: the output is checked before anything is written, so
 * `render` never leaves a tree that `diff` or `publish` later refuse. The layout rules are
 * what Flux and Argo CD need from `clusters/<dc>/` (they apply every .yaml/.yml/.json file
 * below it: each must hold only Kubernetes objects, and one object may not appear twice in
 * a DC: PLUGIN_OBJECT_CONFLICT when plugins emit it twice); further validators (the engine's CRD check) are passed in. Every problem names
 * the plugin and the object or file.
 */
import { parseAllDocuments } from '@topoforge/bundled-deps/yaml'; // one module, not 84 (see @topoforge/bundled-deps)
import type { Diagnostic, Environment } from '@topoforge/model';
import type { Emitted, KubeObject } from '@topoforge/plugin-contract';
import { byString, isObject } from './freeze.js';
import type { LayoutNote } from './units.js';

const isKube = (v: unknown): v is KubeObject =>
  isObject(v) && typeof v.apiVersion === 'string' && typeof v.kind === 'string' && isObject(v.metadata) && typeof v.metadata.name === 'string';

/** `Kind namespace/name`, as reviewers read it. */
export const objectName = (o: Pick<KubeObject, 'kind' | 'metadata'>): string =>
  `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

function documents(path: string, content: string): unknown[] | undefined {
  if (path.endsWith('.json')) {
    try {
      return [JSON.parse(content) as unknown];
    } catch {
      return undefined;
    }
  }
  const docs = parseAllDocuments(content, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.some((d) => d.errors.length > 0)) return undefined;
  return list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown).filter((v) => v !== null && v !== undefined);
}

/**
 * Two emitted objects with one identity in one cluster would overwrite each other when
 * applied (a service named `session-cache` gets a Namespace from `namespaces` and another
 * from `session-cache`): named with both plugins, and at the service when one is named
 * like the object.
 */
function objectConflict(
  env: Environment,
  o: KubeObject,
  where: string,
  e: { plugin: string; path: string },
  prev: { plugin: string; path: string },
): Diagnostic {
  const ns = typeof o.metadata.namespace === 'string' ? o.metadata.namespace : '';
  const svc = env.services.find((s) => s.name === o.metadata.name || s.namespace === o.metadata.name || s.namespace === ns);
  const at = svc ? env.sourceMap.get(`/services/${svc.name}`)?.key : undefined;
  return {
    code: 'PLUGIN_OBJECT_CONFLICT',
    environment: env.name,
    plugin: e.plugin,
    ...(svc && at ? { position: at, field: `services.${svc.name}` } : {}),
    message: `${objectName(o)} in ${where} is emitted twice: ${e.path} (${e.plugin}) and ${prev.path} (${prev.plugin})`,
    hint: svc ? `service "${svc.name}" is named like something a plugin creates; rename it or set its namespace` : 'give the objects different names',
  };
}

interface Seen {
  readonly plugin: string;
  readonly path: string;
  readonly object: boolean;
}

const identity = (scope: string, o: KubeObject): string => {
  const group = o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.lastIndexOf('/')) : '';
  return [scope, group, o.kind, o.metadata.namespace ?? '', o.metadata.name].join('|');
};

/**
 * The layout rules, one item at a time. Items arrive in emission order; a conflict is
 * reported for the later path against the earlier one (as if the items came in path order),
 * once everything is in.
 */
export class Layout {
  private readonly seen = new Map<string, Seen>();
  private readonly found: { readonly later: string; readonly d: Diagnostic }[] = [];

  constructor(private readonly env: Environment) {}

  /** Checks one item; returns the identities it noted (what a carried unit gives back, see `carried`). */
  add(e: Emitted, out: Diagnostic[]): LayoutNote[] {
    // `clusters/<dc>/…`: the DC is the second segment, found without splitting the path (every
    // item of a render comes here: the split was ~24 MB of garbage at 100k objects).
    const dcEnd = e.path.startsWith('clusters/') ? e.path.indexOf('/', 9) : -1;
    const underCluster = dcEnd !== -1;
    if (e.type === 'object') {
      // Emitted objects: one identity per cluster, or per environment for environment-level objects.
      const scope = underCluster ? e.path.slice(9, dcEnd) : (e.dc ?? '(environment)');
      const id = identity(scope, e.object);
      this.note(id, { plugin: e.plugin, path: e.path, object: true }, e.object, scope);
      return [{ id, object: true }];
    }
    if (!underCluster) return [];
    const dc = e.path.slice(9, dcEnd);
    if (!/\.(ya?ml|json)$/.test(e.path) || e.content.trim() === '') return [];
    const docs = documents(e.path, e.content);
    if (!docs || docs.length === 0 || !docs.every(isKube)) {
      out.push({
        code: 'RENDER_LAYOUT_INVALID',
        plugin: e.plugin,
        message: `${e.path} is not a file of Kubernetes objects (apiVersion, kind, metadata.name), but Flux and Argo CD apply everything under clusters/<dc>/`,
        hint: 'emit it outside clusters/ (e.g. at the environment level) or give it a non-YAML extension',
      });
      return [];
    }
    const notes: LayoutNote[] = [];
    for (const o of docs as KubeObject[]) {
      const id = identity(dc, o);
      this.note(id, { plugin: e.plugin, path: e.path, object: false }, o, dc);
      notes.push({ id, object: false });
    }
    return notes;
  }

  /**
   * The identities of a carried file (as `add` noted them when it was rendered), checked
   * against the items seen, once every item is in, and not noted: carried files do not clash
   * with each other (see checkCarried in run.ts), so only the rendered items are looked at.
   */
  carried(plugin: string, path: string, notes: readonly LayoutNote[]): void {
    for (const n of notes) if (this.seen.has(n.id)) this.note(n.id, { plugin, path, object: n.object });
  }

  /** `o` and `scope` name the object in a conflict; a carried one has only its id, and is named from it. */
  private note(id: string, item: Seen, o?: KubeObject, scope?: string): void {
    const prev = this.seen.get(id);
    if (!prev) {
      this.seen.set(id, item);
      return;
    }
    if (!o || scope === undefined) {
      // scope|group|kind|namespace|name: the name is what follows the fourth `|` (one that is
      // not a Kubernetes name may hold a `|` itself).
      const [sc, , kind, namespace, ...rest] = id.split('|') as [string, string, string, string, ...string[]];
      const name = rest.join('|');
      o = { apiVersion: '', kind, metadata: { name, ...(namespace ? { namespace } : {}) } };
      scope = sc;
    }
    // In path order, the smaller path is the one seen first.
    const [first, later] = prev.path <= item.path ? [prev, item] : [item, prev];
    if (first !== prev) this.seen.set(id, first);
    const d: Diagnostic =
      first.object && later.object
        ? objectConflict(this.env, o, scope === '(environment)' ? 'the environment' : scope, later, first)
        : {
            code: 'RENDER_LAYOUT_INVALID',
            plugin: later.plugin,
            message: `${objectName(o)} appears twice in DC ${scope} (${first.path} and ${later.path})`,
            hint: 'one object per DC: kustomize and Argo CD refuse duplicates',
          };
    this.found.push({ later: later.path, d });
  }

  /** The conflicts, in the order of their later path. */
  conflicts(): Diagnostic[] {
    return [...this.found].sort((a, b) => byString(a.later, b.later)).map((x) => x.d);
  }
}

/** The layout rules over a whole output (in path order). */
export function layoutProblems(env: Environment, emitted: readonly Emitted[]): Diagnostic[] {
  const layout = new Layout(env);
  const out: Diagnostic[] = [];
  for (const e of [...emitted].sort((a, b) => byString(a.path, b.path))) layout.add(e, out);
  return [...out, ...layout.conflicts()];
}
