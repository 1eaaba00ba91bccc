/**
 * The running orchestrator: the decider, the actuator, the audit log and the metrics wired
 * together. A tick decides, then applies each decision in the order given (recovery
 * priority), one service at a time across all its clusters, so social network's Gslbs change
 * before telemetry's. Clusters that could not be patched are retried on every tick.
 */
import { appendFileSync } from 'node:fs';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from './config.js';
import { Decider, type Decision, type WebhookPayload } from './decider.js';
import type { GslbActuator } from './gslb.js';

export interface AuditEntry {
  readonly time: string;
  readonly event: 'decision' | 'applied' | 'apply-failed' | 'alerts' | 'ignored';
  readonly dryRun: boolean;
  readonly [k: string]: unknown;
}

export interface Clock {
  now(): number;
}

export class Orchestrator {
  readonly decider: Decider;
  readonly registry = new Registry();
  private readonly audit: AuditEntry[] = [];
  /** `${dc}/${service}` whose weights are not yet what the decider wants. */
  private readonly unsynced = new Set<string>();
  private readonly drained: Gauge;
  private readonly weight: Gauge;
  private readonly decisions: Counter;
  private readonly alerts: Counter;
  private readonly patchErrors: Counter;
  private ticking: Promise<void> = Promise.resolve();

  constructor(
    readonly config: Config,
    private readonly actuator: GslbActuator,
    readonly clock: Clock,
    private readonly auditFile?: string,
  ) {
    this.decider = new Decider(config);
    collectDefaultMetrics({ register: this.registry });
    // Prometheus scrapes this gauge: the traffic rules silence a drained DC's drop alerts with it.
    this.drained = new Gauge({ name: 'topoforge_failover_drained', help: '1 while the orchestrator keeps the DC drained for the service', labelNames: ['service', 'dc'], registers: [this.registry] });
    this.weight = new Gauge({ name: 'topoforge_failover_weight', help: 'Gslb weight the orchestrator wants for the DC', labelNames: ['service', 'dc'], registers: [this.registry] });
    this.decisions = new Counter({ name: 'topoforge_failover_decisions_total', help: 'decisions by action', labelNames: ['action', 'service'], registers: [this.registry] });
    this.alerts = new Counter({ name: 'topoforge_failover_alerts_received_total', help: 'alerts received by status', labelNames: ['status'], registers: [this.registry] });
    this.patchErrors = new Counter({ name: 'topoforge_failover_gslb_patch_errors_total', help: 'failed Gslb patches by DC cluster', labelNames: ['dc'], registers: [this.registry] });
    this.exportState();
  }

  private log(entry: Omit<AuditEntry, 'time' | 'dryRun'>): void {
    const e = { time: new Date(this.clock.now()).toISOString(), dryRun: this.config.dryRun, ...entry } as AuditEntry;
    this.audit.push(e);
    if (this.audit.length > 10_000) this.audit.shift();
    if (this.auditFile) appendFileSync(this.auditFile, `${JSON.stringify(e)}\n`);
  }

  auditLog(): readonly AuditEntry[] {
    return this.audit;
  }

  receive(payload: WebhookPayload): void {
    const now = this.clock.now();
    for (const a of payload.alerts) this.alerts.inc({ status: a.status });
    this.log({ event: 'alerts', alerts: payload.alerts.map((a) => ({ status: a.status, alertname: a.labels.alertname, service: a.labels.service, dc: a.labels.dc })) });
    for (const i of this.decider.ingest(payload, now)) this.log({ event: 'ignored', reason: i.reason, labels: i.labels });
  }

  /** Decides and applies; ticks never overlap. */
  tick(): Promise<Decision[]> {
    const run = this.ticking.then(async () => {
      const decisions = this.decider.tick(this.clock.now());
      for (const d of decisions) {
        this.decisions.inc({ action: d.action, service: d.service });
        this.log({ event: 'decision', ...d, at: new Date(d.at).toISOString() });
        if (d.action !== 'hold') for (const c of this.config.clusters) this.unsynced.add(`${c.dc}/${d.service}`);
      }
      this.exportState();
      await this.sync();
      return decisions;
    });
    this.ticking = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Pushes wanted weights to every cluster still out of date, services in recovery order. */
  private async sync(): Promise<void> {
    for (const s of [...this.config.services].sort((a, b) => a.recoveryPriority - b.recoveryPriority || (a.name < b.name ? -1 : 1))) {
      const weights = this.decider.weights(s.name);
      const pending = this.config.clusters.filter((c) => this.unsynced.has(`${c.dc}/${s.name}`) && s.dcs.some((d) => d.name === c.dc));
      await Promise.all(
        pending.map(async (c) => {
          try {
            await this.actuator.setWeights(c.dc, { namespace: s.namespace, name: s.gslb }, weights);
            this.unsynced.delete(`${c.dc}/${s.name}`);
            this.log({ event: 'applied', service: s.name, cluster: c.dc, gslb: `${s.namespace}/${s.gslb}`, weights });
          } catch (err) {
            this.patchErrors.inc({ dc: c.dc });
            this.log({ event: 'apply-failed', service: s.name, cluster: c.dc, error: (err as Error).message.split('\n')[0] });
          }
        }),
      );
      for (const c of this.config.clusters) if (!s.dcs.some((d) => d.name === c.dc)) this.unsynced.delete(`${c.dc}/${s.name}`);
    }
  }

  private exportState(): void {
    for (const s of this.config.services) {
      const weights = this.decider.weights(s.name);
      for (const d of s.dcs) {
        this.drained.set({ service: s.name, dc: d.name }, this.decider.isDrained(s.name, d.name) ? 1 : 0);
        this.weight.set({ service: s.name, dc: d.name }, weights[d.geoTag] ?? 0);
      }
    }
  }

  state(): unknown {
    return { environment: this.config.environment, dryRun: this.config.dryRun, now: new Date(this.clock.now()).toISOString(), cells: this.decider.state(), weights: Object.fromEntries(this.config.services.map((s) => [s.name, this.decider.weights(s.name)])), unsynced: [...this.unsynced].sort() };
  }
}
