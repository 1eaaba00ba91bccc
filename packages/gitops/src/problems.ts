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
  | 'GITOPS_NOTHING_TO_COMPARE';

export type GitopsDiagnostic = Omit<Diagnostic, 'code'> & { readonly code: DiagnosticCode | GitopsCode };

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly diagnostics: readonly GitopsDiagnostic[] };
