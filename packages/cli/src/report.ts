/**
 * Diagnostics as text. The same problem found while loading or rendering several
 * environments (a typo in base.yaml that every environment inherits) is printed once,
 * with the environments it affects listed.
 */
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '@topoforge/model';

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

export function formatGrouped(g: GroupedDiagnostic): string {
  if (g.environments.length < 2) return formatDiagnostic(g.diagnostic);
  const { environment: _one, ...d } = g.diagnostic;
  return `${formatDiagnostic(d)}\n    in environments: ${g.environments.join(', ')}`;
}
