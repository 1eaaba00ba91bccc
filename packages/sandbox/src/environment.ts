/** The clusters of an environment: one per DC, named by the DC, context = the DC's `cluster.context`. */
import { loadEnvironment, type Diagnostic, type Result } from '@topoforge/model';
import type { SandboxClusterSpec } from './sandbox.js';

export function clustersOfEnvironment(file: string, cwd: string = process.cwd()): Result<SandboxClusterSpec[]> {
  const r = loadEnvironment(file, { cwd });
  if (!r.ok) return r;
  return { ok: true, value: r.value.dataCenters.map((dc) => ({ name: dc.name, context: dc.cluster.context })) };
}

export type { Diagnostic };
