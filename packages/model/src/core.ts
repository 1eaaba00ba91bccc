/**
 * What commands need before, or without, loading a topology: diagnostics and results, the
 * comparators, names. It imports no YAML parser or schema library, so `check` answering from
 * its record and `--help` load none of them (issue 19: module loading off the hot path).
 */
export * from './diagnostics.js';
export { byName, byString, isObject } from './compare.js';
export * from './names.js';
export { printable, printableLines } from './printable.js';
