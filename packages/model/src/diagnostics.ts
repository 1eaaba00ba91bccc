/**
 * Errors are values at the core: every problem found while loading or resolving a
 * topology is a Diagnostic with a stable code, the source position and the field path.
 * The CLI turns them into friendly text (formatDiagnostic) and an exit code.
 */
import { redactSecrets } from '@topoforge/secret-scan';

export type DiagnosticCode =
  | 'TOPOLOGY_FILE_UNREADABLE'
  | 'TOPOLOGY_YAML_SYNTAX'
  | 'TOPOLOGY_EXTENDS_CYCLE'
  | 'TOPOLOGY_EXTENDS_NOT_FOUND'
  | 'TOPOLOGY_UNKNOWN_KEY'
  | 'TOPOLOGY_INVALID_VALUE'
  | 'TOPOLOGY_MISSING_FIELD'
  | 'TOPOLOGY_INVALID_NAME'
  | 'TOPOLOGY_UNKNOWN_REFERENCE'
  | 'TOPOLOGY_UNKNOWN_TIME_ZONE'
  | 'TOPOLOGY_ROTATION_INVALID'
  | 'TOPOLOGY_PLACEMENT_INVALID'
  | 'TOPOLOGY_REDUNDANCY'
  | 'TOPOLOGY_DUPLICATE_ENVIRONMENT'
  | 'TOPOLOGY_NO_ENVIRONMENTS'
  | 'TOPOLOGY_NAME_TOO_LONG'
  /** An input is not a regular file (/dev/zero, a FIFO, a directory) (hint: name a YAML file). */
  | 'TOPOLOGY_FILE_TYPE'
  /** A file is too large, too deep or has too many nodes (hint: check the right file is named). */
  | 'TOPOLOGY_LIMIT_EXCEEDED'
  /** A YAML alias forms a cycle or expands too far (an alias bomb) (hint: write values out). */
  | 'TOPOLOGY_ALIAS'
  /** Two names collide after derivation, e.g. a service named like a platform component (hint: rename). */
  | 'TOPOLOGY_NAME_COLLISION'
  /** A plain-text secret in the model (hint: the Secret reference form to use instead). */
  | 'TOPOLOGY_PLAIN_SECRET'
  /** Two plugins emit the same object (kind, namespace, name) into one cluster (hint: rename). */
  | 'PLUGIN_OBJECT_CONFLICT'
  /** A plugin's output holds a plain-text secret (hint: emit a Secret reference). */
  | 'PLUGIN_PLAIN_SECRET'
  | 'PLUGIN_NOT_FOUND'
  | 'PLUGIN_IMPORT_FAILED'
  | 'PLUGIN_UNKNOWN_POLICY_GROUP'
  | 'PLUGIN_POLICY_GROUP_CONFLICT'
  | 'RENDER_LAYOUT_INVALID'
  | 'RENDER_CRD_INVALID'
  | 'PLUGIN_INVALID_DEFINITION'
  | 'PLUGIN_CONTRACT_VERSION'
  | 'PLUGIN_DUPLICATE_NAME'
  | 'PLUGIN_INVALID_OPTIONS'
  | 'PLUGIN_ORDER_CYCLE'
  | 'PLUGIN_UNKNOWN_DEPENDENCY'
  | 'PLUGIN_THREW'
  | 'PLUGIN_PATH_CONFLICT'
  | 'PLUGIN_PATH_ESCAPE'
  | 'PLUGIN_INVALID_OBJECT'
  | 'PLUGIN_TEMPLATE_ERROR'
  | 'PLUGIN_VALIDATION_FAILED'
  | 'RENDER_WRITE_FAILED'
  /** The output holds something topoforge did not write where it would write (hint: move it, or --adopt). */
  | 'RENDER_FOREIGN_CONTENT'
  /** The output was rendered from another environments directory (hint: its own --out, or --adopt). */
  | 'RENDER_OTHER_SOURCE'
  /** `--out` is /, the home directory, a repository root, or holds the environments (hint: a directory of its own). */
  | 'RENDER_UNSAFE_OUTPUT'
  /** A link (or a file) where topoforge keeps its staging, trash or journal (hint: remove it by hand). */
  | 'RENDER_UNSAFE_PATH'
  /** Another render holds the output's lock beyond the timeout (hint: wait; delete a stale lock). */
  | 'RENDER_LOCKED'
  /** `--out` is not a readable directory: a file, a link loop (hint: give the directory render wrote). */
  | 'RENDER_OUTPUT_INVALID'
  | 'PROMOTE_NOT_VERIFIED'
  | 'PROMOTE_VERSION_MISMATCH'
  | 'PROMOTE_LEDGER_INVALID'
  | 'PROMOTE_VERSION_FAILED'
  /** Another verify/promote holds the file's lock beyond the timeout (hint: wait; delete a stale lock). */
  | 'PROMOTE_LOCKED';

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
  const where = d.position ? `${d.position.file}:${d.position.line}:${d.position.column}: ` : '';
  const who = d.plugin ? `[plugin ${d.plugin}] ` : '';
  const env = d.environment && !d.position ? `[${d.environment}] ` : '';
  const field = d.field ? ` (field ${d.field})` : '';
  const hint = d.hint ? `\n    hint: ${d.hint}` : '';
  // A message may quote an input value; a credential in it is never printed.
  return redactSecrets(`${where}error ${d.code}: ${env}${who}${d.message}${field}${hint}`);
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
