/**
 * File-system primitives that are safe when several topoforge processes run at once or one
 * is killed half-way: an exclusive lock file whose owner can be checked for liveness,
 * writes that replace a file all at once (temp file + rename), and reads that refuse
 * anything but a regular file of bounded size (`/dev/zero`, a FIFO, a 100 MB file).
 *
 * Everything is synchronous on purpose: the engine's tree writer is synchronous, and a
 * lock must be held across it without yielding to the event loop.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  futimesSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Who holds a lock; written into the lock file as JSON. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly purpose?: string;
}

/** Thrown when a lock stays held by a live process longer than the timeout. */
export class LockTimeoutError extends Error {
  readonly path: string;
  readonly owner: LockOwner | undefined;
  constructor(path: string, owner: LockOwner | undefined, timeoutMs: number) {
    super(
      `${path} is held by ${owner ? `process ${owner.pid} on ${owner.host}${owner.purpose ? ` (${owner.purpose})` : ''} since ${owner.since}` : 'another process'}; gave up after ${Math.round(timeoutMs / 1000)} s`,
    );
    this.name = 'LockTimeoutError';
    this.path = path;
    this.owner = owner;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread (no event loop turn): the lock is held across synchronous work. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Whether a process on this host is alive (EPERM: alive, owned by someone else). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLockOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.since === 'string') return o as LockOwner;
  } catch {
    // absent, or written by something else
  }
  return undefined;
}

/** True when the owner is certainly gone: same host and the process no longer exists. */
export function ownerIsDead(owner: LockOwner | undefined): boolean {
  return owner !== undefined && owner.host === hostname() && !isAlive(owner.pid);
}

const tempName = (path: string): string => join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);

/** Creates `path` with `content` only if it does not exist, all at once (link of a complete temp file). */
function createExclusive(path: string, content: string): boolean {
  const tmp = tempName(path);
  writeFileSync(tmp, content, { flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** Removes a lock whose owner is dead, unless someone else replaced it meanwhile. */
function breakStale(path: string, seen: string): void {
  const breaker = `${path}.break`;
  const me = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), purpose: 'breaking a stale lock' } satisfies LockOwner);
  if (!createExclusive(breaker, me)) {
    if (ownerIsDead(readLockOwner(breaker))) {
      try {
        unlinkSync(breaker);
      } catch {
        // someone else removed it
      }
    }
    return;
  }
  try {
    let now: string | undefined;
    try {
      now = readFileSync(path, 'utf8');
    } catch {
      now = undefined;
    }
    if (now === seen) unlinkSync(path);
  } finally {
    unlinkSync(breaker);
  }
}

export interface LockOptions {
  /** How long to wait for a live owner (default 120 s). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  /** Called once when the lock is busy and this process starts waiting. */
  readonly onWait?: (owner: LockOwner | undefined) => void;
  /** Written into the lock file, shown to whoever waits. */
  readonly purpose?: string;
}

/**
 * Takes the exclusive lock `path` (a file), waiting while a live process holds it and
 * taking over a lock whose owner died. Returns the release function.
 */
export function acquireLock(path: string, options: LockOptions = {}): () => void {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const pollMs = options.pollMs ?? 50;
  const content = JSON.stringify({
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    ...(options.purpose ? { purpose: options.purpose } : {}),
  } satisfies LockOwner);
  const deadline = Date.now() + timeoutMs;
  let waited = false;
  for (;;) {
    if (createExclusive(path, content)) break;
    let seen: string | undefined;
    try {
      seen = readFileSync(path, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    const owner = readLockOwner(path);
    if (ownerIsDead(owner)) {
      breakStale(path, seen);
      continue;
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(path, owner, timeoutMs);
    if (!waited) {
      waited = true;
      options.onWait?.(owner);
    }
    sleepSync(pollMs);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}

/** Runs `fn` holding the lock. */
export function withLock<T>(path: string, fn: () => T, options: LockOptions = {}): T {
  const release = acquireLock(path, options);
  try {
    return fn();
  } finally {
    release();
  }
}

/** Writes all of `buf` to `fd` (at `position` when given; writeSync may write less than asked). */
export function writeAll(fd: number, buf: Uint8Array, position?: number): void {
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
}

/**
 * Sets the open file's modification and access time to `seconds`; false where the file system
 * refuses to (some CIFS and FUSE mounts), which callers that only date files for their own
 * bookkeeping take as the file keeping the time it was written at.
 */
export function setTimes(fd: number, seconds: number): boolean {
  try {
    futimesSync(fd, seconds, seconds);
    return true;
  } catch {
    return false;
  }
}

/**
 * Replaces `path` with `content` all at once: a reader sees the old or the new file, never a mix.
 * `mtimeMs`: the modification (and access) time it has from the moment it is in place (where
 * the file system lets it be set).
 */
export function writeFileAtomic(path: string, content: string | Uint8Array | Iterable<string>, opts: { readonly mtimeMs?: number } = {}): void {
  const tmp = tempName(path);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    // Pieces (an iterable of strings) are written as they come: a large file is never one string.
    const pieces = typeof content === 'string' || content instanceof Uint8Array ? [content] : content;
    for (const piece of pieces) {
      writeAll(fd, typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece);
    }
    if (opts.mtimeMs !== undefined) setTimes(fd, opts.mtimeMs / 1000);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

export type ReadProblem =
  /** Not a regular file: a directory, a FIFO, a device such as /dev/zero, a socket. */
  | 'not-a-file'
  | 'too-large'
  /** Missing, no permission, a symlink loop… (`detail` has the errno code). */
  | 'unreadable'
  /** Not UTF-8 text (with `strictUtf8`); `at` is where the first malformed sequence begins. */
  | 'not-utf8';

export type BoundedRead =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly problem: ReadProblem; readonly detail: string; readonly at?: TextPosition };

/** 1-based line and column (in UTF-16 code units, as a JavaScript string and the YAML parser count them). */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

/**
 * Offset of the first byte that does not begin a well-formed UTF-8 sequence (the Unicode
 * standard's table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF), or -1.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const trailing = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (trailing === 0) return i;
    // The second byte's range depends on the first; the others are any continuation byte.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    const second = b[i + 1];
    if (second === undefined || second < lo || second > hi) return i;
    for (let k = 2; k <= trailing; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += trailing + 1;
  }
  return -1;
}

/** Where byte `offset` of UTF-8 text `b` is, its line and column counted as the text decodes. */
function positionOf(b: Buffer, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (b[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: b.subarray(lineStart, offset).toString('utf8').length + 1 };
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `b` as text, or where it is not UTF-8. */
function decode(b: Buffer, strict: boolean): BoundedRead {
  if (!strict) return { ok: true, text: b.toString('utf8') };
  try {
    return { ok: true, text: strictDecoder.decode(b) };
  } catch {
    const bad = firstInvalidUtf8(b);
    const at = positionOf(b, bad);
    return {
      ok: false,
      problem: 'not-utf8',
      detail: `byte 0x${b[bad]!.toString(16).padStart(2, '0')} at line ${at.line}, column ${at.column} is not UTF-8`,
      at,
    };
  }
}

/**
 * Reads a regular file of at most `maxBytes` as UTF-8. Never blocks on a FIFO (it is
 * refused before it is opened, and opened non-blocking) and never reads more than the bound.
 * `noFollow`: a symbolic link (the last component) is refused, not followed — for a tree that
 * may hold anything, where a link could name any file on the machine.
 * `strictUtf8`: bytes that are not UTF-8 are `not-utf8`, with where they are, instead of each
 * becoming U+FFFD — for input whose every character means something (a topology file).
 */
export function readBoundedFile(path: string, maxBytes: number, opts: { readonly noFollow?: boolean; readonly strictUtf8?: boolean } = {}): BoundedRead {
  let fd: number;
  try {
    const st = opts.noFollow ? lstatSync(path) : statSync(path);
    if (!st.isFile())
      return {
        ok: false,
        problem: 'not-a-file',
        detail: st.isSymbolicLink()
          ? 'a symbolic link'
          : st.isDirectory()
            ? 'a directory'
            : st.isFIFO()
              ? 'a FIFO'
              : st.isCharacterDevice() || st.isBlockDevice()
                ? 'a device'
                : st.isSocket()
                  ? 'a socket'
                  : 'not a regular file',
      };
    if (st.size > maxBytes) return { ok: false, problem: 'too-large', detail: `${st.size} bytes` };
    // O_NOFOLLOW as well: a link put in its place since the lstat is refused (ELOOP), not followed.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    return { ok: false, problem: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, problem: 'not-a-file', detail: 'not a regular file' };
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 1)));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > maxBytes) return { ok: false, problem: 'too-large', detail: `more than ${maxBytes} bytes` };
        break;
      }
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > maxBytes) return { ok: false, problem: 'too-large', detail: `more than ${maxBytes} bytes` };
    return decode(buf.subarray(0, n), opts.strictUtf8 ?? false);
  } catch (err) {
    return { ok: false, problem: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err) };
  } finally {
    closeSync(fd);
  }
}
