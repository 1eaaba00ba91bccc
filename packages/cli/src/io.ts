/** Where the CLI writes; tests pass buffers. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly cwd: string;
  readonly color?: boolean;
}

export const processIo = (): Io => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  cwd: process.cwd(),
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
