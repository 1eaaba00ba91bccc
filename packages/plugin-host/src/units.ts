/**
 * Render units (issue 19): what a plugin's `renderService` writes for one service is a unit,
 * named by a key that covers everything the output can depend on — the service's view of the
 * environment, the plugin's options, the plugin's code and the host's (the salt). A store
 * (the engine's writer) that still has a unit of the same key intact on disk carries its files
 * into the new tree, and the plugin is not called for that service.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { DataCenter, Environment, Region, Service, Stage } from '@topoforge/model';
import type { ServiceDataCenter } from '@topoforge/plugin-contract';

/** One identity the layout rule noted for a file: `scope|group|kind|namespace|name`, and whether the file is an emitted object. */
export interface LayoutNote {
  readonly id: string;
  readonly object: boolean;
}

/** A file a unit wrote, as the host needs it when the unit is carried: its path (claimed again) and identities (for conflicts). */
export interface CarriedFile {
  readonly path: string;
  readonly layout: readonly LayoutNote[];
}

/** The unit a file belongs to (on OutputFile): the store records it with the file. */
export interface UnitTag {
  readonly service: string;
  readonly key: string;
}

export interface UnitStore {
  /** Goes into every key: what else shapes the output (the host's code, the validators, the CRDs). */
  readonly salt: string;
  /**
   * The fingerprints the caller took in this pass (the salt's walk covers most of a plugin's
   * closure): a plugin's own fingerprint reuses them instead of walking its closure again.
   */
  readonly fingerprints?: FingerprintCache;
  /**
   * The unit as the last render wrote it, when that render had this key for it and every file
   * is still as it was written; the store keeps its files. Undefined: render the unit. The
   * units a store carries into one render must not clash with each other (a path, or an
   * object's identity): the host checks them only against what it renders (see checkCarried
   * in run.ts). The engine's store carries only units of the last render, which checked them.
   */
  carry(plugin: string, service: string, key: string): CarriedUnit | undefined;
}

/**
 * A unit the store carries. Its files are read once everything else is rendered (see
 * run.ts, checkCarried), and only when something was rendered that they could clash with.
 */
export interface CarriedUnit {
  /** How many files it has. */
  readonly count: number;
  /**
   * Its files. They may be made as they are iterated: a re-render carries every file of every
   * unchanged unit, and a unit's files made at once outlived a young-generation collection.
   */
  files(): Iterable<CarriedFile>;
}

/** What `renderService` sees of the environment; the key is computed from exactly this. */
export interface ServiceView {
  readonly environment: { readonly name: string; readonly stage: Stage };
  readonly service: Service;
  readonly dataCenters: readonly ServiceDataCenter[];
  readonly regions: readonly Region[];
}

export function serviceView(env: Environment, service: Service): ServiceView {
  const dcs = env.dataCenters.filter((d) => service.dataCenters.includes(d.name)).map(({ services: _others, ...dc }: DataCenter) => dc);
  return { environment: { name: env.name, stage: env.stage }, service, dataCenters: dcs, regions: env.regions };
}

export function unitKey(salt: string, fingerprint: string, plugin: string, options: unknown, view: ServiceView): string {
  // The model builds every list in a stable order, so the JSON of the view is stable too.
  return createHash('sha256')
    .update(JSON.stringify([salt, fingerprint, plugin, options ?? null, view]))
    .digest('hex');
}

const CODE = /\.(?:[cm]?js|json|node|wasm)$/;
/** Past this the directory is not what a plugin ships (a checkout, a home directory): no fingerprint, no units. */
const MAX_FILES = 5000;
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * A hash of a directory's code (.js, .mjs, .cjs, .json, .node, .wasm below it, or the files
 * `match` names; node_modules and dot files skipped — a test run's `.vitest-report.json` is not code), or undefined when it is too large to be one package's code.
 * A rebuilt plugin (see pluginFingerprint) renders every unit again. `every`: dot files and the
 * directories themselves count too, and a link or any entry but a file or a directory gives
 * undefined (what it points to could change unseen) — for a directory read whole, such as the
 * environments directory.
 */
export function fingerprintDirectory(dir: string, match: RegExp = CODE, every = false): string | undefined {
  // Not memoized: a long-lived process (a test runner, a watch loop) sees a rebuilt plugin.
  const hash = createHash('sha256');
  let files = 0;
  let bytes = 0;
  const walk = (d: string, rel: string): boolean => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        if (n === 'node_modules' || (n.startsWith('.') && !every)) continue;
        if (every) hash.update(`${rel}${n}/\n`);
        if (!walk(p, `${rel}${n}/`)) return false;
      } else if (st.isFile() && (every || (!n.startsWith('.') && match.test(n)))) {
        if (++files > MAX_FILES || (bytes += st.size) > MAX_BYTES) return false;
        hash.update(`${rel}${n}\0${st.size}\0`).update(readFileSync(p));
      } else if (every && !st.isFile()) return false;
    }
    return true;
  };
  try {
    return walk(dir, '') ? hash.digest('hex') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A relative module specifier or asset reference in JavaScript source: `from '…'`, `import '…'`,
 * `import('…')`, `require('…')`, and `new URL('…', import.meta.url)` (how an ES module finds
 * a file it reads at run time). Group 2 is the specifier; a template literal is read up to its
 * first `${` (group 3: the directory it names is taken whole).
 */
const REFERENCE = /(?:\bfrom\s*|\bimport\s*(?:\(\s*)?|\brequire\s*\(\s*|\bnew\s+URL\s*\(\s*)(?:(['"])(\.{1,2}\/[^'"\n]*)\1|`(\.{1,2}\/[^`$\n]*))/g;
const SCRIPT = /\.[cm]?js$/;

/**
 * What the code in `dir` reads from outside it by relative path (see REFERENCE), followed
 * from file to file: each file by its path relative to `dir` and content, each directory
 * (an asset directory, or a template literal's) by every file in it (see fingerprintDirectory).
 * A plugin whose entry imports `../lib/x.mjs`, or reads `new URL('../templates/a.hbs',
 * import.meta.url)`, is rendered again when that file changes, whatever its package.json
 * says. Empty when it reads nothing outside; undefined when too large. Code that builds a path
 * at run time otherwise (`join(__dirname, '..', name)`) is not seen: what it reads belongs in
 * the package's `files` (see publishedFiles).
 */
function readOutside(dir: string, cache: FingerprintCache | undefined): string | undefined {
  const k = `outside\0${dir}`;
  if (cache?.has(k)) return cache.get(k);
  const inside = (p: string): boolean => {
    const rel = relative(dir, p);
    // As fingerprintDirectory sees it: not below node_modules or a dot directory, not a dot file.
    return rel !== '' && !rel.startsWith('..') && !rel.split(sep).some((n) => n === 'node_modules' || n.startsWith('.'));
  };
  const queue: string[] = [];
  const listScripts = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        if (n !== 'node_modules' && !n.startsWith('.')) listScripts(p);
      } else if (st.isFile() && !n.startsWith('.') && SCRIPT.test(n)) queue.push(p);
    }
  };
  const found = new Map<string, string>();
  let bytes = 0;
  const take = (p: string, whole: boolean): boolean => {
    const name = relative(dir, p).split(sep).join('/');
    if (found.has(name) || found.has(`${name}/`)) return true;
    if (found.size >= MAX_FILES) return false;
    let st;
    try {
      // Through a link: what the code reads is what it points to.
      st = statSync(p);
    } catch {
      // CommonJS leaves the extension out: the file Node would load, else the name as missing.
      if (!whole) for (const ext of ['.js', '.cjs', '.json']) if (statSync(p + ext, { throwIfNoEntry: false })?.isFile()) return take(p + ext, false);
      found.set(name, '(missing)');
      return true;
    }
    if (st.isDirectory()) {
      const index = whole ? undefined : join(p, 'index.js');
      if (index !== undefined && statSync(index, { throwIfNoEntry: false })?.isFile()) return take(index, false);
      const fp = fingerprintCached(p, cache, ANY);
      if (fp === undefined) return false;
      found.set(`${name}/`, fp);
    } else if (st.isFile()) {
      const text = readFileSync(p);
      if ((bytes += text.length) > MAX_BYTES) return false;
      found.set(name, createHash('sha256').update(text).digest('hex'));
      if (SCRIPT.test(p)) queue.push(p);
    } else found.set(name, '(other)');
    return true;
  };
  let fp: string | undefined;
  try {
    listScripts(dir);
    const seen = new Set<string>();
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      let ok = true;
      for (const m of text.matchAll(REFERENCE)) {
        const literal = m[3];
        // A template literal names the directory before its first substitution.
        const target = literal !== undefined ? resolve(dirname(file), literal.slice(0, literal.lastIndexOf('/') + 1) || '.') : resolve(dirname(file), m[2]!);
        // The directory's own code is in its fingerprint already; an asset there (a template) is not.
        if (literal === undefined && inside(target) && CODE.test(target)) continue;
        if (!take(target, literal !== undefined)) {
          ok = false;
          break;
        }
      }
      if (!ok) throw new RangeError('too large');
    }
    const hash = createHash('sha256');
    for (const [name, v] of [...found].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) hash.update(`${name}\0${v}\n`);
    fp = found.size === 0 ? '' : hash.digest('hex');
  } catch {
    fp = undefined;
  }
  cache?.set(k, fp);
  return fp;
}

/** The nearest package.json at or above `dir`: its directory and text. */
function packageAt(dir: string): { readonly dir: string; readonly manifest: string } | undefined {
  for (let d = dir; ; d = dirname(d)) {
    try {
      return { dir: d, manifest: readFileSync(join(d, 'package.json'), 'utf8') };
    } catch {
      if (dirname(d) === d) return undefined;
    }
  }
}

/** Where Node finds package `name` from `dir`: the first node_modules/<name> going up. */
function dependencyDir(dir: string, name: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    try {
      if (lstatSync(join(candidate, 'package.json')).isFile()) return realpathSync(candidate);
    } catch {
      // not here: one level up
    }
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Fingerprints of directories already taken in one pass over several plugins (they share the
 * SDK and its dependencies): a map held by the caller for that pass only, so a long-lived
 * process still sees a rebuilt plugin in its next pass.
 */
export type FingerprintCache = Map<string, string | undefined>;

function fingerprintCached(dir: string, cache: FingerprintCache | undefined, match: RegExp = CODE): string | undefined {
  if (!cache) return fingerprintDirectory(dir, match);
  const k = `${dir}\0${match.source}`;
  if (!cache.has(k)) cache.set(k, fingerprintDirectory(dir, match));
  return cache.get(k);
}

/** Every file, whatever its name: what a package ships besides code (templates, data) is read at run time too. */
const ANY = /(?:)/;

/**
 * A hash of what a package publishes besides the directory of its entry file: each entry of its
 * package.json `files` (a directory, every file in it; or a file) — e.g. the templates a
 * plugin reads at run time from `../templates`. Empty when it names none; undefined when an
 * entry is a pattern (which this does not expand) or too large.
 */
function publishedFiles(dir: string, manifest: string, cache: FingerprintCache | undefined): string | undefined {
  let files: unknown;
  try {
    files = (JSON.parse(manifest) as { files?: unknown }).files;
  } catch {
    return '';
  }
  if (!Array.isArray(files)) return '';
  const hash = createHash('sha256');
  for (const entry of files) {
    if (typeof entry !== 'string' || /[*?[\]{}!]/.test(entry)) return undefined;
    const p = join(dir, entry);
    let st;
    try {
      // Through a link: what the code reads is what it points to.
      st = statSync(p);
    } catch {
      hash.update(`${entry}\0(missing)\n`);
      continue;
    }
    if (st.isDirectory()) {
      const fp = fingerprintCached(p, cache, ANY);
      if (fp === undefined) return undefined;
      hash.update(`${entry}/\0${fp}\n`);
    } else if (st.isFile()) hash.update(`${entry}\0${st.size}\0`).update(readFileSync(p));
  }
  return hash.digest('hex');
}

/** dependencyDir, remembered for the pass (several plugins resolve the same dependencies). */
function dependencyDirCached(dir: string, name: string, cache: FingerprintCache | undefined): string | undefined {
  if (!cache) return dependencyDir(dir, name);
  const k = `dependency\0${dir}\0${name}`;
  if (!cache.has(k)) cache.set(k, dependencyDir(dir, name));
  return cache.get(k);
}

/**
 * A hash of a package's dependencies: an installed one (under node_modules) by name and
 * version; a linked one (a workspace package, a `file:` dependency: edited in place without a
 * new version) by its code — the directory of its `main` —, what it publishes, its
 * package.json, and its own dependencies in turn (each linked package taken once per pass: a
 * plugin and topoforge share most of theirs). Undefined when a linked one is too large to
 * fingerprint.
 */
function dependenciesOf(pkg: { readonly dir: string; readonly manifest: string }, cache: FingerprintCache | undefined, stack: Set<string>): string | undefined {
  let deps: string[];
  try {
    deps = Object.keys((JSON.parse(pkg.manifest) as { dependencies?: Record<string, string> }).dependencies ?? {}).sort();
  } catch {
    return '';
  }
  const hash = createHash('sha256');
  for (const name of deps) {
    const dir = dependencyDirCached(pkg.dir, name, cache);
    if (dir === undefined) {
      hash.update(`${name}\0(missing)\n`);
      continue;
    }
    const manifest = readFileSync(join(dir, 'package.json'), 'utf8');
    if (dir.split(sep).includes('node_modules')) {
      const version = (JSON.parse(manifest) as { version?: unknown }).version;
      hash.update(`${name}\0${String(version)}\n`);
      continue;
    }
    // A cycle of linked packages: the one already being fingerprinted is named, not entered again.
    const fp = stack.has(dir) ? '(cycle)' : linkedPackage(dir, manifest, cache, stack);
    if (fp === undefined) return undefined;
    hash.update(`${name}\0${fp}\n`);
  }
  return hash.digest('hex');
}

/** A linked package's fingerprint (see dependenciesOf), remembered for the pass. */
function linkedPackage(dir: string, manifest: string, cache: FingerprintCache | undefined, stack: Set<string>): string | undefined {
  const k = `package\0${dir}`;
  if (cache?.has(k)) return cache.get(k);
  stack.add(dir);
  const main = (JSON.parse(manifest) as { main?: unknown }).main;
  const codeDir = typeof main === 'string' ? dirname(join(dir, main)) : dir;
  const code = fingerprintCached(codeDir, cache);
  const outside = readOutside(codeDir, cache);
  const published = publishedFiles(dir, manifest, cache);
  const deps = dependenciesOf({ dir, manifest }, cache, stack);
  stack.delete(dir);
  const fp =
    code === undefined || outside === undefined || published === undefined || deps === undefined
      ? undefined
      : createHash('sha256').update(`${code}\0${outside}\0${published}\0${deps}\n`).update(manifest).digest('hex');
  cache?.set(k, fp);
  return fp;
}

/**
 * The fingerprint of a plugin loaded from `file`: the code in the directory of its entry
 * file (see fingerprintDirectory), its package.json and the files it publishes (see
 * publishedFiles), and what it depends on (see dependenciesOf). Undefined — the plugin's
 * units are never carried — when too large.
 */
export function pluginFingerprint(file: string, cache?: FingerprintCache): string | undefined {
  const code = fingerprintCached(dirname(file), cache);
  const outside = readOutside(dirname(file), cache);
  if (code === undefined || outside === undefined) return undefined;
  const hash = createHash('sha256').update(code).update(outside);
  const pkg = packageAt(dirname(file));
  if (pkg) {
    const published = publishedFiles(pkg.dir, pkg.manifest, cache);
    if (published === undefined) return undefined;
    hash.update(pkg.manifest).update(published);
    try {
      const deps = dependenciesOf(pkg, cache, new Set([realpathSync(pkg.dir)]));
      if (deps === undefined) return undefined;
      hash.update(deps);
    } catch {
      return undefined;
    }
  }
  return hash.digest('hex');
}
