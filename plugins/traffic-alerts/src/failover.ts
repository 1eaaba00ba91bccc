/**
 * The failover plan as data: for the loss of each DC, where each of its services goes, in
 * recovery-priority order. Rule: the surviving DCs that already run the service, those in
 * the same region first (lowest latency for the region's users, same data residency), then
 * the others in rotation order.
 */
import type { Environment } from '@topoforge/model';

export interface FailoverMove {
  readonly service: string;
  readonly recoveryPriority: number;
  /** Targets in preference order; empty when nothing else runs the service. */
  readonly targets: readonly string[];
}

export interface DcLossPlan {
  readonly lost: string;
  readonly moves: readonly FailoverMove[];
}

export function failoverTargets(env: Environment, service: string, lost: string): string[] {
  const s = env.services.find((x) => x.name === service)!;
  const region = env.dataCenters.find((d) => d.name === lost)!.region;
  const survivors = env.dataCenters.filter((d) => d.name !== lost && s.dataCenters.includes(d.name));
  return [...survivors.filter((d) => d.region === region), ...survivors.filter((d) => d.region !== region)].map((d) => d.name);
}

export function failoverPlan(env: Environment, clientFacingOnly = true): DcLossPlan[] {
  return env.dataCenters.map((dc) => ({
    lost: dc.name,
    moves: env.services
      .filter((s) => s.dataCenters.includes(dc.name) && (!clientFacingOnly || s.tier === 'client-facing'))
      .map((s) => ({ service: s.name, recoveryPriority: s.recoveryPriority, targets: failoverTargets(env, s.name, dc.name) })),
  }));
}

export function formatFailoverPlan(plans: readonly DcLossPlan[]): string {
  return plans
    .map((p) =>
      [
        `If ${p.lost} is lost:`,
        ...p.moves.map((m) => `  ${m.recoveryPriority}. ${m.service.padEnd(16)} -> ${m.targets.join(', ') || 'NO OTHER DC (not redundant)'}`),
      ].join('\n'),
    )
    .join('\n\n');
}
