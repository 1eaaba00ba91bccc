/**
 * Problems are values, as in the rest of topoforge. The model's DiagnosticCode union is
 * closed, so this package adds its own codes; the shape is otherwise a Diagnostic and the
 * CLI formats both the same way.
 */
import type { Diagnostic, DiagnosticCode } from '@topoforge/model';

export type GitopsCode =
  /** A rendered file breaks what Flux / Argo CD need from `clusters/<dc>/`. */
  | 'GITOPS_LAYOUT'
  /** A git command failed (clone, checkout, commit, push). */
  | 'GITOPS_GIT_FAILED'
  /** `--base` names no commit. */
  | 'GITOPS_UNKNOWN_REF'
  /** The local repository has uncommitted changes in directories topoforge owns. */
  | 'GITOPS_DIRTY_REPOSITORY'
  /** A directory to compare against has no rendered environments. */
  | 'GITOPS_NOTHING_TO_COMPARE'
  /** A rendered tree on disk holds what topoforge never writes: YAML aliases, special or huge files (hint: restore it from a render). */
  | 'GITOPS_UNSAFE_TREE'
  /** Another publish holds the repository's lock beyond the timeout (hint: wait, or remove a stale lock). */
  | 'GITOPS_LOCKED';

export type GitopsDiagnostic = Omit<Diagnostic, 'code'> & { readonly code: DiagnosticCode | GitopsCode };

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly diagnostics: readonly GitopsDiagnostic[] };
