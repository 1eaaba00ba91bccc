/**
 * The output tree is owned by topoforge and replaced all at once.
 *
 * A render builds every environment in a staging directory inside the output directory
 * (same file system, so renames are atomic), then swaps each environment directory in
 * with two renames: old → `.topoforge-trash/`, staged → place. An error before the swap
 * leaves the previous tree untouched. A kill between the two renames leaves the old
 * directory in the trash; the next run puts it back before doing anything else.
 * Files that are no longer produced disappear with the old directory.
 *
 * Local installs are not output: a `node_modules` directory anywhere in an environment (what
 * `npm ci` puts in the emitted Pulumi project) is neither listed (so `check` does not report it)
 * nor dropped — render moves it into the new tree when its parent directory is still produced.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { INDEX_FILE, type RenderResult } from '@topoforge/plugin-sdk';

const STAGING_PREFIX = '.topoforge-staging-';
const TRASH = '.topoforge-trash';
/** Directory names that hold local installs, never rendered output. */
export const KEPT_DIRECTORIES: ReadonlySet<string> = new Set(['node_modules']);

/** Kept directories inside an environment directory (relative paths; not searched inside). */
function keptDirectories(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (!statSync(p).isDirectory()) continue;
      const rel = prefix ? `${prefix}/${n}` : n;
      if (KEPT_DIRECTORIES.has(n)) out.push(rel);
      else walk(p, rel);
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

export interface IndexEntry {
  readonly path: string;
  readonly sha256: string;
  readonly plugin: string;
}

export interface EnvironmentIndex {
  readonly generator: 'topoforge';
  readonly environment: string;
  readonly files: readonly IndexEntry[];
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The files of one environment as they are written, index included, by path. */
export function environmentFiles(result: RenderResult): Map<string, string> {
  const files = new Map<string, string>();
  const entries: IndexEntry[] = [];
  for (const [path, f] of result.files) {
    files.set(path, f.content);
    entries.push({ path, sha256: sha256(f.content), plugin: f.plugin });
  }
  const index: EnvironmentIndex = { generator: 'topoforge', environment: result.environment, files: entries };
  files.set(INDEX_FILE, JSON.stringify(index, null, 2) + '\n');
  return files;
}

/** Puts back an environment directory that a killed render left in the trash; removes leftovers. */
export function recover(out: string): void {
  if (!existsSync(out)) return;
  const trash = join(out, TRASH);
  if (existsSync(trash)) {
    for (const env of readdirSync(trash)) {
      if (!existsSync(join(out, env))) renameSync(join(trash, env), join(out, env));
    }
    rmSync(trash, { recursive: true, force: true });
  }
  for (const n of readdirSync(out)) if (n.startsWith(STAGING_PREFIX)) rmSync(join(out, n), { recursive: true, force: true });
}

/** Lists an existing environment directory's files (relative, `/`-separated, sorted). */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const rel = prefix ? `${prefix}/${n}` : n;
      if (statSync(p).isDirectory()) {
        if (!KEPT_DIRECTORIES.has(n)) walk(p, rel);
      } else out.push(rel);
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

/** Environment directories in `out` that topoforge wrote (they hold an index). */
export function renderedEnvironments(out: string): string[] {
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .filter((n) => !n.startsWith('.') && existsSync(join(out, n, INDEX_FILE)))
    .sort();
}

/** Writes files under `root`, creating each directory once. */
export function writeFiles(root: string, files: Iterable<readonly [string, string]>): void {
  const made = new Set<string>();
  for (const [path, content] of files) {
    const d = dirname(join(root, path));
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    writeFileSync(join(root, path), content);
  }
}

export interface WriteOptions {
  /** Remove rendered environment directories that are not in `results` (a full render). */
  readonly prune?: boolean;
  /** Test hook: called after staging, before the swap. */
  readonly beforeSwap?: () => void;
}

export interface EnvironmentChange {
  readonly environment: string;
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly files: number;
}

/** Compares a rendered environment with what is on disk. */
export function compareWithDisk(out: string, environment: string, files: ReadonlyMap<string, string>): EnvironmentChange {
  const dir = join(out, environment);
  const onDisk = new Set(listTree(dir));
  const added: string[] = [];
  const changed: string[] = [];
  for (const [path, content] of files) {
    if (!onDisk.has(path)) added.push(path);
    else if (readFileSync(join(dir, path), 'utf8') !== content) changed.push(path);
    onDisk.delete(path);
  }
  return { environment, added, changed, removed: [...onDisk].sort(), files: files.size };
}

export function writeTree(out: string, results: readonly RenderResult[], options: WriteOptions = {}): EnvironmentChange[] {
  mkdirSync(out, { recursive: true });
  recover(out);
  const staging = join(out, `${STAGING_PREFIX}${process.pid}-${Date.now().toString(36)}`);
  const changes: EnvironmentChange[] = [];
  try {
    for (const r of results) {
      const files = environmentFiles(r);
      changes.push(compareWithDisk(out, r.environment, files));
      const root = join(staging, r.environment);
      writeFiles(root, files);
      if (files.size === 0) mkdirSync(root, { recursive: true });
    }
    options.beforeSwap?.();
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  const trash = join(out, TRASH);
  mkdirSync(trash, { recursive: true });
  const produced = new Set(results.map((r) => r.environment));
  for (const r of results) {
    const place = join(out, r.environment);
    const kept = keptDirectories(place);
    if (existsSync(place)) renameSync(place, join(trash, r.environment));
    renameSync(join(staging, r.environment), place);
    for (const k of kept) {
      // Carried over only where the new tree still has the directory it lived in.
      if (existsSync(dirname(join(place, k))) && !existsSync(join(place, k))) renameSync(join(trash, r.environment, k), join(place, k));
    }
  }
  if (options.prune) {
    for (const env of renderedEnvironments(out)) {
      if (!produced.has(env)) {
        changes.push({ environment: env, added: [], changed: [], removed: listTree(join(out, env)), files: 0 });
        renameSync(join(out, env), join(trash, env));
      }
    }
  }
  rmSync(trash, { recursive: true, force: true });
  rmSync(staging, { recursive: true, force: true });
  return changes;
}
