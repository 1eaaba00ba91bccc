/**
 * Writes staged files on a second thread while the render goes on producing them.
 *
 * Why: at 100k files a third of a full render's time was the main thread waiting in
 * `open`/`write`/`close` (writeFileUtf8 ~2.5 s of ~10 s), while the machine's other core was
 * idle. The render itself is synchronous per file (a plugin's emit is put at once), so the
 * hand-over must be too: the files go into a fixed ring of shared memory that a worker thread
 * drains, and the producer blocks (Atomics.wait) only when the ring is full. That bounds the
 * memory (the ring) whatever the tree's size, and costs no copy of a file beyond its UTF-8
 * encoding, which writeFileSync did as well.
 *
 * Errors: the worker stops at the first failed write and reports it; the next `write` or the
 * `drain` throws it on the render's thread, as writeFileSync would have (same code and message),
 * so the render fails all or nothing as before. `stop` waits until the worker has stopped
 * touching the disk, so an abort that removes the staging directory removes everything.
 */
import { closeSync, lstatSync, openSync, readdirSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { setTimes, writeAll } from '@topoforge/safe-fs';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startThread } from './thread.js';

/** Control words (Int32): bytes produced and consumed (both wrap at 2^32), the worker's state. */
const PRODUCED = 0;
const CONSUMED = 1;
const REQUEST = 2; // 0 run, 1 drain and exit, 2 exit now
const STOPPED = 3; // set by the worker when it will touch nothing more
const FAILED = 4; // set by the worker with its error message
// Set by a side about to sleep: the other notifies only then, and the producer only once a
// batch is queued (a wake-up is a futex call and a thread switch: waking the worker for every
// file cost the producer ~1.6 s at 100k files). Each sleeper re-checks after setting its mark,
// and sleeps at most 100 ms, so no wake-up is lost.
const WORKER_WAITS = 5;
const PRODUCER_WAITS = 6;
/** Bytes queued before a sleeping worker is woken (a drain wakes it for less). */
const BATCH = 256 * 1024;
const CONTROL_WORDS = 8;
/**
 * Claim words (Int32) after the control words, one per queued directory removal: whichever
 * thread sets it first removes the directory. The worker takes the queue from the front, and a
 * drain on the render's thread from the back (see help), so the two share the removals evenly.
 * Removals past this many are the worker's alone.
 */
const CLAIMS = 1 << 14;
const HEADER = 8; // path length, content length (u32 each)
const WRAP = 0xffffffff;

/** The ring's default size: large enough to keep the worker busy, small beside a render's heap. */
export const RING_BYTES = 4 * 1024 * 1024;

interface WrittenError {
  readonly code?: string;
  readonly message: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly errno?: number;
}

/**
 * The worker's body (see startThread: no imports, no closure, so the control words are written
 * as numbers: 0 PRODUCED, 1 CONSUMED, 2 REQUEST, 3 STOPPED, 4 FAILED, 5 WORKER_WAITS, 6 PRODUCER_WAITS;
 * then CLAIMS (16384) claim words, then the ring).
 */
function workerMain(
  require: (id: string) => unknown,
  data: { readonly shared: SharedArrayBuffer; readonly port: MessagePort; readonly mtime: number | undefined },
): void {
  const { shared, port, mtime } = data;
  const ctl = new Int32Array(shared, 0, 8);
  const claims = new Int32Array(shared, 32, 16384);
  // Everything that can throw is inside the try: the producer waits for the stop mark it sets.
  try {
    const fs = require('node:fs') as typeof import('node:fs');
    const ring = Buffer.from(shared, 32 + 16384 * 4);
    const size = ring.length;
    let at = 0; // read offset in the ring
    let consumed = 0;
    for (;;) {
      if (Atomics.load(ctl, 2) === 2) break;
      const produced = Atomics.load(ctl, 0);
      if (produced === consumed) {
        if (Atomics.load(ctl, 2) === 1) break;
        Atomics.store(ctl, 5, 1);
        if (Atomics.load(ctl, 0) === produced && Atomics.load(ctl, 2) === 0) Atomics.wait(ctl, 0, produced, 100);
        Atomics.store(ctl, 5, 0);
        continue;
      }
      const pathLength = ring.readUInt32LE(at);
      let used: number;
      if (pathLength === 0xffffffff) {
        used = size - at;
        at = 0;
      } else {
        const second = ring.readUInt32LE(at + 4);
        const path = ring.toString('utf8', at + 8, at + 8 + pathLength);
        const start = at + 8 + pathLength;
        // The two high bits of the second length say what to do: 2 rename (its bytes are the
        // target path), 1 remove a directory of files (see removeDirectory), 0 write.
        const kind = second >>> 30;
        const contentLength = second & 0x3fffffff;
        if (kind === 2) fs.renameSync(path, ring.toString('utf8', start, start + contentLength));
        else if (kind === 1) {
          // Its claim word, if it has one (the record's bytes): the render's thread may have taken it.
          const claim = contentLength > 0 ? Number(ring.toString('utf8', start, start + contentLength)) : -1;
          if (claim < 0 || Atomics.compareExchange(claims, claim, 0, 1) === 0)
            try {
              // Never through a link (readdir would list its target's files).
              if (fs.lstatSync(path).isDirectory()) {
                for (const n of fs.readdirSync(path)) fs.unlinkSync(`${path}/${n}`);
                fs.rmdirSync(path);
              }
            } catch {
              // As removeDirectory: what is left goes with the directory it is in.
            }
        } else if (mtime === undefined) fs.writeFileSync(path, ring.subarray(start, start + contentLength));
        else {
          // As writeStamped does (no import here: see startThread).
          const fd = fs.openSync(path, 'w');
          try {
            for (let off = start; off < start + contentLength;) off += fs.writeSync(fd, ring, off, start + contentLength - off);
            try {
              fs.futimesSync(fd, mtime, mtime);
            } catch {
              // A mount that refuses to set times: undated, the file is read again next time.
            }
          } finally {
            fs.closeSync(fd);
          }
        }
        used = (8 + pathLength + contentLength + 7) & ~7;
        at += used;
        if (at === size) at = 0;
      }
      consumed = (consumed + used) | 0;
      Atomics.store(ctl, 1, consumed);
      if (Atomics.load(ctl, 6) === 1) Atomics.notify(ctl, 1);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ code: e.code, message: e.message, syscall: e.syscall, path: e.path, errno: e.errno });
    Atomics.store(ctl, 4, 1);
  } finally {
    Atomics.store(ctl, 3, 1);
    Atomics.notify(ctl, 3);
    Atomics.notify(ctl, 1);
  }
}

/** The error a failed write raised on the worker, rebuilt as writeFileSync would have thrown it. */
function rebuilt(e: WrittenError): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  if (e.path !== undefined) err.path = e.path;
  if (e.errno !== undefined) err.errno = e.errno;
  return err;
}

/**
 * Writes `content` to `file` as writeFileSync does; with `mtime` (seconds), the file has that
 * modification and access time (see TreeWriter: what a render writes is dated before it began).
 */
export function writeStamped(file: string, content: string, mtime: number | undefined): void {
  if (mtime === undefined) return writeFileSync(file, content);
  const fd = openSync(file, 'w');
  try {
    writeAll(fd, Buffer.from(content, 'utf8'));
    // Where times cannot be set, the file is newer than the render's record: read again next time.
    setTimes(fd, mtime);
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes a directory of files (one a swap put in the trash whole), best effort: what it
 * cannot remove (something put there since) is left for the removal of the trash it is in.
 */
export function removeDirectory(dir: string): void {
  try {
    // Never through a link (readdir would list its target's files).
    if (lstatSync(dir).isDirectory()) {
      for (const n of readdirSync(dir)) unlinkSync(`${dir}/${n}`);
      rmdirSync(dir);
    }
  } catch {
    // Left for the trash's removal (rmSync, recursive).
  }
}

/** What a record in the ring asks of the worker (the two high bits of its second length). */
const WRITE = 0;
const REMOVE_DIRECTORY = 1;
const RENAME = 2;
type Kind = typeof WRITE | typeof REMOVE_DIRECTORY | typeof RENAME;

export class WriteBehind {
  private readonly ctl: Int32Array;
  private readonly claims: Int32Array;
  /** The directory removals queued with a claim word and not yet drained, in queue order (see help). */
  private removals: { readonly claim: number; readonly dir: string }[] = [];
  /** Claim words given out (each once). */
  private claimsUsed = 0;
  /** How many queued directories this thread removed while draining (see help). */
  removedHere = 0;
  /** `produced` just after the last directory removal queued, until the worker is past it (see removing). */
  private removalsEnd: number | undefined;
  private readonly ring: Buffer;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private at = 0;
  private produced = 0;
  /** `produced` when the worker was last woken. */
  private woken = 0;
  private error: NodeJS.ErrnoException | undefined;
  private stopped = false;

  private readonly mtime: number | undefined;

  /** `started`: see startThread (called once the worker's isolate is up). `mtime`: see writeStamped. */
  constructor(opts: { readonly ringBytes?: number; readonly started?: () => void; readonly mtime?: number } = {}) {
    this.mtime = opts.mtime;
    const ringBytes = opts.ringBytes ?? RING_BYTES;
    // At most 1 GiB: a record's second length keeps its kind in its two high bits (see queue).
    if (ringBytes % 8 !== 0 || ringBytes < 64 || ringBytes > 0x40000000) throw new RangeError('the ring must be a multiple of 8 bytes, from 64 bytes to 1 GiB');
    const shared = new SharedArrayBuffer((CONTROL_WORDS + CLAIMS) * 4 + ringBytes);
    this.ctl = new Int32Array(shared, 0, CONTROL_WORDS);
    this.claims = new Int32Array(shared, CONTROL_WORDS * 4, CLAIMS);
    this.ring = Buffer.from(shared, (CONTROL_WORDS + CLAIMS) * 4);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.unref();
    this.worker = startThread(workerMain, { shared, port: port2, mtime: opts.mtime }, [port2], opts.started);
  }

  /**
   * Whether the worker still has directory removals ahead in its queue (what is queued now
   * waits for them). Positions wrap at 2^32; the ring is at most 1 GiB, so the distance is
   * read right until the worker is past the mark, and the mark is dropped then.
   */
  get removing(): boolean {
    if (this.removalsEnd === undefined) return false;
    if (((this.removalsEnd - Atomics.load(this.ctl, CONSUMED)) | 0) > 0) return true;
    this.removalsEnd = undefined;
    return false;
  }

  /** Throws the worker's error, if it failed. */
  private check(): void {
    if (this.error === undefined && Atomics.load(this.ctl, FAILED) === 1) {
      const m = receiveMessageOnPort(this.port);
      this.error = rebuilt((m?.message as WrittenError | undefined) ?? { message: 'the write-behind thread failed' });
    }
    if (this.error !== undefined) throw this.error;
  }

  /** Blocks until `bytes` of the ring are free (or the worker stopped). */
  private waitFor(bytes: number): void {
    for (;;) {
      this.check();
      const consumed = Atomics.load(this.ctl, CONSUMED);
      if (this.ring.length - ((this.produced - consumed) >>> 0) >= bytes) return;
      // Waiting for the worker: it must be awake.
      this.wake();
      if (Atomics.load(this.ctl, STOPPED) === 1) {
        this.check();
        throw new Error('the write-behind thread stopped');
      }
      Atomics.store(this.ctl, PRODUCER_WAITS, 1);
      if (Atomics.load(this.ctl, CONSUMED) === consumed) Atomics.wait(this.ctl, CONSUMED, consumed, 100);
      Atomics.store(this.ctl, PRODUCER_WAITS, 0);
    }
  }

  private publish(bytes: number): void {
    this.produced = (this.produced + bytes) | 0;
    Atomics.store(this.ctl, PRODUCED, this.produced);
    if ((this.produced - this.woken) >>> 0 >= BATCH) this.wake();
  }

  private wake(): void {
    this.woken = this.produced;
    if (Atomics.load(this.ctl, WORKER_WAITS) === 1) Atomics.notify(this.ctl, PRODUCED);
  }

  /** Whether a record of these sizes goes through the ring (larger is done in place, after a drain). */
  private fits(firstBytes: number, secondBytes: number): boolean {
    return HEADER + firstBytes + secondBytes + 8 <= this.ring.length / 2;
  }

  /**
   * Queues `content` for `file` (its directory exists). A file too large for the ring is
   * written here, after the ring is drained: the order of writes to one path is kept.
   */
  write(file: string, content: string): void {
    this.submit(file, content, WRITE, () => writeStamped(file, content, this.mtime));
  }

  /**
   * Queues a rename of `from` to `to` (what the swap spreads over both threads: renames across
   * directories run in part in parallel, see docs/benchmarks.md). In queue order with writes.
   */
  rename(from: string, to: string): void {
    this.submit(from, to, RENAME, () => renameSync(from, to));
  }

  /**
   * Queues a removeDirectory of `dir` (what a swap put in the trash): the worker takes it in
   * queue order, unless a drain on this thread got to it first (see help).
   */
  removeDirectory(dir: string): void {
    let claim = '';
    if (this.claimsUsed < CLAIMS) {
      this.removals.push({ claim: this.claimsUsed, dir });
      claim = String(this.claimsUsed++);
    }
    this.submit(dir, claim, REMOVE_DIRECTORY, () => removeDirectory(dir));
    this.removalsEnd = this.produced;
    // A removal is thousands of unlinks: the worker starts on it now, not at the next batch.
    this.wake();
  }

  /**
   * Removes queued directories here, from the back of the queue, until one the worker has
   * taken: a drain would otherwise only wait while the worker removes them all (the old tree
   * of a full render: ~0.5 s at 112k files, split between the threads this way).
   */
  private help(): void {
    for (let i = this.removals.length - 1; i >= 0; i--) {
      const r = this.removals[i]!;
      if (Atomics.compareExchange(this.claims, r.claim, 0, 1) !== 0) break;
      removeDirectory(r.dir);
      this.removedHere++;
    }
    this.removals = [];
  }

  /** Queues a record, or (too large for the ring) drains and does `here` on this thread: the same call as the worker's. */
  private submit(first: string, second: string, kind: Kind, here: () => void): void {
    if (this.stopped) throw new Error('the write-behind thread was stopped');
    this.check();
    const firstBytes = Buffer.byteLength(first);
    const secondBytes = Buffer.byteLength(second);
    if (!this.fits(firstBytes, secondBytes)) {
      this.drain();
      here();
      return;
    }
    this.queue(first, firstBytes, second, secondBytes, kind);
  }

  private queue(first: string, firstBytes: number, second: string, secondBytes: number, kind: Kind): void {
    const need = (HEADER + firstBytes + secondBytes + 7) & ~7;
    if (this.at + need > this.ring.length) {
      // No record is split: the rest of the ring is skipped (a wrap mark when a header fits).
      const skip = this.ring.length - this.at;
      this.waitFor(skip);
      if (skip >= 4) this.ring.writeUInt32LE(WRAP, this.at);
      this.at = 0;
      this.publish(skip);
    }
    this.waitFor(need);
    const at = this.at;
    this.ring.writeUInt32LE(firstBytes, at);
    this.ring.writeUInt32LE((secondBytes | (kind << 30)) >>> 0, at + 4);
    this.ring.write(first, at + HEADER, firstBytes, 'utf8');
    this.ring.write(second, at + HEADER + firstBytes, secondBytes, 'utf8');
    this.at += need;
    if (this.at === this.ring.length) this.at = 0;
    this.publish(need);
  }

  /** Blocks until every queued file is written (sharing the queued removals, see help); throws the first failed write. */
  drain(): void {
    // Awake before this thread helps, so that the two remove from both ends at once.
    this.wake();
    this.help();
    this.waitFor(this.ring.length);
    this.check();
  }

  /**
   * Ends the worker: after a drain when `finish`, at once otherwise (an abort). Returns only
   * when the worker touches nothing more. Idempotent.
   */
  stop(finish = false): void {
    if (this.stopped) return;
    if (finish) this.drain();
    this.stopped = true;
    Atomics.store(this.ctl, REQUEST, finish ? 1 : 2);
    Atomics.notify(this.ctl, PRODUCED);
    // The worker sees the request within one write (or its 100 ms wait).
    while (Atomics.load(this.ctl, STOPPED) !== 1) Atomics.wait(this.ctl, STOPPED, 0, 100);
    void this.worker.terminate();
    this.port.close();
  }
}
