import { main } from './program.js';
import { processIo } from './io.js';
import { redactSecrets } from '@topoforge/secret-scan';
import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what a full collection left live before the next
 * one. By default it grows to several times the live heap: a render's live set is its
 * bookkeeping (about 1 KB per file), so at 100k files the process peaked at ~440 MB RSS with
 * ~110 MB live. At 20 % it peaks near 290 MB, for a few more full collections (~0.2 s of pauses
 * at 100k files; docs/benchmarks.md). Set here, in the process the CLI owns, not in the
 * libraries: it is a flag of the whole process. V8 reads it each time it sets the next limit.
 */
const HEAP_GROWING_PERCENT = 20;

export function run(): void {
  // A value given to node itself (NODE_OPTIONS, node's own arguments) is the user's choice.
  const given = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].some((a) => /--heap[-_]growing[-_]percent/.test(a));
  if (!given) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`internal error: ${redactSecrets(String(err))}\n`);
      process.exitCode = 2;
    },
  );
}
