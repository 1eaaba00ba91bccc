/**
 * Starting a worker thread for the engine's file-system work (WriteBehind, scanBehind): its
 * body is a self-contained function (no imports, no closure), serialized and run as an eval'd
 * CommonJS script, so it needs no file of its own next to the compiled module.
 */
import { Worker, type TransferListItem } from 'node:worker_threads';

/** What a body gets: `require` and the data it was started with. */
export type ThreadBody<D> = (require: (id: string) => unknown, data: D) => void;

/**
 * Starts `body` on a new thread. With `started`, waits until the thread's isolate is up (tens
 * of ms) and then calls it, on this thread. V8 enforces its flag implications again when an
 * isolate starts, which resets a flag set at run time below its minimum: render's semi-space
 * growth factor of 1 became 2, and the young generation grew to 32 MB. The caller sets such
 * flags again there, before it allocates anything more. The thread never keeps the process
 * alive (unref'd): its owner ends it, and a process that exits ends it too.
 */
export function startThread<D>(body: ThreadBody<D>, data: D, transferList: readonly TransferListItem[], started?: () => void): Worker {
  const up = new Int32Array(new SharedArrayBuffer(4));
  const prologue = `const { workerData: w } = require('node:worker_threads'); const up = new Int32Array(w.up); Atomics.store(up, 0, 1); Atomics.notify(up, 0);`;
  const worker = new Worker(`${prologue}\n(${body.toString()})(require, w.data);`, {
    eval: true,
    workerData: { up: up.buffer, data },
    transferList: [...transferList],
  });
  worker.unref();
  if (started) {
    // Bounded: a thread that cannot start at all (no isolate) would otherwise hang the render.
    for (let waited = 0; Atomics.load(up, 0) !== 1; waited += 100) {
      if (waited >= 30_000) {
        void worker.terminate();
        throw new Error('a worker thread of the render did not start within 30 s');
      }
      Atomics.wait(up, 0, 0, 100);
    }
    started();
  }
  return worker;
}
