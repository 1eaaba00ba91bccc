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
 * with ~56 MB live, and at 20 % near 225 MB, for a few more full collections (docs/benchmarks.md).
 * Not for diff and check, which hold rendered objects: there the extra collections cost ~60 %
 * more CPU. A value given to node itself (node's own arguments) is the user's choice.
 */
const HEAP_GROWING_PERCENT = 20;
function tuneHeapForStreaming(): void {
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  // Read by V8 each time it sets the next limit, so it applies from here on.
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

export const processIo = (): Io => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
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
