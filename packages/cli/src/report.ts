/**
 * Diagnostics as text. The same problem found while loading or rendering several
 * environments (a typo in base.yaml that every environment inherits) is printed once,
 * with the environments it affects listed.
 */
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '@topoforge/model/core';
import { catalogHint } from '@topoforge/errors';

export interface GroupedDiagnostic {
  readonly diagnostic: Diagnostic;
  /** Environments that reported it, sorted; empty when none was named. */
  readonly environments: readonly string[];
}

export function groupDiagnostics(ds: readonly Diagnostic[]): GroupedDiagnostic[] {
  const groups = new Map<string, { diagnostic: Diagnostic; environments: Set<string> }>();
  for (const d of sortDiagnostics(ds)) {
    const { environment, ...rest } = d;
    const key = JSON.stringify([rest.code, rest.position, rest.field, rest.plugin, rest.message, rest.hint]);
    const g = groups.get(key) ?? { diagnostic: d, environments: new Set<string>() };
    if (environment) g.environments.add(environment);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({ diagnostic: g.diagnostic, environments: [...g.environments].sort() }));
}

/** A problem reported without a hint of its own gets its code's hint from the catalog. */
function withHint(d: Diagnostic): Diagnostic {
  if (d.hint) return d;
  const hint = catalogHint(d.code);
  return hint ? { ...d, hint } : d;
}

export function formatGrouped(g: GroupedDiagnostic): string {
  if (g.environments.length < 2) return formatDiagnostic(withHint(g.diagnostic));
  const { environment: _one, ...d } = g.diagnostic;
  return `${formatDiagnostic(withHint(d))}\n    in environments: ${g.environments.join(', ')}`;
}

/** The closing line that points at `topoforge explain` for the codes just printed. */
export function explainLine(groups: readonly GroupedDiagnostic[]): string {
  const codes = [...new Set(groups.map((g) => g.diagnostic.code))].sort();
  return `what a code means: topoforge explain ${codes.length === 1 ? codes[0] : 'CODE'} (all codes: docs/errors.md)`;
}
