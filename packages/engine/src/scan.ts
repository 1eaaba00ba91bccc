/**
 * The walk of an environment directory: every entry, lstat'ed once (see the tree's ownership
 * and PreviousTree). At 100k files it is a fifth of a full render and a third of a re-render
 * (docs/benchmarks.md), so a render starts it early, in another process, while it loads its
 * model and plugins: GNU find walks in C on the machine's other core, and its output is read
 * once the render holds the output's lock — if the tree is still the one find walked (see
 * Prescan). Where find is not GNU find (no `-printf`) or fails, the render walks as before,
 * in process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, lstatSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { INDEX_FILE } from '@topoforge/plugin-host/core';
import { readCanonicalIndex, type CanonicalIndex } from './index-read.js';

/** Directory names that hold local installs, never rendered output. */
export const KEPT_DIRECTORIES: ReadonlySet<string> = new Set(['node_modules']);

/** What is on disk at a path of an environment directory (links and special files are not files), with the hash the index lists for it. */
export interface OnDisk {
  readonly file: boolean;
  readonly size: number;
  readonly mtimeMs: number;
  /**
   * When its inode last changed (ms): a content or mode change, a rename, a copy made. Unlike
   * the mtime no tool can set it back (`cp -p`, `rsync -a`, `tar x` restore an older file's
   * mtime, not its ctime): what tells a restored older copy from the file a render left.
   */
  readonly ctimeMs: number;
  /** The hash and the plugin the index lists for it (absent: not listed). */
  sha?: string;
  plugin?: string;
}

/** An environment's index as read while find walked (see Prescan.readIndex): its entries in its order. */
export interface ReadIndex {
  readonly canonical: CanonicalIndex;
  readonly paths: readonly string[];
  readonly shas: readonly string[];
  readonly plugins: readonly string[];
}

/** What a walk by find found (see Prescan.take), with the index when it was read meanwhile. */
export interface Walked {
  readonly disk: Map<string, OnDisk>;
  readonly index?: ReadIndex;
}

/**
 * The largest index read while find walks (~205 bytes a file: 300k files). Its paths are held
 * until the walk is in, ~90 bytes a file besides what the walk holds; a larger one is read
 * after the walk, a line at a time, as before.
 */
const READ_INDEX_BYTES = 64 * 1024 * 1024;

/** lstat, or undefined for a path that does not exist. */
export function lstat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Every entry of an environment directory (local installs skipped), lstat'ed once, in process. */
export function walkTree(dir: string): Map<string, OnDisk> {
  const out = new Map<string, OnDisk>();
  const walk = (d: string, prefix: string): void => {
    for (const n of readdirSync(d).sort()) {
      // Plain concatenation: `d` is already normal, and join() costs a tenth of the walk at 100k files.
      const p = `${d}/${n}`;
      const rel = prefix ? `${prefix}/${n}` : n;
      let st: Stats;
      try {
        st = lstatSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Listed and not found: deleted since, or a name that is not UTF-8, which readdir gives
        // decoded (with U+FFFD) and no such name exists. That one is kept as an entry that is not
        // a file, so that it is foreign as find lists it (topoforge never writes such a name).
        if (n.includes('\uFFFD')) out.set(rel, { file: false, size: 0, mtimeMs: 0, ctimeMs: 0, sha: undefined, plugin: undefined });
        continue;
      }
      if (st.isDirectory()) {
        if (!KEPT_DIRECTORIES.has(n)) walk(p, rel);
      }
      // sha and plugin present from the start: noting them later then needs no property store of
      // its own per entry (2.8 MB less live heap at 112k files).
      else out.set(rel, { file: st.isFile(), size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, sha: undefined, plugin: undefined });
    }
  };
  if (lstat(dir)?.isDirectory()) walk(dir, '');
  return out;
}

/**
 * find's arguments for the same walk: every entry but directories, none below a kept
 * directory; per entry its type (`f` a regular file), size, mtime and ctime (seconds and nanoseconds)
 * and path relative to `dir`, NUL-terminated (a path may hold any other byte).
 */
function findArguments(dir: string): string[] {
  const kept = [...KEPT_DIRECTORIES].flatMap((n, i) => (i === 0 ? ['-name', n] : ['-o', '-name', n]));
  // `dir` absolute: find would take a path starting with `-` for an expression.
  return [
    resolve(dir),
    '-mindepth',
    '1',
    '(',
    '-type',
    'd',
    '(',
    ...kept,
    ')',
    '-prune',
    ')',
    '-o',
    '(',
    '!',
    '-type',
    'd',
    '-printf',
    '%y %s %T@ %C@ %P\\0',
    ')',
  ];
}

/**
 * find's output as walkTree's map; undefined when a record is not as expected. The mtime is
 * computed as Node computes `mtimeMs` (seconds × 1e3 + nanoseconds / 1e6), so both walks give
 * the same number for the same file.
 */
export function parseFindOutput(b: Buffer): Map<string, OnDisk> | undefined {
  const out = new Map<string, OnDisk>();
  return parseRecords(b, b.length, out) === b.length ? out : undefined;
}

/**
 * Adds the whole records of `b[0, length)` to `out`; returns where the first incomplete one
 * starts, or -1 for one not as expected. The numbers are read digit by digit, not as strings:
 * at 112k files the parse is on the render's thread, and strings per field doubled it.
 */
function parseRecords(b: Buffer, length: number, out: Map<string, OnDisk>): number {
  let i = 0;
  while (i < length) {
    // `%y %s %T@ %C@ %P\0`: a type letter, the size, the mtime and the ctime (seconds.fraction), the path.
    let j = i + 2;
    if (j > length) return i;
    if (b[i + 1] !== 32) return -1;
    let size = 0;
    let digits = 0;
    for (; j < length && b[j]! >= 48 && b[j]! <= 57; j++, digits++) size = size * 10 + b[j]! - 48;
    if (j >= length) return i;
    if (b[j] !== 32 || digits === 0 || digits > 15) return -1;
    let mtimeMs = 0;
    let ctimeMs = 0;
    for (let t = 0; t < 2; t++) {
      let seconds = 0;
      // A time before 1970 (`-…`) is not a digit: such output is left to the walk in process.
      for (j++, digits = 0; j < length && b[j]! >= 48 && b[j]! <= 57; j++, digits++) seconds = seconds * 10 + b[j]! - 48;
      if (j >= length) return i;
      if (b[j] !== 46 || digits === 0 || digits > 15) return -1;
      let nanoseconds = 0;
      // The fraction to nine digits (find prints ten): nanoseconds, as Node reads them.
      for (j++, digits = 0; j < length && b[j]! >= 48 && b[j]! <= 57; j++, digits++) if (digits < 9) nanoseconds = nanoseconds * 10 + b[j]! - 48;
      if (j >= length) return i;
      if (b[j] !== 32) return -1;
      for (; digits < 9; digits++) nanoseconds *= 10;
      if (t === 0) mtimeMs = seconds * 1e3 + nanoseconds / 1e6;
      else ctimeMs = seconds * 1e3 + nanoseconds / 1e6;
    }
    const end = b.indexOf(0, j + 1);
    if (end < 0 || end >= length) return i;
    out.set(b.toString('utf8', j + 1, end), { file: b[i] === 102, size, mtimeMs, ctimeMs, sha: undefined, plugin: undefined });
    i = end + 1;
  }
  return i;
}

/** The chunk find's output is read in: the whole of it is ~90 bytes a file, 10 MB at 112k files, not held at once. */
const CHUNK = 1 << 20;

/** find's output, from an open file, as walkTree's map, read a chunk at a time from its start; undefined when a record is not as expected. */
export function readFindOutput(fd: number, chunk = CHUNK): Map<string, OnDisk> | undefined {
  const out = new Map<string, OnDisk>();
  let buf = Buffer.allocUnsafe(chunk);
  let held = 0;
  // By position: find wrote through a copy of this descriptor, whose offset is at the end.
  let at = 0;
  for (;;) {
    // A path longer than what is left of the chunk: a larger one (paths are at most 4 KB).
    if (held === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(chunk)]);
    const n = readSync(fd, buf, held, buf.length - held, at);
    if (n === 0) return held === 0 ? out : undefined;
    at += n;
    held += n;
    const used = parseRecords(buf, held, out);
    if (used < 0) return undefined;
    buf.copy(buf, 0, used, held);
    held -= used;
  }
}

/**
 * The environment directory as far as the render can tell whether it was replaced since it
 * was walked: the directory itself (a real one, not a link) and its index (a render always
 * writes a new one).
 */
function stampOf(dir: string): string | undefined {
  const d = lstat(dir);
  const index = d?.isDirectory() ? lstat(`${dir}/${INDEX_FILE}`) : undefined;
  return d && index?.isFile() ? `${d.dev}:${d.ino} ${index.dev}:${index.ino}:${index.size}:${index.mtimeMs}:${index.ctimeMs}` : undefined;
}

/**
 * A walk by find of an environment directory, begun once the render holds the output's lock
 * and has completed what a killed render left (TreeWriter.lock), while it fingerprints and
 * loads its model and plugins. Under the lock only this render changes the tree. What find saw
 * is used only if the directory and its index are still the very ones it walked (else the
 * render walks again, in process). As with the walk in process, a file edited by hand while a
 * render runs may be seen as it was before the edit.
 */
export class Prescan {
  private result: Map<string, OnDisk> | undefined;
  private index: ReadIndex | undefined;
  private readonly finished: Promise<void>;
  private readonly child: ChildProcess;
  private cancelled = false;

  private constructor(
    readonly dir: string,
    private readonly stamp: string,
    fd: number,
  ) {
    // Into a file, not a pipe: the render's thread is busy loading meanwhile and would not read a
    // pipe, and find would stop at its first 64 KB. The file has no name any more (see start).
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    };
    // (A spawn that throws leaves the descriptor to start, which closes it.)
    const child = spawn('find', findArguments(dir), { stdio: ['ignore', fd, 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    this.child = child;
    this.finished = new Promise<void>((done) => {
      child.on('error', () => {
        // No find to run: 'close' may not follow.
        close();
        done();
      });
      child.on('close', (code) => {
        try {
          if (code === 0 && !this.cancelled && !closed) this.result = readFindOutput(fd);
        } catch {
          // Output that cannot be read: the walk in process instead.
        } finally {
          close();
          done();
        }
      });
    });
  }

  /** Starts the walk of `dir` when it is a real directory holding an index (one a render may update in place); undefined otherwise. */
  static start(dir: string): Prescan | undefined {
    // TOPOFORGE_WALK=node: the walk in process only (to compare the two, as the bench does).
    if (process.env.TOPOFORGE_WALK === 'node') return undefined;
    let tmp: string | undefined;
    let fd: number | undefined;
    try {
      const stamp = stampOf(dir);
      if (stamp === undefined) return undefined;
      tmp = mkdtempSync(join(tmpdir(), 'topoforge-walk-'));
      fd = openSync(join(tmp, 'walk'), 'wx+', 0o600);
      // Unnamed from the start, held open by this process and find only: a render killed (even by
      // SIGKILL) leaves nothing in TMPDIR, as the kernel frees the file with the last descriptor.
      rmSync(tmp, { recursive: true });
      tmp = undefined;
      const scan = new Prescan(dir, stamp, fd);
      fd = undefined;
      return scan;
    } catch {
      // A directory it cannot look into, a name too long, no room for find's output (TMPDIR
      // unwritable or full): the walk in process, which reports what is wrong with the output.
      if (fd !== undefined) closeSync(fd);
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
      return undefined;
    }
  }

  /** Resolves when find is done (its output read, its temp directory removed). */
  done(): Promise<void> {
    return this.finished;
  }

  /**
   * Reads the directory's index while find still walks it, when it is as indexChunks writes it:
   * the render's thread would otherwise wait for find (~0.25 s at 112k files) and then read the
   * index (~0.27 s). take() hands it out only with the walk, whose stamp names this very index
   * file (its inode, size, mtime and ctime), so it is the index the walk belongs to. Anything
   * unreadable is left to the read after the walk, which reports it.
   */
  readIndex(environment: string): void {
    if (this.cancelled || this.index !== undefined) return;
    const file = `${this.dir}/${INDEX_FILE}`;
    try {
      const st = lstat(file);
      if (!st?.isFile() || st.size > READ_INDEX_BYTES) return;
      const paths: string[] = [];
      const shas: string[] = [];
      const plugins: string[] = [];
      const canonical = readCanonicalIndex(file, environment, (path, sha, plugin) => {
        paths.push(path);
        shas.push(sha);
        plugins.push(plugin);
      });
      if (canonical) this.index = { canonical, paths, shas, plugins };
    } catch {
      // Read again after the walk.
    }
  }

  /** Stops the walk if it is still running, and lets go of what it found. */
  cancel(): void {
    this.cancelled = true;
    this.result = undefined;
    this.index = undefined;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }

  /**
   * What the walk found, once, with the index if it was read meanwhile (see readIndex): if the
   * walk is done, succeeded, and the directory and its index are still the ones it walked.
   */
  take(): Walked | undefined {
    const disk = this.result;
    const index = this.index;
    this.result = undefined;
    this.index = undefined;
    return disk !== undefined && stampOf(this.dir) === this.stamp ? { disk, ...(index ? { index } : {}) } : undefined;
  }
}

/**
 * Starts a walk (see Prescan) of each environment directory in `out` a render may update: the
 * ones named in `only`, or every directory holding an index. Nothing is read but names and
 * lstats: which environments the render produces is known only once the model is loaded.
 */
export function prescanOutput(out: string, only: readonly string[] | undefined): Map<string, Prescan> {
  const scans = new Map<string, Prescan>();
  let names: string[];
  try {
    names = only && only.length > 0 ? [...only] : readdirSync(out);
  } catch {
    return scans;
  }
  for (const name of names) {
    if (name.startsWith('.') || name.includes('/')) continue;
    const scan = Prescan.start(`${out}/${name}`);
    if (scan) scans.set(name, scan);
  }
  return scans;
}
