/**
 * Turns an environment's files back into Kubernetes objects with a stable identity, so
 * the diff compares objects rather than lines. Identity: where it is applied (the DC of
 * `clusters/<dc>/…`, or the top-level directory) + API group + kind + namespace + name.
 * The version is left out of the identity so that `v1beta1 → v1` shows as a change.
 */
import { parseAllDocuments } from 'yaml';
import { isObject } from '@topoforge/model';
import { LABEL_SERVICE } from '@topoforge/plugin-contract';
import { inEmissionOrder, toYamlDocuments } from '@topoforge/yaml-emit';
import jsYaml from 'js-yaml';
import type { TreeEnvironment, TreeFile } from './tree.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** `T` while it is being built, member by member. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface ObjectRecord {
  readonly id: string;
  readonly environment: string;
  /** The DC for `clusters/<dc>/…`, otherwise the top-level directory (e.g. `environment`). */
  readonly scope: string;
  readonly dc?: string;
  readonly plugin: string;
  readonly path: string;
  readonly apiVersion: string;
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** Keys in any order (a rendered object keeps its plugin's): see ordered, for where the order shows. */
  readonly object: JsonObject;
}

export interface FileRecord {
  readonly environment: string;
  readonly path: string;
  readonly plugin: string;
  readonly content: string;
}

export interface ParsedEnvironment {
  readonly name: string;
  readonly objects: ReadonlyMap<string, ObjectRecord>;
  /** Files that are not (only) Kubernetes objects: compared as text. */
  readonly files: ReadonlyMap<string, FileRecord>;
  /** Objects whose identity was already taken in this environment (a layout problem). */
  readonly duplicates: readonly ObjectRecord[];
}

/** A JSON object (not null, not an array): the one check every module of this package uses. */
/** The model's isObject, narrowed to the JSON these objects hold. */
export const isObj = isObject as (v: unknown) => v is JsonObject;

/** The service an object belongs to (label `topoforge.io/service`), when it carries one. */
export function serviceOf(o: { readonly object: Json }): string | undefined {
  const labels = isObj(o.object) && isObj(o.object.metadata) ? o.object.metadata.labels : undefined;
  const svc = isObj(labels) ? labels[LABEL_SERVICE] : undefined;
  return typeof svc === 'string' ? svc : undefined;
}

/** A Kubernetes object needs apiVersion, kind and metadata.name (what kustomize demands too). */
export function isKubeObject(v: unknown): v is JsonObject & { apiVersion: string; kind: string; metadata: JsonObject & { name: string } } {
  return isObj(v) && typeof v.apiVersion === 'string' && typeof v.kind === 'string' && isObj(v.metadata) && typeof v.metadata.name === 'string';
}

export function scopeOf(path: string): { scope: string; dc?: string } {
  // By the first two slashes, not a split: every file of both sides of a diff comes here.
  const first = path.indexOf('/');
  if (first === -1) return { scope: '.' };
  if (first === 8 && path.startsWith('clusters/')) {
    const second = path.indexOf('/', 9);
    if (second !== -1) {
      const dc = path.slice(9, second);
      return { scope: dc, dc };
    }
  }
  return { scope: path.slice(0, first) };
}

export function groupOf(apiVersion: string): string {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/**
 * The documents of a file exactly as yaml-emit writes them, read with js-yaml; undefined for
 * any other text. js-yaml reads these files about seven times as fast as `yaml` (at 100k
 * objects, the 4,450 files of a one-service change took 1.8 s), but the two libraries read
 * some hand-written YAML differently (`1_000`, `0b101`). So the result counts only when
 * emitting it gives the very same text: yaml-emit's round-trip tests pin that `yaml` reads its
 * output back as the value emitted, so `yaml` would read this text as this value too. Such a
 * text has no anchor, alias or tag (the emitter writes none).
 */
function emittedDocuments(content: string): unknown[] | undefined {
  let docs: unknown[];
  try {
    docs = jsYaml.loadAll(content, undefined, { schema: jsYaml.CORE_SCHEMA });
  } catch {
    return undefined;
  }
  if (docs.length === 0 || !docs.every((d) => typeof d === 'object' && d !== null)) return undefined;
  try {
    return toYamlDocuments(docs) === content ? docs : undefined;
  } catch {
    return undefined;
  }
}

/** The documents of a manifest file, or undefined when it is not a file of Kubernetes objects. */
export function manifestDocuments(path: string, content: string): JsonObject[] | undefined {
  if (/\.ya?ml$/.test(path)) {
    const emitted = emittedDocuments(content);
    if (emitted) return emitted.every(isKubeObject) ? emitted : undefined;
    let docs;
    try {
      docs = parseAllDocuments(content, { prettyErrors: false });
    } catch {
      return undefined;
    }
    const list = Array.isArray(docs) ? docs : [docs];
    const out: JsonObject[] = [];
    for (const d of list) {
      if (d.errors.length > 0) return undefined;
      let v: unknown;
      try {
        v = d.toJS({ maxAliasCount: 100 });
        JSON.stringify(v); // a cyclic alias cannot be compared field by field
      } catch {
        return undefined;
      }
      if (v === null || v === undefined) continue;
      if (!isKubeObject(v)) return undefined;
      out.push(v);
    }
    return out.length > 0 ? out : undefined;
  }
  if (path.endsWith('.json')) {
    try {
      const v: unknown = JSON.parse(content);
      return isKubeObject(v) ? [v] : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The documents of a tree's file, parsed once per file. `diff` checks the layout of a tree (which
 * parsed every file twice) and then compares it (a third parse); YAML parsing was most of a diff's
 * time. A file gitops made (TreeFileEntry: a render's, or one read from a directory) holds its own
 * parse, so the cache lives as long as the tree; any other file's goes into a WeakMap. All of them
 * were in that WeakMap until a diff at 100k objects showed its cost: every file of both sides is
 * looked up there about three times, and a WeakMap of 225k entries slows every full collection.
 * An entry counts only for the same path, text and object it was made for. The parsed objects
 * are shared by every caller: nothing may mutate them (nothing does).
 */
interface Parsed {
  readonly path: string;
  readonly content: string;
  readonly object: unknown;
  readonly docs: JsonObject[] | undefined;
}
/** The parses of files gitops did not make (a caller's own objects, frozen or not). */
const parsedAside = new WeakMap<TreeFile, Parsed>();

/**
 * A tree's file as gitops makes it. Its parse is a private field, not a property: spreading the
 * file, comparing it with another (vitest's toEqual) or printing it does not see the parse.
 */
export class TreeFileEntry implements TreeFile {
  #parsed: Parsed | undefined = undefined;
  // Declared, not a field: a file without an object has no `object` key, as a literal has none.
  declare readonly object?: unknown;

  constructor(
    readonly content: string,
    readonly plugin: string,
    object?: unknown,
  ) {
    if (object !== undefined) (this as { object?: unknown }).object = object;
  }

  static parsedOf(file: TreeFile): Parsed | undefined {
    return #parsed in file ? file.#parsed : parsedAside.get(file);
  }

  static setParsed(file: TreeFile, parsed: Parsed): void {
    if (#parsed in file) file.#parsed = parsed;
    else parsedAside.set(file, parsed);
  }
}

/** The file's cached parse, when it was made for this path, this text and this object. */
function parsedOf(file: TreeFile, path: string): Parsed | undefined {
  const hit = TreeFileEntry.parsedOf(file);
  return hit !== undefined && hit.path === path && hit.content === file.content && hit.object === file.object ? hit : undefined;
}

export function fileDocuments(path: string, file: TreeFile): JsonObject[] | undefined {
  const hit = parsedOf(file, path);
  if (hit) return hit.docs;
  // A rendered file's object is what its YAML parses to, up to key order: no parse. Its keys stay
  // in the plugin's order (see ordered: only where the order shows are they put in emission order).
  const docs = file.object !== undefined && isKubeObject(file.object) ? [file.object] : manifestDocuments(path, file.content);
  TreeFileEntry.setParsed(file, { path, content: file.content, object: file.object, docs });
  return docs;
}

/**
 * The two sides of a diff share the documents of every file whose content is the same on
 * both: one side's parse (or rendered object) serves the other, so a file that did not
 * change is parsed at most once — not at all when either side is a render.
 */
export function shareDocuments(a: TreeEnvironment, b: TreeEnvironment): void {
  for (const [path, fb] of b.files) {
    const fa = a.files.get(path);
    if (!fa || fa.content !== fb.content || (parsedOf(fa, path) && parsedOf(fb, path))) continue;
    const from = fb.object !== undefined ? fb : fa;
    const other = from === fb ? fa : fb;
    const docs = fileDocuments(path, from);
    TreeFileEntry.setParsed(other, { path, content: other.content, object: other.object, docs });
  }
}

export function parseEnvironment(env: TreeEnvironment): ParsedEnvironment {
  const objects = new Map<string, ObjectRecord>();
  const files = new Map<string, FileRecord>();
  const duplicates: ObjectRecord[] = [];
  for (const [path, f] of env.files) {
    const docs = fileDocuments(path, f);
    if (!docs) {
      files.set(path, { environment: env.name, path, plugin: f.plugin, content: f.content });
      continue;
    }
    const { scope, dc } = scopeOf(path);
    for (const o of docs) {
      const meta = o.metadata as JsonObject;
      const apiVersion = o.apiVersion as string;
      const kind = o.kind as string;
      const name = meta.name as string;
      const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
      const group = groupOf(apiVersion);
      const id = [scope, group, kind, namespace ?? '', name].join('|');
      // Members set one by one, in the order spreading the optional ones gave, without an object
      // made per optional member: every object of both sides passes here.
      const rec: Mutable<ObjectRecord> = { id, environment: env.name, scope } as Mutable<ObjectRecord>;
      if (dc) rec.dc = dc;
      rec.plugin = f.plugin;
      rec.path = path;
      rec.apiVersion = apiVersion;
      rec.group = group;
      rec.kind = kind;
      if (namespace) rec.namespace = namespace;
      rec.name = name;
      rec.object = o;
      if (objects.has(id)) duplicates.push(rec);
      else objects.set(id, rec);
    }
  }
  return { name: env.name, objects, files, duplicates };
}

const inOrder = new WeakMap<object, JsonObject>();

/**
 * An object's keys in emission order, as its YAML lists them: what a diff shows wherever key
 * order shows (a field's value, a secret finding, what a review rule reads). A rendered object
 * keeps its plugin's order until then: at 100k objects putting every one in order up front,
 * for the few that change or that a rule reads, cost a second. The same object gives the same
 * result, so one shared by both sides is still one object on both.
 */
export function ordered(o: JsonObject): JsonObject {
  let v = inOrder.get(o);
  if (v === undefined) {
    v = inEmissionOrder(o);
    inOrder.set(o, v);
  }
  return v;
}

/** `Kind namespace/name` for reports. */
export function objectLabel(o: Pick<ObjectRecord, 'kind' | 'namespace' | 'name'>): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}
