import { setFlagsFromString } from 'node:v8';

/** Where the CLI writes; tests pass buffers. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly cwd: string;
  readonly color?: boolean;
  /** Tunes the process's heap for a command that streams (render); only the real process's io has it. */
  readonly streaming?: () => void;
}

/**
 * How far V8 lets the old generation grow past what a full collection left live before the
 * next one. By default it grows to several times the live heap. A render streams: what it
 * keeps is its bookkeeping (under 1 KB per file), so at 100k files it peaked at ~320 MB RSS
 * with ~56 MB live. Each full collection marks the live heap on V8's helper threads, so the
 * fewer there are, the less CPU: a full render at 112,585 files ran 15 of them at 20 % and 10
 * at 35 % (5 rounds alternating: median user CPU 4.34 s against 4.61 s, wall 4.31 s against
 * 4.46 s, peak RSS 167 MB against 158 MB; 50 % was no faster, at 177 MB; docs/benchmarks.md).
 */
const HEAP_GROWING_PERCENT = 35;
/**
 * The young generation: V8 doubles its semi-spaces while many objects survive a scavenge, up to
 * 16 MB each on Node 20, and at 100k files that pair was ~60 MB of the render's peak RSS. Its
 * limit (--max-semi-space-size) can only be set when node starts, and a bin's
 * `#!/usr/bin/env -S node <flags>` line does not run where env has no -S (BusyBox, so Alpine);
 * the growth factor V8 reads each time it would grow, so a factor of 1 keeps the semi-spaces
 * at the size they have when the render starts (2 MB each): peak RSS ~160 MB, for more
 * scavenges (docs/benchmarks.md).
 */
const SEMI_SPACE_GROWTH_FACTOR = 1;

/**
 * All only for render: diff and check hold rendered objects, where the extra collections cost
 * CPU (~60 % more for the heap growing). A value given to node itself (node's own arguments) is
 * the user's choice and is kept.
 */
function tuneHeapForStreaming(): void {
  // As V8 reads a flag: one dash or two, `-` or `_` between words, `no`, `no-` or `no_` before a boolean.
  const given = (flag: string) => process.execArgv.some((a) => new RegExp(`^--?(?:no[-_]?)?${flag.replaceAll('-', '[-_]')}(?:=|$)`).test(a));
  if (!given('heap-growing-percent')) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  if (!['max-semi-space-size', 'min-semi-space-size', 'semi-space-growth-factor'].some(given))
    setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
  // Young-generation collections on this thread alone. With semi-spaces this small a render runs
  // ~600 of them at 100k files, each under a millisecond: helper threads cost more to coordinate
  // than they save, and take the core the render's second thread writes on (10 renders each at
  // 112,585 files: the same wall time, 0.12 s less user CPU; docs/benchmarks.md). V8 reads the
  // flag at each collection.
  if (!['parallel-scavenge', 'single-threaded-gc', 'single-threaded'].some(given)) setFlagsFromString('--no-parallel-scavenge');
}

/**
 * A stream the reader closed (`topoforge check | head -1`) takes no more output: the command
 * runs to its end and exits with its own code (check's 1 for drift), as it would unpiped, instead
 * of dying on an unhandled EPIPE with a stack trace. Any other error of the stream is thrown.
 */
function closable(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  });
  return (text) => {
    if (!closed) stream.write(text);
  };
}

export const processIo = (): Io => ({
  out: closable(process.stdout),
  err: closable(process.stderr),
  cwd: process.cwd(),
  streaming: tuneHeapForStreaming,
});

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  /** check: the tree on disk differs; diff: there are changes. */
  changes: 1,
  /** Invalid input, a failing plugin, or an I/O error; nothing was written. */
  error: 2,
  /** diff: changes include risk flags. */
  risky: 3,
  /** Bad command-line usage. */
  usage: 64,
} as const;
