/**
 * What `check` answers from the record a render left, before loading any environment or
 * plugin: the key of a render's inputs (topoforge's code, the CRDs, the runtime, every file of
 * the environments directory), and the record that names it. It imports no YAML parser,
 * template engine or schema library (see the `./check` entry): `check` of an unchanged tree
 * loads none of them (issue 19: module loading off the hot path).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprintDirectory, pluginFingerprint, resolvePlugin, type FingerprintCache, type PluginLoadOptions } from '@topoforge/plugin-host/core';
import { crdFiles } from '@topoforge/crd-validate/files';
import { crdDirectories } from './crd-dirs.js';
import { recordedRender, renderedEnvironments, type EnvironmentChange, type RenderInputs } from './tree.js';
import type { RenderRequest, WriteRequest } from './engine.js';

/** `path` with symbolic links resolved as far as it exists (the rest appended). */
export function real(path: string): string {
  let p = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(p), ...rest.reverse());
    } catch {
      const parent = dirname(p);
      if (parent === p) return resolve(path);
      rest.push(p.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      p = parent;
    }
  }
}

/** The nearest ancestor of `dir` (itself included) that is a repository root (holds `.git`). */
export function repositoryRoot(dir: string): string | undefined {
  let d = dir;
  for (;;) {
    if (existsSync(join(d, '.git'))) return d;
    const parent = dirname(d);
    if (parent === d) return undefined;
    d = parent;
  }
}

/**
 * A machine-independent name for the environments directory, recorded in each index: its
 * path relative to its repository root (`environments`; `.` when it is the root), or its own
 * name outside a repository. Not a repository root's own name: that is the name of the
 * directory a clone was made into, which differs between clones (a CI checkout's from a
 * developer's), and the same model must render the same bytes in both.
 */
export function sourceId(environmentsDir: string): string {
  return sourceIdentity(environmentsDir).source;
}

/**
 * sourceId, with `sourceAliases`: what indexes of earlier versions name the same directory (a
 * repository root by its own name). An output whose index names one is this source's, and the
 * next render writes its new name. The two as the write options take them.
 */
export function sourceIdentity(environmentsDir: string): { readonly source: string; readonly sourceAliases: readonly string[] } {
  const env = real(environmentsDir);
  const root = repositoryRoot(env);
  const name = env.split(sep).at(-1) ?? '';
  const rel = root ? relative(root, env) : name;
  const source = rel.split(sep).join('/') || '.';
  return { source, sourceAliases: root === env && name !== '' && name !== '.' ? [name] : [] };
}

export function loadOptions(req: RenderRequest, cwd: string): PluginLoadOptions {
  return {
    cwd,
    ...(req.builtins ? { builtins: req.builtins } : {}),
    ...(req.copiedFrom ? { copiedFrom: req.copiedFrom } : {}),
    // plugins installed beside topoforge itself
    searchDirs: [fileURLToPath(new URL('.', import.meta.url))],
  };
}

/**
 * Every entry of the environments directory (dot files too: the loader reads `.x.yaml`), by
 * path and content: every environment may read every other, and the test stand's ledger
 * (`verified/`) lives there. Plugin packages installed in it (node_modules) are the plugins'
 * fingerprints' business. Undefined for a link in it (see fingerprintDirectory's `every`), or
 * past 5,000 files / 64 MB.
 */
const environmentsFingerprint = (dir: string): string | undefined => fingerprintDirectory(dir, /(?:)/, true);

/**
 * The part of a render's inputs `check` can fingerprint before loading anything: topoforge's
 * code, the CRDs and the Node runtime (the unit salt), every file of the environments
 * directory, and the output's source. Undefined when any of it cannot be (plugins or
 * validators given in code, a copied environments directory, a directory too large).
 */
export function renderInputsKey(req: RenderRequest, cwd: string, salt: string | undefined): string | undefined {
  if ((req.builtins ?? []).length > 0 || req.copiedFrom) return undefined;
  const envDir = resolve(cwd, req.environmentsDir);
  const environments = salt === undefined ? undefined : environmentsFingerprint(envDir);
  if (salt === undefined || environments === undefined) return undefined;
  return createHash('sha256')
    .update(JSON.stringify([salt, environments, sourceId(envDir)]))
    .digest('hex');
}

/**
 * `check` without rendering, when nothing it would read changed since the last render wrote the
 * tree: the key (see renderInputsKey) is the recorded one, every plugin resolves to the recorded
 * file with the recorded fingerprint, and every selected environment's directory is exactly as
 * that render left it (see recordedRender), with no other rendered environment beside them. A
 * render is deterministic, so it would make those very files again: the tree is up to date.
 * Undefined — render and compare — whenever any of it does not hold (always in a fresh clone:
 * the record is local and never committed).
 */
export function checkFromRecord(req: WriteRequest, cwd: string, out: string): EnvironmentChange[] | undefined {
  const cache: FingerprintCache = new Map();
  const key = renderInputsKey(req, cwd, unitSalt(req, cwd, process.versions, cache));
  if (key === undefined) return undefined;
  let names: string[];
  try {
    names = readdirSync(out).filter((n) => !n.startsWith('.'));
  } catch {
    return undefined;
  }
  const found = new Map<string, { readonly inputs: RenderInputs; readonly files: number }>();
  for (const n of names) {
    const r = recordedRender(out, n, (inputs) => inputs.key === key);
    if (r) found.set(n, r);
  }
  const all = found.values().next().value?.inputs.environments;
  if (all === undefined) return undefined;
  const only = req.only ?? [];
  if (only.some((n) => !all.includes(n))) return undefined;
  const selected = all.filter((n) => only.length === 0 || only.includes(n));
  // A full check also reports rendered environments that are no longer produced.
  if (only.length === 0 && renderedEnvironments(out, all).length > 0) return undefined;
  const opts = loadOptions(req, cwd);
  const changes: EnvironmentChange[] = [];
  for (const env of selected) {
    const r = found.get(env);
    if (!r || r.inputs.environments.join('\n') !== all.join('\n')) return undefined;
    for (const p of r.inputs.plugins) {
      if (resolvePlugin(p.package, p.envFile, opts) !== p.file || pluginFingerprint(p.file, cache) !== p.fingerprint) return undefined;
    }
    changes.push({ environment: env, added: [], changed: [], removed: [], files: r.files });
  }
  return changes;
}

/**
 * The CRD files validation reads in `dir` (see crdFiles: links followed, dot files and
 * node_modules included), by path and content. Undefined when it cannot be read (validation
 * reports that), or past 64 MB.
 */
function crdFingerprint(dir: string): string | undefined {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for (const f of crdFiles(dir)) {
      const text = readFileSync(f);
      if ((bytes += text.length) > 64 * 1024 * 1024) return undefined;
      hash.update(`${relative(dir, f)}\0${text.length}\0`).update(text);
    }
    // The directory itself read as a file or missing: what validation reports, not a key.
    return statSync(dir).isDirectory() ? hash.digest('hex') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What besides a plugin and its input shapes a unit's files (see UnitStore): topoforge's own
 * code — the engine and everything it depends on (the model, the host, the serializer, the
 * validators…), fingerprinted as a plugin is (see pluginFingerprint) —, the CRDs, and the Node
 * runtime. Undefined — every unit rendered — when any of it cannot be fingerprinted, or
 * validators given in code are in play.
 */
export function unitSalt(
  req: RenderRequest,
  cwd: string,
  runtime: Readonly<Partial<NodeJS.ProcessVersions>> = process.versions,
  cache?: FingerprintCache,
): string | undefined {
  if ((req.run?.validators ?? []).length > 0) return undefined;
  const parts = [pluginFingerprint(fileURLToPath(import.meta.url), cache)];
  // The runtime too: time-zone offsets (robfig-cron, velero's windows) come from Node's ICU and
  // its tz data, so a Node with other tz data may render other files from the same input.
  parts.push(JSON.stringify([runtime.node, runtime.v8, runtime.icu, runtime.tz, runtime.unicode]));
  for (const d of crdDirectories(req.crds)) parts.push(crdFingerprint(resolve(cwd, d)));
  if (parts.some((x) => x === undefined)) return undefined;
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}
