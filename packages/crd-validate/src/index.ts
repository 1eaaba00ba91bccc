/**
 * Validates emitted custom resources against CustomResourceDefinitions — the upstream
 * files in ../shared/crds, or a live cluster's (`kubectl get crd -o yaml`), which have the
 * same shape. ajv checks spec.versions[].schema.openAPIV3Schema; `x-kubernetes-*`
 * keywords and CEL rules are not checked (ajv does not know them).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';
import { loadAll } from 'js-yaml';
import { crdFiles } from './files.js';

// CRD patterns are Go RE2. Inline flag groups such as `(?i)` (AlertmanagerConfig uses
// them mid-pattern) are not JavaScript syntax: they are removed and their flags applied
// to the whole RegExp. For `i` this accepts a superset of what Go accepts, never less.
function goRegExp(pattern: string, flags: string): RegExp {
  const inline = /\(\?([imsU]+)\)/g;
  const extra = new Set<string>();
  const body = pattern.replace(inline, (_m, f: string) => {
    for (const c of f) if (c !== 'U') extra.add(c);
    return '';
  });
  return new RegExp(body, [...new Set([...flags, ...extra])].join(''));
}
type RegExpEngine = ((pattern: string, flags: string) => RegExp) & { code: string };
const regExpEngine = Object.assign(goRegExp, { code: 'goRegExp' }) as RegExpEngine;

export interface CrdProblem {
  readonly path: string;
  readonly message: string;
}

interface CrdVersion {
  name: string;
  schema?: { openAPIV3Schema?: object };
}
interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

export class CrdCatalog {
  // ajv's compiler (some 80 modules) is loaded when a first object is validated, not when
  // the engine is imported: most commands never validate against CRDs.
  private ajvInstance: Ajv | undefined;
  private get ajv(): Ajv {
    if (!this.ajvInstance) {
      const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
      this.ajvInstance = new AjvClass({ strict: false, validateFormats: false, allErrors: true, code: { regExp: regExpEngine } });
    }
    return this.ajvInstance;
  }
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly schemas = new Map<string, object>();

  /** Loads every CRD in the YAML files under `dir` (recursively). */
  static fromDir(dir: string): CrdCatalog {
    return new CrdCatalog().addDir(dir);
  }

  /** Adds every CRD in the YAML files under `dir` (recursively), so several directories make one catalog. */
  addDir(dir: string): this {
    for (const f of crdFiles(dir)) this.addYaml(readFileSync(f, 'utf8'));
    return this;
  }

  /**
   * Adds the CRDs of a YAML text (one or more documents; a `List` from kubectl works too).
   * js-yaml, not `yaml`: upstream CRDs (Flagger's) continue quoted descriptions at the key's own
   * indentation, which Kubernetes' go-yaml and js-yaml accept and `yaml` misreads (it reports a
   * missing quote and recovers with truncated strings and stray keys). A syntax error throws.
   */
  addYaml(text: string): this {
    for (const doc of loadAll(text)) {
      const v = doc as { kind?: string; items?: unknown[] } | null;
      if (!v) continue;
      const items = v.kind === 'List' || v.kind === 'CustomResourceDefinitionList' ? (v.items ?? []) : [v];
      for (const item of items) this.add(item as Crd);
    }
    return this;
  }

  add(crd: Crd): this {
    if (crd?.kind !== 'CustomResourceDefinition') return this;
    for (const v of crd.spec.versions) {
      const schema = v.schema?.openAPIV3Schema;
      if (schema) this.schemas.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, schema);
    }
    return this;
  }

  /** `group/version/Kind` keys this catalog knows. */
  kinds(): string[] {
    return [...this.schemas.keys()].sort();
  }

  has(apiVersion: string, kind: string): boolean {
    return this.schemas.has(`${apiVersion}/${kind}`);
  }

  /** Problems of one object; an unknown kind is itself a problem. */
  validate(object: { readonly apiVersion?: unknown; readonly kind?: unknown; readonly [field: string]: unknown }): CrdProblem[] {
    const key = `${String(object.apiVersion)}/${String(object.kind)}`;
    let v = this.validators.get(key);
    if (!v) {
      const schema = this.schemas.get(key);
      if (!schema) return [{ path: '', message: `no CRD for ${key}` }];
      v = this.ajv.compile(schema);
      this.validators.set(key, v);
    }
    if (v(object)) return [];
    return (v.errors ?? []).map((e) => ({
      path: e.instancePath || '/',
      message: `${e.message ?? 'invalid'}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`,
    }));
  }
}

/**
 * The shared reference folder: TOPOFORGE_SHARED_DIR when set, else `../shared` beside the checkout.
 * Returns undefined when it is absent so tests can skip with a clear message.
 */
export function findSharedDir(from: string = process.cwd()): string | undefined {
  // When set, TOPOFORGE_SHARED_DIR decides alone (a directory without crds/ means absent),
  // so a run can be made to behave like a clone without ../shared.
  const env = process.env.TOPOFORGE_SHARED_DIR;
  if (env) return existsSync(join(env, 'crds')) ? resolve(env) : undefined;
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, '..', 'shared');
    if (existsSync(join(dir, 'pnpm-workspace.yaml')) && existsSync(join(candidate, 'crds'))) return resolve(candidate);
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return undefined;
    const parent = resolve(dir, '..');
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export const SHARED_MISSING = 'skipped: ../shared (upstream CRDs, beside the checkout) is absent; set TOPOFORGE_SHARED_DIR or clone it beside the repo';
