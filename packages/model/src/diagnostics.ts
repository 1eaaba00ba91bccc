/**
 * Errors are values at the core: every problem found while loading or resolving a
 * topology is a Diagnostic with a stable code, the source position and the field path.
 * The CLI turns them into friendly text (formatDiagnostic) and an exit code.
 */
import { redactSecrets } from '@topoforge/secret-scan';
import type { ErrorCode } from '@topoforge/errors';
import { printable } from './printable.js';

/** Every code is in the catalog (@topoforge/errors) once, with its title, meaning and hint. */
export type DiagnosticCode = ErrorCode;

export interface SourcePosition {
  /** Path of the file as given (relative to the working directory or absolute). */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly message: string;
  /** Where the problem is, when it is in an input file. */
  readonly position?: SourcePosition;
  /** Field path in the merged environment, e.g. `services.store.policies.backup`. */
  readonly field?: string;
  /** What to do about it. */
  readonly hint?: string;
  /** The plugin that reported it or caused it. */
  readonly plugin?: string;
  /** The environment being loaded or rendered. */
  readonly environment?: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(diagnostics: readonly Diagnostic[]): Result<T> => ({ ok: false, diagnostics });

/** An exception that carries diagnostics, for boundaries where throwing is the only way out. */
export class TopoforgeError extends Error {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'TopoforgeError';
    this.diagnostics = diagnostics;
  }
}

/** `file:line:column: error CODE: message (field …)` plus an indented hint line. */
export function formatDiagnostic(d: Diagnostic): string {
  // Each part is one line: a key or a file name with a newline or an escape sequence in it
  // (the input that is wrong) must not forge a line of its own or drive the terminal.
  const where = d.position ? `${printable(d.position.file)}:${d.position.line}:${d.position.column}: ` : '';
  const who = d.plugin ? `[plugin ${printable(d.plugin)}] ` : '';
  const env = d.environment && !d.position ? `[${printable(d.environment)}] ` : '';
  const field = d.field ? ` (field ${printable(d.field)})` : '';
  const hint = d.hint ? `\n    hint: ${printable(d.hint)}` : '';
  // A message may quote an input value; a credential in it is never printed.
  return redactSecrets(`${where}error ${d.code}: ${env}${who}${printable(d.message)}${field}${hint}`);
}

/** Stable order for reporting: by file, line, column, then message. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => {
    const fa = a.position?.file ?? '';
    const fb = b.position?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    const la = a.position?.line ?? 0;
    const lb = b.position?.line ?? 0;
    if (la !== lb) return la - lb;
    const ca = a.position?.column ?? 0;
    const cb = b.position?.column ?? 0;
    if (ca !== cb) return ca - cb;
    return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
  });
}
