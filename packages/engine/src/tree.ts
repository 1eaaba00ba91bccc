/**
 * The output tree: topoforge owns exactly the environment directories it wrote, and
 * replaces them all at once.
 *
 * Ownership. An environment directory is ours when it is a real directory (not a link)
 * holding our index for that environment, and every file in it is listed in that index.
 * Anything else in the way — a directory a person made, a file added by hand inside ours,
 * a link — is foreign: the write is refused with the path named (`adopt` replaces it on
 * purpose). The index also records which environments directory the tree was rendered
 * from, so rendering another source into it is refused instead of pruning the first
 * source's environments. Links are never followed: everything is inspected with lstat.
 *
 * Concurrency. The whole write runs under an exclusive lock file in the output
 * (`.topoforge-lock`, owner PID + host); a second render waits for it, and a lock whose
 * owner died is taken over. Staging, trash and journal names carry the PID, and recovery
 * leaves those of a live process alone.
 *
 * All or nothing. Every environment is staged inside the output directory (same file
 * system, so renames are atomic). Then a journal listing the swap is written atomically,
 * and each environment is swapped with two renames: old → trash, staged → place. A kill
 * before the journal exists leaves the old tree (the staging is removed by the next
 * run); a kill after it may leave some environments new and others old on disk, and the
 * next `render` or `check` completes the journal's swap before doing anything else, so
 * the tree always ends up as one render wrote it, never as a mix.
 *
 * Local installs are not output: a `node_modules` directory anywhere in an environment (what
 * `npm ci` puts in the emitted Pulumi project) is neither listed (so `check` does not report it,
 * and ownership does not count it as foreign) nor dropped — the swap moves it into the new tree
 * when its parent directory is still produced.
 */
import { createHash, hash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { byString, TopoforgeError, type Diagnostic } from '@topoforge/model/core';
import type { RenderResult } from '@topoforge/plugin-sdk';
import { INDEX_FILE } from '@topoforge/plugin-host/core';
import type { CarriedFile, CarriedUnit, LayoutNote, UnitTag } from '@topoforge/plugin-host';
import { acquireLock, isAlive, LockTimeoutError, writeAll, writeFileAtomic, type LockOwner } from '@topoforge/safe-fs';
import { readCanonicalIndex } from './index-read.js';
import { KEPT_DIRECTORIES, lstat, walkTree, type OnDisk, type Prescan, type Walked } from './scan.js';
import { removeDirectory, WriteBehind, writeStamped } from './write-behind.js';

export const LOCK_FILE = '.topoforge-lock';

/** Kept directories inside an environment directory (relative paths; links never followed). */
function keptDirectories(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (!lstatSync(p).isDirectory()) continue;
      const rel = prefix ? `${prefix}/${n}` : n;
      if (KEPT_DIRECTORIES.has(n)) out.push(rel);
      else walk(p, rel);
    }
  };
  if (lstat(dir)?.isDirectory()) walk(dir, '');
  return out;
}
const STAGING_PREFIX = '.topoforge-staging-';
const TRASH_PREFIX = '.topoforge-trash';
const JOURNAL_PREFIX = '.topoforge-swap-';

export interface IndexEntry {
  readonly path: string;
  readonly sha256: string;
  readonly plugin: string;
  /** The file's size in bytes, when the writer knows it (not in the index: see sizesDigest). */
  readonly size?: number;
}

export interface EnvironmentIndex {
  readonly generator: 'topoforge';
  readonly environment: string;
  /** The environments directory rendered from (relative, machine-independent); see sourceId. */
  readonly source?: string;
  readonly files: readonly IndexEntry[];
}

export function sha256(text: string): string {
  // One-shot: no Hash object per file (a third less time at 112k files than createHash).
  return hash('sha256', text, 'hex');
}

/** An environment's index file: its files' hashes and plugins, in path order (sorts `entries`). */
export function indexText(environment: string, source: string | undefined, entries: IndexEntry[]): string {
  return [...indexChunks(environment, source, entries)].join('');
}

/** A string JSON.stringify writes as it is between quotes: no quote, backslash, control character or lone surrogate. */
const NO_ESCAPE = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/**
 * The index text in pieces of a few hundred entries, byte for byte `JSON.stringify(index,
 * null, 2) + '\n'` (a test holds it to that): at a million files the index is ~150 MB, which
 * is streamed to disk and hashed rather than built as one string.
 */
export function* indexChunks(environment: string, source: string | undefined, entries: IndexEntry[]): Generator<string> {
  entries.sort((a, b) => byString(a.path, b.path));
  const q = JSON.stringify;
  // Most strings need no escape: quoted as they are, a third less time at 112k files than
  // JSON.stringify on each; a plugin's name (one of a few) is quoted once.
  const quote = (s: string): string => (NO_ESCAPE.test(s) ? `"${s}"` : q(s));
  const plugins = new Map<string, string>();
  const plugin = (s: string): string => {
    let v = plugins.get(s);
    if (v === undefined) plugins.set(s, (v = q(s)));
    return v;
  };
  let head = `{\n  "generator": "topoforge",\n  "environment": ${q(environment)},\n`;
  if (source !== undefined) head += `  "source": ${q(source)},\n`;
  if (entries.length === 0) {
    yield `${head}  "files": []\n}\n`;
    return;
  }
  yield `${head}  "files": [\n`;
  const CHUNK = 512;
  for (let i = 0; i < entries.length; i += CHUNK) {
    const part: string[] = [];
    for (let j = i; j < Math.min(i + CHUNK, entries.length); j++) {
      const e = entries[j]!;
      part.push(
        `    {\n      "path": ${quote(e.path)},\n      "sha256": ${quote(e.sha256)},\n      "plugin": ${plugin(e.plugin)}\n    }${j === entries.length - 1 ? '' : ','}\n`,
      );
    }
    yield part.join('');
  }
  yield '  ]\n}\n';
}

/** Writes the index to `file` in pieces; returns its hash and size (what a comparison needs). */
export function writeIndex(file: string, environment: string, source: string | undefined, entries: IndexEntry[]): { sha: string; size: number } {
  const hash = createHash('sha256');
  let size = 0;
  const fd = openSync(file, 'w');
  try {
    for (const chunk of indexChunks(environment, source, entries)) {
      const buf = Buffer.from(chunk, 'utf8');
      hash.update(buf);
      size += buf.length;
      writeAll(fd, buf);
    }
  } finally {
    closeSync(fd);
  }
  return { sha: hash.digest('hex'), size };
}

/**
 * A digest of every file's path and size, the index left out: what the state record keeps so
 * that `check` answering from it (see recordedRender) notices a file whose size changed even
 * when its mtime was set back, as a render does (it compares each file's size with the one its
 * unit recorded, see PreviousTree). `files` in path order (byString), each with its size.
 */
export function sizesDigest(files: readonly { readonly path: string; readonly size?: number }[]): string {
  const hash = createHash('sha256');
  const CHUNK = 512;
  for (let i = 0; i < files.length; i += CHUNK) {
    let part = '';
    for (let j = i; j < Math.min(i + CHUNK, files.length); j++) part += `${files[j]!.path}\t${files[j]!.size ?? -1}\n`;
    hash.update(part);
  }
  return hash.digest('hex');
}

/** The hash and size the index would have, without writing it (check). */
export function indexDigest(environment: string, source: string | undefined, entries: IndexEntry[]): { sha: string; size: number } {
  const hash = createHash('sha256');
  let size = 0;
  for (const chunk of indexChunks(environment, source, entries)) {
    const buf = Buffer.from(chunk, 'utf8');
    hash.update(buf);
    size += buf.length;
  }
  return { sha: hash.digest('hex'), size };
}

const fail = (d: Diagnostic): never => {
  throw new TopoforgeError([d]);
};

/** The PID in a `.topoforge-staging-<pid>-…` / `.topoforge-trash-<pid>-…` / journal name. */
function pidOf(name: string): number | undefined {
  const m = /^\.topoforge-(?:staging|trash|swap)-(\d+)-/.exec(name);
  return m ? Number(m[1]) : undefined;
}

const unsafe = (out: string, name: string, what: string): never =>
  fail({
    code: 'RENDER_UNSAFE_PATH',
    message: `${join(out, name)} is ${what}, where topoforge keeps its own ${name.startsWith(STAGING_PREFIX) ? 'staging' : name.startsWith(JOURNAL_PREFIX) ? 'swap journal' : 'trash'}; refusing to touch it or what it points to`,
    hint: 'remove it by hand (rm, not rm -r, for a link); topoforge never follows links in its output directory',
  });

/** Reads an environment directory's index; undefined when it is not a valid index of `environment`. */
export function readIndex(dir: string, environment: string): EnvironmentIndex | undefined {
  const st = lstat(join(dir, INDEX_FILE));
  if (!st?.isFile()) return undefined;
  return parseIndex(readFileSync(join(dir, INDEX_FILE), 'utf8'), environment);
}

/** An index file's text as an index of `environment`; undefined when it is not one. */
function parseIndex(text: string, environment: string): EnvironmentIndex | undefined {
  try {
    const idx = JSON.parse(text) as Partial<EnvironmentIndex> | null;
    if (!idx || idx.generator !== 'topoforge' || idx.environment !== environment || !Array.isArray(idx.files)) return undefined;
    if (!idx.files.every((f) => f && typeof f.path === 'string' && typeof f.sha256 === 'string' && typeof f.plugin === 'string')) return undefined;
    if (idx.source !== undefined && typeof idx.source !== 'string') return undefined;
    return idx as EnvironmentIndex;
  } catch {
    return undefined;
  }
}

interface Journal {
  readonly pid: number;
  readonly staging: string;
  readonly trash: string;
  /** Environments replaced whole: old directory → trash, staged directory → place. */
  readonly install: readonly string[];
  /** Environments updated in place: each staged (changed) file renamed over its old one, the index last, then what the new index no longer lists removed. */
  readonly update?: readonly string[];
  readonly prune: readonly string[];
}

const isOwnName = (n: string, prefix: string): boolean => n.startsWith(prefix) && !n.includes('/') && !n.includes('\\') && n !== '.' && n !== '..';

/** Completes a journal's swap (idempotent: steps already done are skipped). */
/**
 * What the render that staged an environment knows of its swap, so that the swap need not find
 * it out on disk (a recovery, in another process, does): the files it staged, which of their
 * paths held a file before, and what it removes.
 */
interface KnownSwap {
  readonly staged: readonly string[];
  readonly wasFile: (path: string) => boolean;
  readonly removed: readonly string[];
  /**
   * Paths the last index listed that were not on disk (deleted by hand): nothing to remove, but
   * a directory they lived in that the new index does not list goes, as a fresh render has none.
   */
  readonly vanished?: readonly string[];
  /** The render's writing thread, if it started one: it takes every other directory's renames. */
  readonly behind?: WriteBehind | undefined;
}

/** Returns the directories an update put in the trash whole (see updateInPlace) for the caller to empty: those no second thread empties. */
function applyJournal(out: string, j: Journal, between?: (env: string) => void, known?: ReadonlyMap<string, KnownSwap>): string[] {
  const trash = join(out, j.trash);
  if (!lstat(trash)) mkdirSync(trash);
  for (const env of j.install) {
    const staged = join(out, j.staging, env);
    if (!lstat(staged)?.isDirectory()) continue; // already swapped
    const place = join(out, env);
    const kept = keptDirectories(place);
    if (lstat(place)) renameSync(place, join(trash, env));
    between?.(env);
    renameSync(staged, place);
    for (const k of kept) {
      // Carried over only where the new tree still has the directory it lived in.
      if (lstat(dirname(join(place, k)))?.isDirectory() && !lstat(join(place, k))) renameSync(join(trash, env, k), join(place, k));
    }
  }
  const trashed: string[] = [];
  // An updated environment's directories go to trash/<env>/ (an installed one's whole directory is trash/<env>).
  for (const env of j.update ?? [])
    for (const d of updateInPlace(join(out, j.staging, env), join(out, env), join(trash, env), () => between?.(env), known?.get(env))) trashed.push(d);
  for (const env of j.prune) if (lstat(join(out, env))) renameSync(join(out, env), join(trash, env));
  return trashed;
}

/** mkdir -p of `rel` under `root`, where a file of ours standing in the way (a path that was a file and is now a directory) is removed. */
function makeDirectory(root: string, rel: string): void {
  if (rel === '.' || rel === '') return;
  let d = root;
  for (const seg of rel.split('/')) {
    d = join(d, seg);
    const st = lstat(d);
    if (st?.isDirectory()) continue;
    if (st) unlinkSync(d);
    mkdirSync(d);
  }
}

/** Staged files a directory needs before it is swapped whole (see wholeCandidates): fewer are cheaper renamed one by one. */
export const WHOLE_DIRECTORY_FILES = 8;

/**
 * The staged directories of an update that may replace their live directory whole, with how
 * many staged files each holds: a directory of at least WHOLE_DIRECTORY_FILES staged files and
 * no staged directory below it (so none is inside another). Each goes in whole only if its live
 * directory (if any) holds nothing but files this render replaces or removes (see
 * replacesWhole) — no file it keeps, no foreign file, no directory (a local install, an empty
 * one). Why: a full render replaced 112,586 files with one `rename` each,
 * ~1 s of its ~5 s (each rename across directories, over a file it frees); swapping a
 * directory takes two renames, and unlinking the old files, on both threads during the rest of
 * the swap, half that (docs/benchmarks.md, the eleventh and twelfth sessions' notes).
 */
function wholeCandidates(files: readonly string[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const rel of files) {
    const i = rel.lastIndexOf('/');
    // The environment's own directory (the index and the state live beside it) is never swapped.
    if (i > 0) {
      const d = rel.slice(0, i);
      count.set(d, (count.get(d) ?? 0) + 1);
    }
  }
  // A directory with staged files below it is not swapped (the live one may hold kept files there).
  const above = new Set<string>();
  for (const d of count.keys()) for (let i = d.lastIndexOf('/'); i > 0; i = d.lastIndexOf('/', i - 1)) above.add(d.slice(0, i));
  for (const [d, n] of count) if (n < WHOLE_DIRECTORY_FILES || above.has(d)) count.delete(d);
  return count;
}

/**
 * Whether the staged directory `d` (see wholeCandidates) replaces its live one whole, judged from
 * the live directory's listing under the lock at the swap, not from the scan (which skips
 * directories, and has settled — forgotten — the paths rendered). `removing`: the paths the
 * render removes.
 */
function replacesWhole(staged: string, place: string, d: string, removing: ReadonlySet<string>): boolean {
  let entries: Dirent[];
  try {
    // A file or a link where the directory goes: file by file.
    if (!lstatSync(`${place}/${d}`).isDirectory()) return false;
    entries = readdirSync(`${place}/${d}`, { withFileTypes: true });
  } catch (err) {
    // Nothing there yet: the staged directory is renamed into place. (ENOTDIR: a parent that
    // is a file now, which the swap file by file replaces.)
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  // Name by name, not by count: a file kept, or one made by hand while the render ran, in the
  // place of one deleted meanwhile, would count the same. Every entry must be a file this
  // render replaces (a name staged there) or removes; a directory in it keeps it file by file.
  const mine = new Set(readdirSync(`${staged}/${d}`));
  return !entries.some((e) => e.isDirectory() || (!mine.has(e.name) && !removing.has(`${d}/${e.name}`)));
}

/**
 * The paths on disk that `rel` below `root` stands for when a name in it is not UTF-8: find's
 * and readdir's strings carry U+FFFD in its place, and no string path reaches such a file. Each
 * name is matched by its bytes, decoded as those strings were (every match: two names may
 * decode alike). Only for what a render removes (a foreign file adopted): before, it was
 * reported removed and left, and every later render refused it again.
 */
function byBytes(root: string, rel: string): Buffer[] {
  let at: Buffer[] = [Buffer.from(root)];
  for (const seg of rel.split('/')) {
    const next: Buffer[] = [];
    for (const dir of at) {
      let names: Buffer[];
      try {
        names = readdirSync(dir, { encoding: 'buffer' });
      } catch {
        continue;
      }
      for (const n of names) if (n.toString('utf8') === seg) next.push(Buffer.concat([dir, Buffer.from('/'), n]));
    }
    at = next;
  }
  return at;
}

/**
 * Moves the staged files of one environment over the live ones (rename replaces a file
 * atomically), the index last, then removes what the new index no longer lists and the
 * directories left without a rendered file (with any local install in them, as a whole
 * swap drops it). A directory staged whole (see wholeCandidates) goes in with two renames:
 * the live one into `trash`, the staged one into place. Recovery calls it again after a kill:
 * files already moved are gone from staging (a directory put in the trash and not yet
 * replaced is rebuilt file by file), and the removal is recomputed from the index now in
 * place. Returns the directories it put in the trash for the caller to empty: with the render's
 * second thread (`known.behind`), none, as that thread empties each from when it is swapped.
 */
function updateInPlace(staged: string, place: string, trash: string, between: () => void, known?: KnownSwap): string[] {
  const removedKnown = known?.removed;
  const trashed: string[] = [];
  if (lstat(staged)?.isDirectory()) {
    // The render's own list, or (a recovery) a walk: at 100k files the walk's lstat of each was seconds.
    const files = known?.staged ?? listTree(staged).filter((p) => p !== INDEX_FILE);
    const behind = known?.behind;
    // A recovery renames file by file: it does not know what the render's scan saw.
    const whole = known ? wholeCandidates(files) : new Map<string, number>();
    const removing = new Set(whole.size > 0 ? known?.removed : undefined);
    const half = Math.ceil(files.length / 2);
    let moved = 0;
    const advance = (n: number): void => {
      const before = moved;
      moved += n;
      if (before < half && moved >= half) between();
    };
    let old = 0;
    for (const [d, n] of [...whole]) {
      // Each judged just before it is swapped (none is inside another: see wholeCandidates).
      if (!replacesWhole(staged, place, d, removing)) {
        whole.delete(d);
        continue;
      }
      const to = `${place}/${d}`;
      makeDirectory(place, dirname(d));
      const gone = lstat(to) ? `${trash}/${old++}` : undefined;
      if (gone !== undefined) {
        if (old === 1) mkdirSync(trash, { recursive: true });
        renameSync(to, gone);
      }
      // Between the two renames (a test's kill here leaves the directory missing: the recovery's case).
      advance(n);
      renameSync(`${staged}/${d}`, to);
      // The old one is emptied by the second thread from now on, while this one goes on swapping
      // (the render's last drain shares what is left); without one, by the caller.
      if (gone !== undefined) {
        if (behind) behind.removeDirectory(gone);
        else trashed.push(gone);
      }
    }
    // Each directory made (or found) once; with a second thread, every other one's files are
    // renamed there (renames across directories run in part in parallel: docs/benchmarks.md).
    // (null: the directory went in whole, its files with it.)
    const made = new Map<string, boolean | null>();
    let renamedBehind = false;
    // The last file's directory and what was decided for it: files come grouped by directory,
    // and most of a full render's went in whole with theirs (nothing to do per file but skip).
    let lastParent: string | undefined;
    let lastThere: boolean | null = null;
    for (const rel of files) {
      const slash = rel.lastIndexOf('/');
      let there: boolean | null;
      if (lastParent !== undefined && slash === lastParent.length && rel.startsWith(lastParent)) there = lastThere;
      else {
        const parent = slash === -1 ? '.' : rel.slice(0, slash);
        let decided = made.get(parent);
        if (decided === undefined) {
          if (whole.has(parent)) decided = null;
          else {
            makeDirectory(place, parent);
            // Not while the second thread has old directories to remove ahead: what is queued waits for them.
            decided = behind !== undefined && !behind.removing && made.size % 2 === 1;
          }
          made.set(parent, decided);
        }
        there = decided;
        lastParent = parent;
        lastThere = decided;
      }
      if (there === null) continue;
      // Plain concatenation: both parts are normal (join() allocated ~3 KB per file, issue 19).
      const from = `${staged}/${rel}`;
      const to = `${place}/${rel}`;
      // A path that was a directory and is now a file: what was below it is ours and goes.
      // (One that held a file before, as the render's scan saw it, was not a directory.)
      if (!known?.wasFile(rel) && lstat(to)?.isDirectory()) rmSync(to, { recursive: true, force: true });
      if (there) {
        behind!.rename(from, to);
        renamedBehind = true;
      } else renameSync(from, to);
      advance(1);
    }
    // Every file is in place before the index is (removals queued go on meanwhile: the old tree is
    // not needed, and the index does not wait for it).
    if (renamedBehind) behind?.drain();
    if (files.length === 0) between();
    if (lstat(join(staged, INDEX_FILE))) renameSync(join(staged, INDEX_FILE), join(place, INDEX_FILE));
  }
  // Known to remove nothing (the render counted it): no need to read the new index back.
  const vanished = known?.vanished ?? [];
  if (removedKnown !== undefined && removedKnown.length === 0 && vanished.length === 0) return trashed;
  const index = readIndex(place, place.slice(dirname(place).length + 1));
  if (!index) return trashed;
  const listed = new Set(index.files.map((f) => f.path));
  const removed = removedKnown ?? listTree(place).filter((p) => p !== INDEX_FILE && !listed.has(p));
  for (const rel of removed) {
    let st: Stats | undefined;
    try {
      st = lstat(join(place, rel));
    } catch (err) {
      // A parent is a file now (a directory that became a file): nothing of the old path is left.
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw err;
    }
    // A directory now (a file that became one): the new files live in it.
    if (st && !st.isDirectory()) unlinkSync(join(place, rel));
    else if (!st && rel.includes('\ufffd')) for (const b of byBytes(place, rel)) if (!lstatSync(b).isDirectory()) unlinkSync(b);
  }
  // Directories no rendered file lives in any more go, with what is left in them (local installs).
  const live = new Set<string>();
  for (const p of listed) for (let d = dirname(p); d !== '.' && !live.has(d); d = dirname(d)) live.add(d);
  const gone = new Set<string>();
  for (const rel of vanished.length === 0 ? removed : [...removed, ...vanished]) {
    let top: string | undefined;
    for (let d = dirname(rel); d !== '.'; d = dirname(d)) if (!live.has(d)) top = d;
    if (top !== undefined) gone.add(top);
  }
  for (const d of gone) {
    if (listed.has(d)) continue;
    rmSync(join(place, d), { recursive: true, force: true });
    if (d.includes('\ufffd')) for (const b of byBytes(place, d)) rmSync(b, { recursive: true, force: true });
  }
  return trashed;
}

function readJournal(out: string, name: string): Journal | undefined {
  try {
    const j = JSON.parse(readFileSync(join(out, name), 'utf8')) as Partial<Journal>;
    const names = (xs: unknown): xs is string[] => Array.isArray(xs) && xs.every((x) => typeof x === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(x));
    if (typeof j.pid !== 'number' || typeof j.staging !== 'string' || typeof j.trash !== 'string' || !names(j.install) || !names(j.prune)) return undefined;
    if (j.update !== undefined && !names(j.update)) return undefined;
    if (!isOwnName(j.staging, STAGING_PREFIX) || !isOwnName(j.trash, TRASH_PREFIX)) return undefined;
    return j as Journal;
  } catch {
    return undefined;
  }
}

/** What recovery would do: leftovers of a render that is no longer running. */
/** Whether any render's staging, trash or swap journal is in `out`, its process alive or not. */
export function workInProgress(out: string): boolean {
  if (!lstat(out)?.isDirectory()) return false;
  return readdirSync(out).some((n) => n.startsWith(STAGING_PREFIX) || n.startsWith(TRASH_PREFIX) || n.startsWith(JOURNAL_PREFIX));
}

export function interruptedWork(out: string): string[] {
  if (!lstat(out)?.isDirectory()) return [];
  return readdirSync(out)
    .filter((n) => n.startsWith(STAGING_PREFIX) || n.startsWith(TRASH_PREFIX) || n.startsWith(JOURNAL_PREFIX))
    .filter((n) => {
      const pid = pidOf(n);
      return pid === undefined || pid === process.pid || !isAlive(pid);
    })
    .sort();
}

/**
 * Repairs what a killed render left (call it holding the lock): completes a journaled
 * swap, puts back an environment a pre-journal version left in `.topoforge-trash`, and
 * removes staging and trash directories of processes that are gone. Refuses links.
 */
export function recover(out: string): void {
  if (!lstat(out)?.isDirectory()) return;
  const names = interruptedWork(out);
  for (const n of names) {
    const st = lstat(join(out, n))!;
    if (st.isSymbolicLink()) unsafe(out, n, 'a symbolic link');
    if (n.startsWith(JOURNAL_PREFIX) ? !st.isFile() : !st.isDirectory()) unsafe(out, n, 'not what topoforge writes there');
  }
  for (const n of names.filter((x) => x.startsWith(JOURNAL_PREFIX))) {
    const j = readJournal(out, n);
    if (j) {
      for (const d of [j.staging, j.trash]) {
        const st = lstat(join(out, d));
        if (st && (st.isSymbolicLink() || !st.isDirectory())) unsafe(out, d, 'a symbolic link');
      }
      applyJournal(out, j);
    }
    unlinkSync(join(out, n));
  }
  // A version before the journal swapped with one `.topoforge-trash`: put back what a kill left there.
  const legacy = join(out, TRASH_PREFIX);
  if (names.includes(TRASH_PREFIX)) {
    for (const env of readdirSync(legacy)) {
      const st = lstat(join(legacy, env));
      if (st?.isDirectory() && !st.isSymbolicLink() && readIndex(join(legacy, env), env) && !lstat(join(out, env)))
        renameSync(join(legacy, env), join(out, env));
    }
  }
  // rmSync does not follow links inside what it removes.
  for (const n of names.filter((x) => !x.startsWith(JOURNAL_PREFIX))) rmSync(join(out, n), { recursive: true, force: true });
  sweepState(out);
}

/**
 * What a render killed while writing its state records leaves in STATE_DIR: a record's
 * temporary file (writeFileAtomic's `.<env>.json.tmp-<pid>-<hex>`; a record at 112k files is
 * megabytes, written over a noticeable time) or the seal's probe (see sealTime). Removed
 * when the process that made it is gone; only regular files of exactly those names, in a
 * real directory (a link there, or in its place, is left alone).
 */
function sweepState(out: string): void {
  const dir = join(out, STATE_DIR);
  const st = lstat(dir);
  if (!st?.isDirectory()) return;
  for (const n of readdirSync(dir)) {
    const m = /^(?:\.seal|\.[a-z0-9]([-a-z0-9]*[a-z0-9])?\.json\.tmp)-(\d+)-[0-9a-f]{8}$/.exec(n);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    if (lstat(join(dir, n))?.isFile()) unlinkSync(join(dir, n));
  }
}

/** Lists a directory's files (relative, `/`-separated, sorted), links included as entries, never followed. */
export function listTree(dir: string): string[] {
  return [...walkTree(dir).keys()];
}

/**
 * Environment directories in `out` that topoforge wrote (real directories holding our index),
 * leaving out `except` unread: a render already scanned the ones it produces, and each index
 * read costs a parse of tens of MB at 100k files.
 */
export function renderedEnvironments(out: string, except: readonly string[] = []): string[] {
  if (!lstat(out)?.isDirectory()) return [];
  return readdirSync(out)
    .filter((n) => !n.startsWith('.') && !except.includes(n) && lstat(join(out, n))?.isDirectory() && readIndex(join(out, n), n) !== undefined)
    .sort();
}

export interface WriteOptions {
  /** Remove rendered environment directories that are not in `results` (a full render). */
  readonly prune?: boolean;
  /** Replace foreign content and another source's environments on purpose (`--adopt`). */
  readonly adopt?: boolean;
  /** Identity of the environments directory (see sourceId); recorded in each index. */
  readonly source?: string;
  /** Other names an index may give the same directory (see sourceAliases): ours, and renamed by this render. */
  readonly sourceAliases?: readonly string[];
  /** How long to wait for another render's lock (default 120 s). */
  readonly lockTimeoutMs?: number;
  /** Called once when another process holds the lock. */
  readonly onWait?: (owner: LockOwner | undefined) => void;
  /** Keep the state record (default true); publish, writing into a repository's worktree, does not. */
  readonly keepState?: boolean;
  /**
   * Test hook: how each produced environment's directory was walked (by find while the render or
   * check loaded, or in process), and whether its index was read while find walked (see Prescan.readIndex).
   */
  readonly walked?: (environment: string, by: 'find' | 'process', indexReadMeanwhile: boolean) => void;
  /**
   * After how many staged files the rest are written on a second thread (see WriteBehind;
   * default 4096: a small render does not pay for starting one). Tests set 0.
   */
  readonly writeBehindAfter?: number;
  /**
   * Called once that second thread is up: V8 re-enforces its flag implications when an
   * isolate starts, undoing a V8 flag the caller set at run time (see WriteBehind).
   */
  readonly threadStarted?: () => void;
  /** Test hook: called after staging, before the swap. */
  readonly beforeSwap?: () => void;
  /** Test hook: called inside the swap, between an environment's two renames. */
  readonly duringSwap?: (environment: string) => void;
}

export interface EnvironmentChange {
  readonly environment: string;
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly files: number;
}

/** Whether an index naming `recorded` as its source (none: an older version's) is of the source being rendered. */
function sameSource(recorded: string | undefined, options: WriteOptions): boolean {
  return recorded === undefined || options.source === undefined || recorded === options.source || (options.sourceAliases?.includes(recorded) ?? false);
}

const adoptHint = 'move it out of the output directory, or pass --adopt to let topoforge replace it';

/** Refuses to replace (or prune) `out/<env>` unless topoforge wrote all of it from this source. */
function checkOwned(out: string, env: string, options: WriteOptions, pruning: boolean, known?: Scanned): void {
  const place = join(out, env);
  const st = lstat(place);
  if (!st || options.adopt) return;
  if (st.isSymbolicLink() || !st.isDirectory()) {
    fail({
      code: 'RENDER_FOREIGN_CONTENT',
      message: `${place} is ${st.isSymbolicLink() ? 'a symbolic link' : 'a file'} topoforge did not write, in the place of environment "${env}"`,
      hint: adoptHint,
    });
  }
  const scanned = known ?? scanEnvironment(place, env);
  const index = scanned.index;
  if (!index)
    fail({
      code: 'RENDER_FOREIGN_CONTENT',
      message: `${place} was not written by topoforge (it has no ${INDEX_FILE} for "${env}"); refusing to replace it`,
      hint: adoptHint,
    });
  if (!sameSource(index!.source, options)) {
    fail({
      code: 'RENDER_OTHER_SOURCE',
      message: `${place} was rendered from ${index!.source}, not ${options.source}; refusing to ${pruning ? 'delete' : 'replace'} it`,
      hint: 'render each environments directory into its own output (--out), or pass --adopt to take the output over',
    });
  }
  // The scan's entries the index lists carry its hash (scanEnvironment): the rest is foreign.
  const foreign: string[] = [];
  for (const [p, d] of scanned.disk) if (d.sha === undefined && p !== INDEX_FILE) foreign.push(p);
  // In path order, whichever walk listed them (find lists a directory's entries unsorted).
  foreign.sort(byString);
  if (foreign.length > 0) {
    fail({
      code: 'RENDER_FOREIGN_CONTENT',
      message: `${place} holds ${foreign.length} file${foreign.length === 1 ? '' : 's'} topoforge did not write: ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}; refusing to ${pruning ? 'delete' : 'replace'} ${foreign.length === 1 ? 'it' : 'them'}`,
      hint: adoptHint,
    });
  }
}

const tag = (): string => `${process.pid}-${randomBytes(4).toString('hex')}`;

/** An environment directory as one walk saw it, with its index (read once, parsed once). */
interface Scanned {
  readonly disk: Map<string, OnDisk>;
  /** The index without its file list (which now lives in `disk`: each listed entry has its hash). */
  readonly index: Omit<EnvironmentIndex, 'files'> | undefined;
  /** The index file's hash, which a unit record must name. */
  readonly indexSha: string | undefined;
  /** How many files the index lists. */
  readonly listed: number;
  /** Paths the index lists that are not on disk (deleted by hand): few. */
  readonly vanished: readonly string[];
}

/** Scans an environment directory (or takes what a walk found: see Prescan) and reads its index; each listed entry gets the index's hash. */
function scanEnvironment(dir: string, environment: string, walked?: Walked): Scanned {
  const disk = walked?.disk ?? walkTree(dir);
  const vanished: string[] = [];
  if (disk.get(INDEX_FILE)?.file) {
    const note = (path: string, sha: string, plugin: string): void => {
      const d = disk.get(path);
      if (d) {
        d.sha = sha;
        d.plugin = plugin;
      } else vanished.push(path);
    };
    // Read while find walked (see Prescan.readIndex), or now.
    const read = walked?.index?.canonical.environment === environment ? walked.index : undefined;
    if (read) for (let i = 0; i < read.paths.length; i++) note(read.paths[i]!, read.shas[i]!, read.plugins[i]!);
    const canonical = read ? read.canonical : readCanonicalIndex(join(dir, INDEX_FILE), environment, note);
    if (canonical) {
      const head = { generator: 'topoforge' as const, environment, ...(canonical.source !== undefined ? { source: canonical.source } : {}) };
      return { disk, index: head, indexSha: canonical.sha, listed: canonical.listed, vanished };
    }
    // Not exactly as indexChunks writes it: what was noted is undone, and the text read as JSON.
    vanished.length = 0;
    for (const d of disk.values()) {
      if (d.sha !== undefined) {
        d.sha = undefined;
        d.plugin = undefined;
      }
    }
  }
  const bytes = disk.get(INDEX_FILE)?.file ? readFileSync(join(dir, INDEX_FILE)) : undefined;
  const text = bytes?.toString('utf8');
  const index = text !== undefined ? parseIndex(text, environment) : undefined;
  for (const f of index?.files ?? []) {
    const d = disk.get(f.path);
    if (d) {
      d.sha = f.sha256;
      d.plugin = f.plugin;
    } else vanished.push(f.path);
  }
  // Neither the text nor the list is kept: at a million files they are hundreds of MB.
  const head = index
    ? { generator: index.generator, environment: index.environment, ...(index.source !== undefined ? { source: index.source } : {}) }
    : undefined;
  // The hash of the bytes, as writeIndex hashes what it writes.
  return {
    disk,
    index: head,
    indexSha: bytes !== undefined ? createHash('sha256').update(bytes).digest('hex') : undefined,
    listed: index?.files.length ?? 0,
    vanished,
  };
}

/**
 * The previous render of one environment, as far as a new one needs it: what is on disk, and
 * the hash its index lists for each file (one map: a path is kept once). A file is known
 * unchanged without reading it only when topoforge itself vouches for it: the environment's
 * state record (see readState), written after the last render finished and naming the index
 * on disk, is newer than the file, and the index lists the hash the new content has, and the
 * file has its size. The index alone vouches for nothing: it is committed with the files, so
 * in a fresh clone (a pull-request pipeline) a hand-edited file is as new as the index; it is
 * read and compared, as is every file changed (or touched) after the record.
 */
export class PreviousTree {
  /** Settled paths (see settled) that held something other than a regular file: few. */
  private readonly settledOther = new Set<string>();

  /**
   * `disk` as scanEnvironment made it (listed entries carry the index's hash); files modified
   * before `trustedBefore` (the record's mtime) and last changed by `sealedBefore` (the
   * time the record was sealed at, see Sealed) are vouched for.
   */
  constructor(
    readonly dir: string,
    /** What is on disk, less the paths a render has settled (see settled). */
    readonly disk: Map<string, OnDisk>,
    private readonly trustedBefore: number,
    private readonly sealedBefore: number,
    /** Whether the directory holds a valid index of the environment: one topoforge rendered (what renderedEnvironments lists). */
    readonly indexed = false,
    /** The hash of the index file as the scan read it (absent: none was read). */
    private readonly indexSha?: string,
    /** Paths the index lists that were not on disk (see Scanned). */
    readonly vanished: readonly string[] = [],
  ) {}

  /** `walked`: what a walk by find found there (see Prescan.take); else the walk is done here. */
  static read(dir: string, environment: string, walked?: Walked): PreviousTree {
    const s = scanEnvironment(dir, environment, walked);
    const state = s.index ? readState(dirname(dir), environment, s.indexSha) : undefined;
    return new PreviousTree(dir, s.disk, state?.mtimeMs ?? -Infinity, state?.sealedMs ?? -Infinity, s.index !== undefined, s.indexSha, s.vanished);
  }

  /** The plugin the index lists for a path. */
  pluginOf(path: string): string | undefined {
    return this.disk.get(path)?.plugin;
  }

  /**
   * Whether the record vouches for the file's hash: modified strictly before it (one in the
   * record's own clock tick is read), and its inode last changed no later than the record was
   * sealed (see Sealed; a change since, in a later clock tick of the file system — a few
   * milliseconds — is read). Not strictly before: a small render writes its files and seals
   * its record in one tick, and each would be read again.
   */
  private vouched(d: OnDisk): boolean {
    return d.sha !== undefined && d.mtimeMs < this.trustedBefore && d.ctimeMs <= this.sealedBefore;
  }

  /**
   * 'same' | 'changed' | 'added' for a file about to be written with `content` (hash `sha`, `size`
   * bytes), and the path settled (see settled): one lookup and one delete, not three lookups
   * (every file of a render comes here).
   */
  compareSettled(path: string, content: string, sha: string, size: number): 'same' | 'changed' | 'added' {
    const d = this.disk.get(path);
    // Compared first: settled only once the answer is known (reading the file may throw).
    const c = this.compareWith(d, path, content, sha, size);
    if (d !== undefined) {
      if (!d.file) this.settledOther.add(path);
      this.disk.delete(path);
    }
    return c;
  }

  private compareWith(d: OnDisk | undefined, path: string, content: string, sha: string, size: number): 'same' | 'changed' | 'added' {
    if (!d) return 'added';
    if (!d.file) return 'changed';
    if (d.size !== size) return 'changed';
    // Vouched for: the file holds what the index lists, so its hash decides without reading it.
    if (this.vouched(d)) return d.sha === sha ? 'same' : 'changed';
    return readFileSync(join(this.dir, path), 'utf8') === content ? 'same' : 'changed';
  }

  /**
   * The hash the index lists for a file that is on disk exactly as the last render wrote it
   * (a regular file of `size` bytes the record vouches for): what a carried unit keeps.
   */
  intact(path: string, size: number): string | undefined {
    // One lookup: a re-render asks this of every file of every unchanged unit.
    const d = this.disk.get(path);
    return d !== undefined && d.file && d.size === size && this.vouched(d) ? d.sha : undefined;
  }

  /**
   * A render is done asking about `path` (each path is produced once): what the scan saw there
   * is not needed again, only whether it was a regular file (see wasFile). Dropped so that a
   * render does not hold two paths and two hashes of each file (~25 MB at 100k files).
   */
  settled(path: string): void {
    const d = this.disk.get(path);
    if (!d) return;
    if (!d.file) this.settledOther.add(path);
    this.disk.delete(path);
  }

  /** settled for a path that held a regular file (one found intact): nothing to note but that it is done. */
  settledFile(path: string): void {
    this.disk.delete(path);
  }

  /** Whether a regular file stood at `path` before the render; for a settled path, `added` tells whether anything stood there. */
  wasFile(path: string, added: ReadonlySet<string>): boolean {
    const d = this.disk.get(path);
    if (d) return d.file;
    return !added.has(path) && !this.settledOther.has(path);
  }

  /** The same for a file known by its hash and size only (the index, which is never held whole); reads the old one to hash it. */
  compareHashed(path: string, sha: string, size: number): 'same' | 'changed' | 'added' {
    const d = this.disk.get(path);
    if (!d) return 'added';
    if (!d.file || d.size !== size) return 'changed';
    // The index was read and hashed by the scan already: tens of MB at 100k files, not read twice.
    if (path === INDEX_FILE && this.indexSha !== undefined) return this.indexSha === sha ? 'same' : 'changed';
    return createHash('sha256')
      .update(readFileSync(join(this.dir, path)))
      .digest('hex') === sha
      ? 'same'
      : 'changed';
  }
}

/** Counts what a render adds and changes in one environment, against the previous tree. */
export class ChangeCounter {
  readonly added: string[] = [];
  readonly changed: string[] = [];
  private files = 0;

  /** What is left of `previous.disk` at the end (each path counted is settled: see PreviousTree.settled) was removed. */
  constructor(
    readonly environment: string,
    readonly previous: PreviousTree,
  ) {}

  /** Records one file; true when it must be written. */
  note(path: string, content: string, sha: string, size = Buffer.byteLength(content)): boolean {
    this.files++;
    return this.count(path, this.previous.compareSettled(path, content, sha, size));
  }

  /** Records a file carried unchanged (a unit's, checked intact). */
  kept(path: string): void {
    this.files++;
    this.previous.settledFile(path);
  }

  /** Records a file known by hash and size (the index). */
  noteHashed(path: string, sha: string, size: number): void {
    this.record(path, this.previous.compareHashed(path, sha, size));
  }

  private record(path: string, c: 'same' | 'changed' | 'added'): boolean {
    this.files++;
    // Counted once: what the scan saw at the path is not needed again (no set of the paths left is kept beside it).
    this.previous.settled(path);
    return this.count(path, c);
  }

  private count(path: string, c: 'same' | 'changed' | 'added'): boolean {
    if (c === 'added') this.added.push(path);
    else if (c === 'changed') this.changed.push(path);
    return c !== 'same';
  }

  finish(): EnvironmentChange {
    return {
      environment: this.environment,
      added: this.added.sort(),
      changed: this.changed.sort(),
      removed: [...this.previous.disk.keys()].sort(),
      files: this.files,
    };
  }
}

/**
 * What topoforge knows locally about each environment it wrote, like git's own index: one
 * record per environment, `<out>/.topoforge-state/<env>.json`, written when a render has
 * swapped the environment in. It names the index it was written beside (any other index — a
 * checkout, a publish, a hand edit — voids it), its mtime vouches for the files not modified
 * since (see PreviousTree), and it lists the render units (see EnvironmentWriter.carry). It
 * is not output: never committed (the directory ignores itself for git), never in a clone.
 */
export const STATE_DIR = '.topoforge-state';
// 4: the record and the files a render writes are dated before its lock (see recordMtimeMs); a
// record of 3 was dated when written, and may vouch for a file edited while its render ran.
// 5: the record names its own date and the files' sizes (`dated`, `sizes`).
// 6: the record names the index file as the swap left it (`sealed`): a file changed since (its
// ctime later) is read, whatever its mtime says.
const STATE_VERSION = 6;

/**
 * A unit: its key and its files, one line each — path, size and layout identities (`+id` an
 * emitted object, `-id` a document of a file), tab-separated. One string per unit, not an
 * array per file: a render whose keys all changed never splits them, and at 100k files the
 * record is a few thousand strings rather than hundreds of thousands of objects.
 */
interface UnitRecord {
  readonly key: string;
  readonly files: string;
}
interface StateFile {
  readonly version: number;
  /** The sha256 of the index file it was written beside. */
  readonly index: string;
  /**
   * The mtime (ms) its render gave it (see recordMtimeMs). A record whose mtime is later is a
   * copy (`cp` of an older render's record beside the index it names): its date vouches for
   * nothing, and it is not read.
   */
  readonly dated: number;
  /** sizesDigest of the files its render wrote or kept. */
  readonly sizes: string;
  /** The index file beside it, as the swap left it (see Sealed). */
  readonly sealed: Sealed;
  /** plugin → service → unit. */
  readonly units: Record<string, Record<string, UnitRecord>>;
  /** What the render that wrote the tree read (see RenderInputs); absent when it could not all be fingerprinted. */
  readonly inputs?: RenderInputs;
}

/**
 * The index file a render swapped in, by inode and ctime (ms), as it was when the record was
 * written: which directory the record is of. A record copied beside another index (a `cp -p`
 * from another output, its mtime kept) names another inode, and an index touched since (a
 * `chmod`, a copy over it) has another ctime; either voids the record.
 *
 * `at` then says what changed since the render: the file system's time (see sealTime) once
 * every file the render wrote or kept had its last inode change, after the swap. A file whose
 * ctime is later changed since — a restored older copy keeps its mtime and size (`cp -p`,
 * `rsync -a`, `tar x`), never its ctime — and is read, not vouched for. Kept in the record, not
 * taken from the record file's own ctime, which a copy of the record or a touch moves on.
 */
interface Sealed {
  readonly ino: number;
  readonly ctimeMs: number;
  readonly at: number;
}

/**
 * The file system's clock now, in the ctime it gives (coarse: a few milliseconds behind a
 * clock read in process, which could date a later change before the seal): the ctime of a
 * file made for it in `dir` and removed.
 */
function sealTime(dir: string): number {
  const probe = join(dir, `.seal-${tag()}`);
  const fd = openSync(probe, 'wx', 0o600);
  try {
    return fstatSync(fd).ctimeMs;
  } finally {
    closeSync(fd);
    unlinkSync(probe);
  }
}

/**
 * Everything a render of one environment read, as `check` can verify it without rendering:
 * `key` covers topoforge's code, the CRDs, the Node runtime and every file of the environments
 * directory (see renderInputsKey in recorded.ts); `plugins`, each plugin as it was resolved and
 * fingerprinted. `environments` lists every environment the directory held then, in order.
 */
export interface RenderInputs {
  readonly key: string;
  readonly environments: readonly string[];
  readonly plugins: readonly RecordedPlugin[];
}

/** A plugin as a render loaded it: its specifier, the environment file naming it, the file it resolved to, its code's fingerprint. */
export interface RecordedPlugin {
  readonly package: string;
  readonly envFile: string;
  readonly file: string;
  readonly fingerprint: string;
}

const isRecordedPlugin = (p: unknown): p is RecordedPlugin =>
  typeof p === 'object' && p !== null && ['package', 'envFile', 'file', 'fingerprint'].every((k) => typeof (p as Record<string, unknown>)[k] === 'string');

const isRenderInputs = (v: unknown): v is RenderInputs =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as RenderInputs).key === 'string' &&
  Array.isArray((v as RenderInputs).environments) &&
  (v as RenderInputs).environments.every((e) => typeof e === 'string') &&
  Array.isArray((v as RenderInputs).plugins) &&
  (v as RenderInputs).plugins.every(isRecordedPlugin);

/**
 * The environment directory `out/<environment>` exactly as the render that recorded `inputs`
 * left it: its record names the index on disk, every file on disk is listed in that index and
 * vouched for (a regular file, not modified since the record, of the size… — see PreviousTree),
 * and no listed file is missing. Undefined otherwise. `files` counts the index too, as check does.
 */
export function recordedRender(
  out: string,
  environment: string,
  wanted: (inputs: RenderInputs) => boolean,
): { readonly inputs: RenderInputs; readonly files: number } | undefined {
  // The record first, whatever index it names: when it names other inputs than `wanted`, the
  // walk of every file and the read of the index (1.4 s at 100k files) are not needed.
  if (!lstat(join(out, environment, INDEX_FILE))?.isFile()) return undefined;
  const first = readState(out, environment, ANY_INDEX);
  if (!first || !isRenderInputs(first.state.inputs) || !wanted(first.state.inputs)) return undefined;
  const s = scanEnvironment(join(out, environment), environment);
  if (!s.index) return undefined;
  // The index the record named: the record holds. Else (a render since, or another index) read again.
  const state = s.indexSha === first.state.index ? first : readState(out, environment, s.indexSha);
  const inputs = state?.state.inputs;
  if (!state || !isRenderInputs(inputs) || !wanted(inputs)) return undefined;
  const sizes: { path: string; size: number }[] = [];
  for (const [path, d] of s.disk) {
    if (path === INDEX_FILE) continue;
    if (!d.file || d.sha === undefined || !(d.mtimeMs < state.mtimeMs) || !(d.ctimeMs <= state.sealedMs)) return undefined;
    sizes.push({ path, size: d.size });
  }
  // Every listed file is on disk (the index lists each path once; the disk holds the index besides).
  if (s.listed !== s.disk.size - 1) return undefined;
  // Each of the size its render gave it: an edit whose mtime was set back is read, as render reads it.
  if (sizesDigest(sizes.sort((a, b) => byString(a.path, b.path))) !== state.state.sizes) return undefined;
  return { inputs, files: s.disk.size };
}

/** readState's `indexSha` for a record naming any index (the caller compares). */
const ANY_INDEX = Symbol('any index');

/** The record of `environment` when it names the index on disk (hash `indexSha`), with its mtime. */
function readState(
  out: string,
  environment: string,
  indexSha: string | typeof ANY_INDEX | undefined,
): { readonly state: StateFile; readonly mtimeMs: number; readonly sealedMs: number } | undefined {
  if (indexSha === undefined) return undefined;
  const dir = join(out, STATE_DIR);
  const file = join(dir, `${environment}.json`);
  // The directory first: a file in its place makes the record's path ENOTDIR (no record, as writeState leaves it alone).
  if (!lstat(dir)?.isDirectory()) return undefined;
  const st = lstat(file);
  if (!st?.isFile()) return undefined;
  try {
    const u = JSON.parse(readFileSync(file, 'utf8')) as Partial<StateFile> | null;
    if (
      !u ||
      u.version !== STATE_VERSION ||
      typeof u.index !== 'string' ||
      (indexSha !== ANY_INDEX && u.index !== indexSha) ||
      typeof u.sizes !== 'string' ||
      typeof u.dated !== 'number' ||
      // Later than its render dated it: a copy, see StateFile. A millisecond for rounding (a
      // tool that copies times through a Date keeps milliseconds, rounded); a coarse file
      // system rounds down.
      !(st.mtimeMs <= u.dated + 1) ||
      typeof u.units !== 'object' ||
      u.units === null ||
      typeof u.sealed !== 'object' ||
      u.sealed === null ||
      typeof u.sealed.ino !== 'number' ||
      typeof u.sealed.ctimeMs !== 'number' ||
      typeof u.sealed.at !== 'number'
    )
      return undefined;
    // Beside the very index it was written beside, untouched since (see Sealed).
    const index = lstat(join(out, environment, INDEX_FILE));
    if (!index?.isFile() || index.ino !== u.sealed.ino || index.ctimeMs !== u.sealed.ctimeMs) return undefined;
    return { state: u as StateFile, mtimeMs: st.mtimeMs, sealedMs: u.sealed.at };
  } catch {
    return undefined;
  }
}

const noteText = (n: LayoutNote): string => (n.object ? '+' : '-') + n.id;
const noteOf = (t: string): LayoutNote => ({ id: t.slice(1), object: t.startsWith('+') });

/**
 * A carried unit's files as the host reads them (see EnvironmentWriter.carry), one at a time,
 * from its record's text: each with its layout identities, the fields after a line's second
 * tab. Made all at once, a unit's were ~1 MB alive across young-generation collections.
 */
function* carriedFiles(text: string): Generator<CarriedFile> {
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const pathEnd = text.indexOf('\t', start);
    const path = text.slice(start, pathEnd);
    const layout: LayoutNote[] = [];
    // The tab after the size, then one before each identity.
    let at = text.indexOf('\t', pathEnd + 1);
    while (at !== -1 && at < end) {
      const next = text.indexOf('\t', at + 1);
      const to = next === -1 || next > end ? end : next;
      layout.push(noteOf(text.slice(at + 1, to)));
      at = to === end ? -1 : next;
    }
    yield { path, layout };
    start = end + 1;
  }
}
/**
 * A unit being recorded, or not (`recording` false) when a value would not fit the line format.
 * Its lines go to the writer's spill file as they come (`at`: offset and length in bytes, once
 * the unit is complete), through a buffer outside the heap: kept as strings until the unit was
 * complete, they outlived two young-generation collections each and were copied into the old
 * one (~300 bytes a file, a fifth of what a render of 100k objects promoted).
 */
interface UnitLines {
  readonly key: string;
  recording: boolean;
  /** Where the unit's text starts in the spill file. */
  readonly start: number;
  /** Set when the unit is complete and was recorded to the end (see closeUnit). */
  at?: readonly [number, number];
}
/** The size of the buffer the open unit's lines are gathered in before they are spilled. */
const UNIT_BUFFER = 256 * 1024;
const SEPARATORS = /[\t\n]/;
/** A render's units: plugin → service → unit (carried as recorded, or being recorded). */
type Units = Map<string, Map<string, UnitRecord | UnitLines>>;

/** The units of one plugin, by service (made on first use). */
function unitsOf(units: Units, plugin: string): Map<string, UnitRecord | UnitLines> {
  let byService = units.get(plugin);
  if (!byService) units.set(plugin, (byService = new Map()));
  return byService;
}

/**
 * One environment streamed into the staging directory. Updated in place when its directory
 * is ours (it has our index): only added and changed files are staged, the rest stays where
 * it is. Replaced whole otherwise (a new environment, or one taken over with --adopt).
 */
export class EnvironmentWriter {
  private readonly entries: IndexEntry[] = [];
  private readonly counter: ChangeCounter;
  private readonly made = new Set<string>();
  /** The files staged (update mode), in the order written: what the swap moves. */
  private readonly staged: string[] = [];
  /** The units this render produced or carried (when units are on): plugin → service → unit. */
  private readonly units: Units | undefined;
  private indexSha: string | undefined;
  /** sizesDigest of every file written or kept (see finish). */
  private sizes: string | undefined;
  /** What this render read, when it could all be fingerprinted (see RenderInputs). */
  inputs: RenderInputs | undefined;

  constructor(
    readonly environment: string,
    private readonly root: string,
    readonly mode: 'update' | 'replace',
    private readonly previous: PreviousTree,
    private readonly source: string | undefined,
    /** The units of the last render, valid for the tree on disk (undefined: none), or `null`: this render keeps no units. */
    private readonly lastUnits: StateFile['units'] | undefined | null,
    /** Writes one staged file (its directory exists): at once, or queued on the render's second thread. */
    private readonly stage: (file: string, content: string) => void = writeFileSync,
  ) {
    this.counter = new ChangeCounter(environment, previous);
    this.units = lastUnits === null ? undefined : new Map();
    mkdirSync(root);
  }

  /**
   * The spill file of complete units' lines (see UnitLines), beside the environment's staging
   * directory (a dot name, never an environment's), removed with the staging directory.
   */
  private spill: { readonly fd: number; size: number } | undefined;
  /** The unit whose files are being put (a unit's files come together: one renderService call). */
  private open: UnitLines | undefined;
  /** The open unit's lines not yet spilled: `lineBuffer[0..lineBytes)` (made on first use). */
  private lineBuffer: Buffer | undefined;
  private lineBytes = 0;

  /** The spill file's size with the buffered lines: where the next unit starts. */
  private get spillEnd(): number {
    return (this.spill?.size ?? 0) + this.lineBytes;
  }

  /** Appends one line of the open unit (a `\n` before every line but its first). */
  private addLine(rec: UnitLines, line: string): void {
    const text = this.spillEnd === rec.start ? line : `\n${line}`;
    const bytes = Buffer.byteLength(text);
    const buf = (this.lineBuffer ??= Buffer.allocUnsafe(UNIT_BUFFER));
    if (this.lineBytes + bytes > buf.length) this.spillLines();
    if (bytes > buf.length) this.spillBytes(Buffer.from(text, 'utf8'));
    else this.lineBytes += buf.write(text, this.lineBytes, 'utf8');
  }

  /** Writes the buffered lines to the spill file. */
  private spillLines(): void {
    if (this.lineBytes === 0) return;
    const n = this.lineBytes;
    this.lineBytes = 0;
    this.spillBytes(this.lineBuffer!.subarray(0, n));
  }

  private spillBytes(bytes: Uint8Array): void {
    this.spill ??= { fd: openSync(join(dirname(this.root), `.${this.environment}.units`), 'w+', 0o600), size: 0 };
    writeAll(this.spill.fd, bytes, this.spill.size);
    this.spill.size += bytes.length;
  }

  /** Completes the open unit: its text is what the spill file holds from its start. */
  private closeUnit(): void {
    const rec = this.open;
    this.open = undefined;
    if (!rec) return;
    if (!rec.recording) {
      // Its lines are not kept: what is buffered (only its own: the unit before it was spilled
      // when it closed) goes, what was spilled stays unused.
      this.lineBytes = 0;
      return;
    }
    this.spillLines();
    rec.at = [rec.start, this.spillEnd - rec.start];
  }

  /** A spilled unit's text. */
  private spilled(at: readonly [number, number]): string {
    const buf = Buffer.alloc(at[1]);
    for (let off = 0; off < at[1];) {
      const n = readSync(this.spill!.fd, buf, off, at[1] - off, at[0] + off);
      if (n === 0) throw new Error('the units spill file is shorter than written');
      off += n;
    }
    return buf.toString('utf8');
  }

  /** Closes the spill file (the staging directory it is in goes with the render). */
  dispose(): void {
    if (this.spill) closeSync(this.spill.fd);
    this.spill = undefined;
  }

  put(path: string, content: string, plugin: string, unit?: UnitTag & { readonly layout: readonly LayoutNote[] }): void {
    const sha = sha256(content);
    const size = Buffer.byteLength(content);
    this.entries.push({ path, sha256: sha, plugin, size });
    if (this.counter.note(path, content, sha, size) || this.mode === 'replace') this.write(path, content);
    if (unit && this.units) {
      const byService = unitsOf(this.units, plugin);
      let rec = byService.get(unit.service) as UnitLines | undefined;
      if (!rec) {
        this.closeUnit();
        byService.set(unit.service, (rec = { key: unit.key, recording: true, start: this.spillEnd }));
        this.forgetLast(plugin, unit.service);
        this.open = rec;
      } else if (rec !== this.open) {
        // Files of a unit already closed (not one renderService call): not recorded, rendered next time.
        rec.recording = false;
        rec.at = undefined;
      }
      if (rec.recording) {
        let line = `${path}\t${size}`;
        for (const n of unit.layout) {
          const t = noteText(n);
          // Paths cannot hold a tab or a newline (pathProblem); an object name might: such a unit is not recorded.
          if (SEPARATORS.test(t)) {
            rec.recording = false;
            break;
          }
          line += `\t${t}`;
        }
        if (rec.recording) this.addLine(rec, line);
      }
    }
  }

  /**
   * Carries a unit of the last render when it had this key and every file of it is intact on
   * disk (see PreviousTree.intact): its files stay where they are, unread and unwritten.
   */
  carry(plugin: string, service: string, key: string): CarriedUnit | undefined {
    if (this.mode !== 'update' || !this.units) return undefined;
    const last = this.lastUnits?.[plugin]?.[service];
    if (!last || last.key !== key || typeof last.files !== 'string') {
      this.forgetLast(plugin, service);
      return undefined;
    }
    // Every file is checked before any is kept (all of the unit or none). A line is read by its
    // tabs, not split: a re-render carries every file of every unchanged unit through here.
    const text = last.files;
    // A line left empty at the end is not one the writer makes (see addLine).
    if (text.endsWith('\n')) return undefined;
    const paths: string[] = [];
    const shas: string[] = [];
    const sizes: number[] = [];
    for (let start = 0; start < text.length;) {
      // path, size, layout identities…
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      const pathEnd = text.indexOf('\t', start);
      if (pathEnd === -1 || pathEnd > end) return undefined;
      let sizeEnd = text.indexOf('\t', pathEnd + 1);
      if (sizeEnd === -1 || sizeEnd > end) sizeEnd = end;
      const path = text.slice(start, pathEnd);
      const size = Number(text.slice(pathEnd + 1, sizeEnd));
      const sha = this.previous.intact(path, size);
      if (sha === undefined) return undefined;
      paths.push(path);
      shas.push(sha);
      sizes.push(size);
      start = end + 1;
    }
    for (let i = 0; i < paths.length; i++) {
      this.entries.push({ path: paths[i]!, sha256: shas[i]!, plugin, size: sizes[i]! });
      this.counter.kept(paths[i]!);
    }
    unitsOf(this.units, plugin).set(service, last);
    return { count: paths.length, files: () => carriedFiles(text) };
  }

  /**
   * The last render's record of a unit this render renders anew is not needed again: dropped,
   * so that a render whose keys all changed does not hold both records (~13 MB at 100k files).
   */
  private forgetLast(plugin: string, service: string): void {
    const byService = this.lastUnits?.[plugin];
    if (byService && Object.hasOwn(byService, service)) delete (byService as Record<string, UnitRecord>)[service];
  }

  /**
   * The state record to keep beside the index this render wrote (see STATE_DIR), in pieces
   * that join to its JSON: one unit's files at a time, so that a record of ~13 MB at 100k
   * files is never one string (nor its lines and its JSON at once). Undefined: no record.
   */
  stateRecord(dated: number, at: () => number): Iterable<string> | undefined {
    this.closeUnit();
    if (this.indexSha === undefined || this.sizes === undefined) return undefined;
    // The index as the swap left it (see Sealed): read now, after the swap.
    const index = lstat(join(this.previous.dir, INDEX_FILE));
    if (!index?.isFile()) return undefined;
    return this.statePieces(this.indexSha, this.sizes, dated, { ino: index.ino, ctimeMs: index.ctimeMs }, at);
  }

  /** `at`: the seal's time (see Sealed), taken as the record is written (the generator runs then). */
  private *statePieces(indexSha: string, sizes: string, dated: number, index: Omit<Sealed, 'at'>, at: () => number): Generator<string> {
    const q = JSON.stringify;
    const sealed: Sealed = { ...index, at: at() };
    yield `{"version":${STATE_VERSION},"index":${q(indexSha)},"dated":${q(dated)},"sizes":${q(sizes)},"sealed":${q(sealed)},"units":{`;
    let firstPlugin = true;
    for (const [plugin, byService] of this.units ?? []) {
      let first = true;
      for (const [service, u] of byService) {
        // A unit's text is there once it is complete, and only if it was recorded to the end.
        const files = !('recording' in u) ? u.files : u.at ? this.spilled(u.at) : undefined;
        if (files === undefined) continue;
        const open = first ? `${firstPlugin ? '' : ','}${q(plugin)}:{` : ',';
        yield `${open}${q(service)}:${q({ key: u.key, files } satisfies UnitRecord)}`;
        first = false;
        firstPlugin = false;
      }
      if (!first) yield '}';
    }
    yield `}${this.inputs ? `,"inputs":${q(this.inputs)}` : ''}}\n`;
  }

  /** The directory of the file staged last: the next is most often in it too (a plugin's files come grouped). */
  private lastDirectory = '';

  private write(path: string, content: string): void {
    // Plain concatenation: the root is normal and the path a checked relative one (see pathProblem).
    const file = `${this.root}/${path}`;
    const slash = file.lastIndexOf('/');
    // In the last file's directory: made already, known without its name sliced and looked up again.
    if (slash !== this.lastDirectory.length || !file.startsWith(this.lastDirectory)) {
      const d = file.slice(0, slash);
      if (!this.made.has(d)) {
        mkdirSync(d, { recursive: true });
        this.made.add(d);
      }
      this.lastDirectory = d;
    }
    this.stage(file, content);
    if (this.mode === 'update') this.staged.push(path);
  }

  /** What the swap of this environment needs to know (see KnownSwap), once finished. */
  swap(removed: readonly string[]): KnownSwap {
    const added = new Set(this.counter.added);
    return { staged: this.staged, wasFile: (path) => this.previous.wasFile(path, added), removed, vanished: this.previous.vanished };
  }

  /** Writes the index (entries in path order); returns the change against the previous tree. */
  finish(): EnvironmentChange {
    // The index is counted like any file, and always written: a new file each render, so a walk
    // begun before the render is not used after it (see Prescan's stamp).
    if (!this.made.has(this.root)) {
      mkdirSync(this.root, { recursive: true });
      this.made.add(this.root);
    }
    const { sha, size } = writeIndex(join(this.root, INDEX_FILE), this.environment, this.source, this.entries);
    this.indexSha = sha;
    // The entries are in path order now (writeIndex sorted them).
    this.sizes = sizesDigest(this.entries);
    this.counter.noteHashed(INDEX_FILE, sha, size);
    return this.counter.finish();
  }
}

/**
 * The times a render dates what it writes by, so that a file edited by hand while it runs is
 * never vouched for (see PreviousTree): the state record is dated just before the render took
 * the lock (`since`), not when it is written, and every file the render writes before that
 * again. A file modified after the lock was taken — which the render's walk may have seen as
 * it was before — is newer than the record, and the next render or check reads it. Dated by the
 * output's own clock (the lock file's mtime), as a hand edit there is. The record half a
 * millisecond before `since`: rounded through seconds and microseconds, it is still before any
 * edit stamped in the lock's clock tick. The files 2 s before the record's: still strictly older
 * than it where the file system keeps coarse times (FAT's 2 s, 1 s on some others), so that what
 * a render wrote is vouched for there too.
 */
const recordMtimeMs = (since: number): number => since - 0.5;
const writtenMtime = (since: number): number => (since - 2_001) / 1000;

/** The output directory, locked by this render (see TreeWriter.lock). */
export interface HeldOutput {
  readonly out: string;
  /**
   * When the lock was taken, by the output's file system's clock (the lock file's mtime): the
   * render begins after it, so a file modified later may hold what the render did not see.
   */
  readonly since: number;
  /** Releases the lock (the write is done). */
  readonly release: () => void;
  /** Releases the lock and removes the output directory again if this render made it: a render that fails leaves none (only the lock and staging were in it). */
  readonly abandon: () => void;
}

/** Removes `out` and its parents up to `created` (the first directory mkdir made for it), while empty. */
function removeCreated(out: string, created: string | undefined): void {
  if (created === undefined) return;
  for (let d = out; ; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === created) return;
  }
}

/**
 * A render's write, all or nothing, holding the output's lock from before the first file is
 * staged until the swap is done (what is unchanged is judged against the tree the swap
 * replaces). Throws TopoforgeError (coded) when the output is not ours to replace.
 */
export class TreeWriter {
  private readonly staging: string;
  private readonly t = tag();
  private readonly writers: EnvironmentWriter[] = [];
  private readonly prune: string[];
  /** Each produced environment's directory as the ownership check walked it. */
  private readonly scanned = new Map<string, Scanned>();
  private done = false;
  /** Files staged so far, and the second thread writing them once there are many (see stage). */
  private staged = 0;
  private behind: WriteBehind | undefined;

  private readonly out: string;
  private readonly held: HeldOutput;
  /** What every file this render writes is dated by (see writtenMtime), in seconds. */
  private readonly mtime: number;

  private constructor(
    held: HeldOutput,
    produced: readonly string[],
    private readonly options: WriteOptions,
    prescans?: ReadonlyMap<string, Prescan>,
  ) {
    const out = held.out;
    this.out = out;
    this.held = held;
    this.mtime = writtenMtime(held.since);
    try {
      // One walk per environment serves the ownership check and the writer (see environment()).
      for (const env of produced) {
        const found = prescans?.get(env)?.take();
        options.walked?.(env, found ? 'find' : 'process', found?.index !== undefined);
        const scanned = scanEnvironment(join(out, env), env, found);
        this.scanned.set(env, scanned);
        checkOwned(out, env, options, false, scanned);
      }
      this.prune = options.prune ? renderedEnvironments(out, produced) : [];
      for (const env of this.prune) checkOwned(out, env, options, true);
      this.staging = `${STAGING_PREFIX}${this.t}`;
      mkdirSync(join(out, this.staging));
    } catch (err) {
      held.abandon();
      throw err;
    }
  }

  /**
   * Locks `out` (creating it) and completes or removes what a killed render left (see recover):
   * from here until the write is committed or aborted, the tree changes only by this render.
   * A render takes it before it loads, so that the output's walk (see Prescan) runs under it.
   */
  static lock(out: string, options: WriteOptions = {}): HeldOutput {
    const st = lstat(out);
    if (st && !st.isDirectory() && !(st.isSymbolicLink() && existsSync(out))) {
      fail({ code: 'RENDER_OUTPUT_INVALID', message: `${out} is not a directory`, hint: 'give --out a directory (it is created when missing)' });
    }
    const created = mkdirSync(out, { recursive: true });
    let releaseLock: () => void = () => {};
    try {
      releaseLock = acquireLock(join(out, LOCK_FILE), {
        purpose: 'topoforge render',
        ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
        ...(options.onWait ? { onWait: options.onWait } : {}),
      });
    } catch (err) {
      removeCreated(out, created);
      if (err instanceof LockTimeoutError)
        fail({
          code: 'RENDER_LOCKED',
          message: `another render is writing ${out}: ${err.message}`,
          hint: `wait for it to finish; if no topoforge is running, delete ${join(out, LOCK_FILE)}`,
        });
      throw err;
    }
    // Once: whichever of the render's paths lets go first.
    let held = true;
    const release = (): void => {
      if (held) releaseLock();
      held = false;
    };
    const abandon = (): void => {
      if (!held) return;
      release();
      removeCreated(out, created);
    };
    let since: number;
    try {
      since = lstat(join(out, LOCK_FILE))?.mtimeMs ?? Date.now();
      recover(out);
    } catch (err) {
      abandon();
      throw err;
    }
    return { out, since, release, abandon };
  }

  /**
   * Checks that every environment to produce or prune is ours, holding `held` (see lock).
   * `prescans`: walks of the environments begun under that lock.
   */
  static open(held: HeldOutput, produced: readonly string[], options: WriteOptions = {}, prescans?: ReadonlyMap<string, Prescan>): TreeWriter {
    return new TreeWriter(held, produced, options, prescans);
  }

  /**
   * Starts one environment: in place when its directory is ours, whole otherwise. With
   * `units`, the writer carries the last render's units that are intact and records this
   * render's beside the new index.
   */
  environment(environment: string, opts: { readonly units?: boolean } = {}): EnvironmentWriter {
    const place = join(this.out, environment);
    const { disk, index, indexSha, vanished } = this.scanned.get(environment) ?? scanEnvironment(place, environment);
    this.scanned.delete(environment);
    const ours = index !== undefined && sameSource(index.source, this.options);
    const state = ours ? readState(this.out, environment, indexSha) : undefined;
    const previous = new PreviousTree(place, disk, state?.mtimeMs ?? -Infinity, state?.sealedMs ?? -Infinity, index !== undefined, indexSha, vanished);
    const lastUnits = !opts.units ? null : state?.state.units;
    const w = new EnvironmentWriter(
      environment,
      join(this.out, this.staging, environment),
      ours ? 'update' : 'replace',
      previous,
      this.options.source,
      lastUnits,
      this.stage,
    );
    this.writers.push(w);
    return w;
  }

  /** Writes a staged file: the first `writeBehindAfter` here, the rest through the second thread. */
  private readonly stage = (file: string, content: string): void => {
    if (this.behind) return this.behind.write(file, content);
    if (++this.staged > (this.options.writeBehindAfter ?? 4096)) {
      this.behind = new WriteBehind({ mtime: this.mtime, ...(this.options.threadStarted ? { started: this.options.threadStarted } : {}) });
      return this.behind.write(file, content);
    }
    writeStamped(file, content, this.mtime);
  };

  /**
   * Keeps each environment's state record beside its new index, after the swap: the record's
   * mtime vouches for the files in place now. Without `keepState`, the records of the
   * environments written are removed instead.
   */
  private writeState(): void {
    const dir = join(this.out, STATE_DIR);
    const keep = this.options.keepState ?? true;
    const dated = recordMtimeMs(this.held.since);
    // Once, when the first record is written (the directory is there then): after the swap.
    let sealedAt: number | undefined;
    const at = (): number => (sealedAt ??= sealTime(dir));
    const texts = this.writers.map((w) => [w.environment, keep ? w.stateRecord(dated, at) : undefined] as const);
    const gone = (env: string): void => {
      if (lstat(join(dir, `${env}.json`))?.isFile()) unlinkSync(join(dir, `${env}.json`));
    };
    const st = lstat(dir);
    // Not a directory of ours (a link, a file): no records, and nothing of it touched.
    if (st && (!st.isDirectory() || st.isSymbolicLink())) return;
    if (!st && texts.every(([, t]) => t === undefined)) return;
    if (!st) {
      mkdirSync(dir);
      // Local knowledge, not output: git ignores the directory, whatever repository it is in.
      writeFileSync(join(dir, '.gitignore'), '*\n');
    }
    for (const [env, text] of texts) {
      if (text === undefined) gone(env);
      else writeFileAtomic(join(dir, `${env}.json`), text, { mtimeMs: dated });
    }
    for (const env of this.prune) gone(env);
  }

  /** Records what the render of `environment` read (see RenderInputs), kept in its state record. */
  recordInputs(environment: string, inputs: RenderInputs): void {
    const w = this.writers.find((x) => x.environment === environment);
    if (w) w.inputs = inputs;
  }

  /** Finishes every environment and swaps them in; returns what changed. */
  commit(): EnvironmentChange[] {
    const changes: EnvironmentChange[] = [];
    const known = new Map<string, KnownSwap>();
    try {
      // The indexes are written while the second thread still writes what is queued (~0.1 s of
      // each at 112k files); every staged file is on disk (or its write failed) before anything is swapped.
      for (const w of this.writers) {
        const c = w.finish();
        changes.push(c);
        if (w.mode === 'update') known.set(w.environment, { ...w.swap(c.removed), behind: this.behind });
      }
      for (const env of this.prune) changes.push({ environment: env, added: [], changed: [], removed: listTree(join(this.out, env)), files: 0 });
      this.behind?.drain();
      this.options.beforeSwap?.();
    } catch (err) {
      this.abort();
      throw err;
    }
    const trash = `${TRASH_PREFIX}-${this.t}`;
    const journal = `${JOURNAL_PREFIX}${this.t}.json`;
    const j: Journal = {
      pid: process.pid,
      staging: this.staging,
      trash,
      install: this.writers.filter((w) => w.mode === 'replace').map((w) => w.environment),
      update: this.writers.filter((w) => w.mode === 'update').map((w) => w.environment),
      prune: this.prune,
    };
    try {
      // The commit point: from here on the swap is completed, by this run or the next.
      writeFileAtomic(join(this.out, journal), JSON.stringify(j) + '\n');
      const trashed = applyJournal(this.out, j, this.options.duringSwap, known);
      unlinkSync(join(this.out, journal));
      try {
        this.writeState();
      } catch {
        // Records only spare work: without one the next render reads every file and renders
        // every unit. One left behind names the index it was written beside, and is older
        // than any file written since, so it never vouches for what it has not seen.
      }
      // The directories swapped out whole: without a second thread, emptied here; with one, it has
      // been emptying them since the swap, and the drain shares what is left. The rest goes with the trash.
      for (const d of trashed) removeDirectory(d);
      this.behind?.drain();
      rmSync(join(this.out, trash), { recursive: true, force: true });
      rmSync(join(this.out, this.staging), { recursive: true, force: true });
    } finally {
      // Before the lock goes: after a failed swap, renames still queued are the journal's to complete.
      this.behind?.stop(false);
      for (const w of this.writers) w.dispose();
      this.done = true;
      this.held.release();
    }
    return changes;
  }

  /** Drops everything staged and releases the lock; the tree stays as it was. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    for (const w of this.writers) w.dispose();
    try {
      // Nothing more is written into the staging directory removed here.
      this.behind?.stop(false);
      rmSync(join(this.out, this.staging), { recursive: true, force: true });
    } finally {
      this.held.abandon();
    }
  }
}

/**
 * Writes every result's environment directory into `out`, all or nothing, holding the
 * output's lock. Throws TopoforgeError (coded) when the output is not ours to replace.
 */
export function writeTree(out: string, results: readonly RenderResult[], options: WriteOptions = {}): EnvironmentChange[] {
  const w = TreeWriter.open(TreeWriter.lock(out, options), [...new Set(results.map((r) => r.environment))], options);
  try {
    for (const r of results) {
      const e = w.environment(r.environment);
      for (const [path, f] of r.files) e.put(path, f.content, f.plugin);
    }
  } catch (err) {
    w.abort();
    throw err;
  }
  return w.commit();
}
