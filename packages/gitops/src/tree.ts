/**
 * A rendered tree: environment → path → file content (and the plugin that wrote it).
 * Both sides of a diff are trees, whether they come from a render in memory, a render of
 * another git ref, or a directory on disk (a GitOps checkout), so one comparison serves all.
 */
import { parseAllDocuments, visit } from 'yaml';
import { readBoundedFile } from '@topoforge/safe-fs';
import type { GitopsDiagnostic, Outcome } from './problems.js';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { byString, inputValues, provenancePointers, type Located, type SourceMap, type SourcePosition, type Tier } from '@topoforge/model';
import { PreviousTree, sha256, type Prescan, type RenderedEnvironment } from '@topoforge/engine';
import { INDEX_FILE } from '@topoforge/plugin-sdk';
import type { TreeSource } from './provenance.js';
import { TreeFileEntry } from './objects.js';
import type { PluginRiskRule } from './risks.js';

export interface TreeFile {
  readonly content: string;
  readonly plugin: string;
  /**
   * The object a render emitted as this file, when the tree comes from a render: what parsing
   * `content` would give (up to key order, which fileDocuments restores), without parsing it.
   */
  readonly object?: unknown;
}

export interface TreeEnvironment {
  readonly name: string;
  /** Files by path relative to the environment directory; the engine's index is not included. */
  readonly files: ReadonlyMap<string, TreeFile>;
  /**
   * Service tiers from the model, known when the tree comes from a render; a directory on
   * disk does not say which services are client-facing.
   */
  readonly tiers?: ReadonlyMap<string, Tier>;
  /** The input values and each file's provenance, known when the tree comes from a render. */
  readonly source?: TreeSource;
  /** Review rules of the plugins that rendered it (contract v2 `review`), known when the tree comes from a render. */
  readonly review?: readonly PluginRiskRule[];
}

export type RenderedTree = ReadonlyMap<string, TreeEnvironment>;

/** The plugin a path belongs to by the default layout (`clusters/<dc>/<plugin>/…`, `environment/<plugin>/…`). */
export function pluginFromPath(path: string): string {
  const s = path.split('/');
  if (s[0] === 'clusters' && s.length > 3) return s[2]!;
  if (s[0] === 'environment' && s.length > 2) return s[1]!;
  return s.length > 1 ? s[0]! : '(top level)';
}

/**
 * The review rules of an environment's plugins, each rule id under one plugin: a rule several
 * plugins register (the PrometheusRule rules of @topoforge/review-prometheus, registered by
 * every plugin that emits PrometheusRules) runs once, under the first plugin that registers
 * it. By id rather than by identity, so a plugin bundling its own copy of the rules is still
 * deduplicated; within one plugin every rule runs (velero has two `backup-location-dropped`).
 */
function reviewRules(r: RenderedEnvironment): PluginRiskRule[] {
  const owner = new Map<string, string>();
  const out: PluginRiskRule[] = [];
  for (const p of r.plugins) {
    const plugin = p.definition.name;
    for (const rule of p.definition.review) {
      if ((owner.get(rule.id) ?? plugin) !== plugin) continue;
      owner.set(rule.id, plugin);
      out.push({ plugin, rule });
    }
  }
  return out;
}

export function treeFromRender(rendered: readonly RenderedEnvironment[]): RenderedTree {
  const tree = new Map<string, TreeEnvironment>();
  for (const r of rendered) {
    const objects = new Map<string, unknown>();
    for (const e of r.result.emitted) if (e.type === 'object') objects.set(e.path, e.object);
    const files = new Map<string, TreeFile>();
    // By path, as a tree on disk lists them (runPlugins gives them so; sorted here all the same,
    // as the tree promises it). The paths alone, by the default sort: UTF-16 code units, the
    // order byString gives, without a call per comparison.
    const paths = [...r.result.files.keys()].sort();
    for (const path of paths) {
      const f = r.result.files.get(path)!;
      const object = objects.get(path);
      files.set(path, new TreeFileEntry(f.content, f.plugin, object));
    }
    tree.set(r.result.environment, {
      name: r.result.environment,
      files,
      tiers: new Map(r.env.services.map((s) => [s.name, s.tier])),
      source: sourceOf(r),
      review: reviewRules(r),
    });
  }
  return tree;
}

/** Input values and, per emitted file, the input subtrees it draws on (by its service, DC and plugin). */
function sourceOf(r: RenderedEnvironment): TreeSource {
  const provenance = new Map<string, readonly string[]>();
  const cache = new Map<string, readonly string[]>();
  for (const e of r.result.emitted) {
    const key = `${e.plugin}|${e.service ?? ''}|${e.dc ?? ''}`;
    let p = cache.get(key);
    if (!p) {
      p = provenancePointers(r.env, { plugin: e.plugin, ...(e.service ? { service: e.service } : {}), ...(e.dc ? { dc: e.dc } : {}) });
      cache.set(key, p);
    }
    provenance.set(e.path, p);
  }
  return { inputs: inputValues(r.env), provenance, positions: r.env.sourceMap };
}

/** The same source with file names rewritten (e.g. a temporary checkout shown as `<ref>:path`). */
export function renameSourceFiles(source: TreeSource, rename: (file: string) => string): TreeSource {
  const pos = (p: SourcePosition): SourcePosition => ({ ...p, file: rename(p.file) });
  const positions: SourceMap = new Map();
  for (const [k, l] of source.positions) positions.set(k, { key: pos(l.key), value: pos(l.value) } satisfies Located);
  const inputs = new Map([...source.inputs].map(([k, v]) => [k, v.position ? { ...v, position: pos(v.position) } : v]));
  return { inputs, provenance: source.provenance, positions };
}

/**
 * Reads the environment directories topoforge wrote under `dir` (those holding an index),
 * e.g. a checkout of the GitOps repository. Plugins come from the index, or the path.
 */
export function readTree(dir: string, only?: readonly string[]): RenderedTree {
  const tree = new Map<string, TreeEnvironment>();
  for (const [env, previous] of indexedEnvironments(dir, only)) {
    const files = new Map<string, TreeFile>();
    for (const p of pathsOf(previous)) {
      if (p === INDEX_FILE) continue;
      const r = readBoundedFile(join(dir, env, p), MAX_TREE_FILE_BYTES, { noFollow: true });
      files.set(p, new TreeFileEntry(r.ok ? r.text : '', previous.pluginOf(p) ?? pluginFromPath(p)));
    }
    tree.set(env, { name: env, files });
  }
  return tree;
}

/**
 * The environment directories of `dir` that topoforge rendered, each scanned once: its listing,
 * and its index (read and parsed once) for the plugin and hash of each file. What the engine's
 * renderedEnvironments lists, without parsing each index a second time: at 100k files an index
 * is tens of MB.
 */
function indexedEnvironments(dir: string, only: readonly string[] | undefined, walks?: ReadonlyMap<string, Prescan>): Map<string, PreviousTree> {
  const out = new Map<string, PreviousTree>();
  let names: string[];
  try {
    if (!lstatSync(dir).isDirectory()) return out;
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const env of names) {
    if (env.startsWith('.') || (only && only.length > 0 && !only.includes(env))) continue;
    if (!lstatSync(join(dir, env)).isDirectory()) continue;
    const previous = PreviousTree.read(join(dir, env), env, walks?.get(env)?.take());
    if (previous.indexed) out.set(env, previous);
  }
  return out;
}

/**
 * The paths of a scanned environment in path order: find lists a directory's entries in no
 * particular order, and what is read first decides what the diff reports (of two files holding
 * one object, the first is the object and the other a duplicate), which must not depend on it.
 */
function pathsOf(previous: PreviousTree): string[] {
  return [...previous.disk.keys()].sort(byString);
}

/** Largest rendered file read back from disk (rendered files are kilobytes). */
export const MAX_TREE_FILE_BYTES = 8 * 1024 * 1024;

/**
 * readTree for a directory that may hold anything (a GitOps checkout, `--against`): only
 * regular files of bounded size are read, and YAML that uses aliases is refused — the
 * engine never writes an anchor, so an alias there is not topoforge's output, and
 * expanding it is how an alias bomb works.
 */
export function readTreeChecked(dir: string, only?: readonly string[], known?: KnownFiles, walks?: ReadonlyMap<string, Prescan>): Outcome<RenderedTree> {
  const problems: GitopsDiagnostic[] = [];
  const tree = new Map<string, TreeEnvironment>();
  for (const [env, previous] of indexedEnvironments(dir, only, walks)) {
    const same = known?.(env, previous);
    const files = new Map<string, TreeFile>();
    for (const p of pathsOf(previous)) {
      // The index is not a rendered file (read above, within its own limit).
      if (p === INDEX_FILE) continue;
      const plugin = previous.pluginOf(p) ?? pluginFromPath(p);
      // Known to hold exactly what the render made (same hash, vouched for): that text, unread.
      const text = same?.(p);
      if (text !== undefined) {
        files.set(p, new TreeFileEntry(text, plugin));
        continue;
      }
      const file = join(dir, env, p);
      // Never through a link: a tree under review (a pull request's) could name any file of the machine running the diff.
      const r = readBoundedFile(file, MAX_TREE_FILE_BYTES, { noFollow: true });
      if (!r.ok) {
        problems.push({
          code: 'GITOPS_UNSAFE_TREE',
          message: `${file} is ${r.problem === 'too-large' ? `too large (${r.detail})` : r.problem === 'not-a-file' ? `${r.detail}, not a file` : `unreadable (${r.detail})`}`,
          hint: 'a rendered tree holds only the files topoforge wrote; remove it',
        });
        continue;
      }
      files.set(p, new TreeFileEntry(r.text, plugin));
      // An alias is written `*name`: a file without a `*` has none, and needs no parse here.
      if (!/\.ya?ml$/.test(p) || !r.text.includes('*')) continue;
      let alias = false;
      for (const d of parseAllDocuments(r.text, { prettyErrors: false }) as ReturnType<typeof parseAllDocuments> & unknown[]) {
        visit(d, {
          Alias: () => {
            alias = true;
            return visit.BREAK;
          },
        });
        if (alias) break;
      }
      if (alias)
        problems.push({
          code: 'GITOPS_UNSAFE_TREE',
          message: `${file} uses YAML aliases, which topoforge never writes; refusing to expand them`,
          hint: 'the file was edited by hand or is not topoforge output; restore it from a render',
        });
    }
    tree.set(env, { name: env, files });
  }
  if (problems.length > 0) return { ok: false, diagnostics: problems };
  return { ok: true, value: tree };
}

/**
 * What readTreeChecked may take as known in an environment of the tree (as scanned: `previous`):
 * for a path, the text it holds when that is certain without reading it.
 */
export type KnownFiles = (environment: string, previous: PreviousTree) => ((path: string) => string | undefined) | undefined;

/**
 * The files of a tree `render` wrote (with its state record) known to hold what `rendered`
 * holds: the record vouches for the file's hash (see PreviousTree), and the rendered text has it.
 * In a fresh clone (no record) nothing is known and every file is read.
 */
export function knownFromRender(rendered: RenderedTree): KnownFiles {
  return (env, previous) => {
    const files = rendered.get(env)?.files;
    if (!files) return undefined;
    return (path) => {
      const f = files.get(path);
      // Of the rendered text's size too: a file whose size changed with its mtime set back (an older copy restored) is read.
      const sha = f !== undefined ? previous.intact(path, Buffer.byteLength(f.content)) : undefined;
      return f && sha !== undefined && sha256(f.content) === sha ? f.content : undefined;
    };
  };
}
