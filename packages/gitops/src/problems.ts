/**
 * Problems are values, as in the rest of topoforge, with codes from the one catalog
 * (@topoforge/errors); this package reports the GITOPS_* ones.
 */
import type { Diagnostic, DiagnosticCode, Result } from '@topoforge/model';

export type GitopsCode = Extract<DiagnosticCode, `GITOPS_${string}`>;

/** A Diagnostic: gitops codes are in the same catalog as the model's. */
export type GitopsDiagnostic = Diagnostic;

export type Outcome<T> = Result<T>;
