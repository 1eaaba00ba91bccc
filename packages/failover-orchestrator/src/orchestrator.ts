/**
 * The running orchestrator: the decider, the actuator, the audit log and the metrics wired
 * together. A tick decides, then applies each decision in the order given (recovery
 * priority), one service at a time across all its clusters, so social network's Gslbs change
 * before telemetry's. Clusters that could not be patched are retried on every tick.
 *
 * With an election (several replicas), only the leader decides and patches; standbys keep
 * receiving alerts, so their view is current when they take over. A new leader (and a single
 * replica when it starts) first reads each service's Gslbs and adopts what they say (drains
 * of the previous leader, or of its own previous run, stay) and the failback back-off kept
 * beside them (backoff.ts), then decides; leadership is checked again before every single patch.
 */
import { appendFileSync } from 'node:fs';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BACKOFF_ANNOTATION, decodeBackoff, encodeBackoff, type BackoffRecord } from './backoff.js';
import type { Config } from './config.js';
import { Decider, type Decision, type WebhookPayload } from './decider.js';
import type { GslbActuator } from './gslb.js';
import type { ElectionView, LeadershipChange, QuorumLease } from './election.js';

export interface AuditEntry {
  readonly time: string;
  readonly event: 'decision' | 'applied' | 'apply-failed' | 'alerts' | 'ignored' | 'leadership' | 'adopted' | 'backoff-invalid';
  readonly dryRun: boolean;
  readonly [k: string]: unknown;
}

export interface Clock {
  now(): number;
}

export type Leadership = { readonly mode: 'single'; readonly leader: true } | ({ readonly mode: 'quorum-lease' } & ElectionView);

/** A Gslb read that hangs (the lost DC's API server) must not stall the new leader's take-over. */
const READ_TIMEOUT_MS = 5_000;
const bounded = <T>(p: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
};

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
  /** Webhook POSTs refused by the bearer-token check (server.ts), by path and reason. */
  readonly webhookRejected: Counter<'path' | 'reason'>;
  private ticking: Promise<void> = Promise.resolve();
  /** Services whose Gslbs this leader has read and adopted in its current term. */
  private readonly adopted = new Set<string>();
  private campaigning = false;
  /** Bumped on every leadership change: Gslb reads from an earlier term are not adopted. */
  private term = 0;

  constructor(
    readonly config: Config,
    private readonly actuator: GslbActuator,
    readonly clock: Clock,
    private readonly auditFile?: string,
    /** Absent: the only replica, always acting (and nothing to adopt). */
    private readonly election?: QuorumLease,
    /** Coded warnings for the operator (stderr in the process). */
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    this.decider = new Decider(config);
    // A single replica adopts the Gslbs at its first tick too: restarted (a crash, a rollout of
    // a new image, a node drain) with an empty memory, it would otherwise export drained=0 for a
    // DC it drained, un-silencing that DC's drop alerts, and its next decision for the service
    // would write the drained DC back to full weight. A dry run has nothing to adopt: what it
    // "patched" lives in its memory (DryRunActuator), empty at the start.
    if (!election && config.dryRun) for (const s of config.services) this.adopted.add(s.name);
    collectDefaultMetrics({ register: this.registry });
    // Prometheus scrapes this gauge: the traffic rules silence a drained DC's drop alerts with it.
    this.drained = new Gauge({
      name: 'topoforge_failover_drained',
      help: '1 while the orchestrator keeps the DC drained for the service',
      labelNames: ['service', 'dc'],
      registers: [this.registry],
    });
    this.weight = new Gauge({
      name: 'topoforge_failover_weight',
      help: 'Gslb weight the orchestrator wants for the DC',
      labelNames: ['service', 'dc'],
      registers: [this.registry],
    });
    this.decisions = new Counter({
      name: 'topoforge_failover_decisions_total',
      help: 'decisions by action',
      labelNames: ['action', 'service'],
      registers: [this.registry],
    });
    this.alerts = new Counter({
      name: 'topoforge_failover_alerts_received_total',
      help: 'alerts received by status',
      labelNames: ['status'],
      registers: [this.registry],
    });
    this.patchErrors = new Counter({
      name: 'topoforge_failover_gslb_patch_errors_total',
      help: 'failed Gslb patches by DC cluster',
      labelNames: ['dc'],
      registers: [this.registry],
    });
    this.webhookRejected = new Counter({
      name: 'topoforge_failover_webhook_rejected_total',
      help: 'webhook POSTs refused: reason missing (no bearer token), wrong (not the token) or token-unavailable (the token file cannot be used)',
      labelNames: ['path', 'reason'],
      registers: [this.registry],
    });
    // At 0 from the start: prom-client creates a labelled series at its first inc, already at 1,
    // which increase() reads as no change — traffic-alerts' FailoverWebhookRejected and
    // FailoverAlertsNotReceived would miss the first refused or received webhook.
    for (const reason of ['missing', 'wrong', 'token-unavailable']) this.webhookRejected.inc({ path: '/alerts', reason }, 0);
    for (const status of ['firing', 'resolved']) this.alerts.inc({ status }, 0);
    const isLeader = () => this.isLeader();
    const view = () => this.election?.view();
    new Gauge({
      name: 'topoforge_failover_leader',
      help: '1 while this replica decides and patches Gslbs (always 1 with a single replica)',
      registers: [this.registry],
      collect() {
        this.set(isLeader() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'topoforge_failover_lease_held',
      help: '1 while this replica holds the orchestrator Lease in the DC cluster',
      labelNames: ['dc'],
      registers: [this.registry],
      collect() {
        for (const c of view()?.clusters ?? []) this.set({ dc: c.dc }, c.held ? 1 : 0);
      },
    });
    this.exportState();
  }

  isLeader(): boolean {
    return this.election ? this.election.isLeader() : true;
  }

  leadership(): Leadership {
    return this.election ? { mode: 'quorum-lease', ...this.election.view() } : { mode: 'single', leader: true };
  }

  /**
   * One election round (the process runs it every retry period, apart from ticks so a slow
   * Gslb patch never delays a renewal). A new term starts from the Gslbs: nothing adopted, nothing pending.
   */
  async campaign(): Promise<LeadershipChange | undefined> {
    // Rounds never overlap: two concurrent writes of our own would conflict and drop a hold.
    if (!this.election || this.campaigning) return undefined;
    this.campaigning = true;
    try {
      return await this.campaignRound(this.election);
    } finally {
      this.campaigning = false;
    }
  }

  private async campaignRound(election: QuorumLease): Promise<LeadershipChange | undefined> {
    // A hold that lapsed since the last round ends the term even if this round renews it:
    // someone else may have led (and patched) in between, so the Gslbs are adopted again.
    const lapsed = election.change();
    const renewed = await election.round();
    const changes = [lapsed, renewed].filter((c) => c !== undefined);
    for (const change of changes) {
      this.term++;
      this.adopted.clear();
      this.unsynced.clear();
      this.log({ event: 'leadership', action: change.action, identity: election.identity, held: change.held, majority: change.majority });
      this.exportState();
    }
    return changes.at(-1);
  }

  /** Shutdown: a standby can take over at once instead of after the lease duration. */
  async resign(): Promise<void> {
    if (!this.election) return;
    const wasLeader = this.election.isLeader();
    await this.election.release();
    if (wasLeader)
      this.log({
        event: 'leadership',
        action: 'stepped-down',
        identity: this.election.identity,
        held: [],
        majority: this.election.majority,
        reason: 'shutdown',
      });
  }

  /** A new leader reads each service's Gslbs (any reachable cluster) and takes their drains and back-off over. */
  private async adoptPending(): Promise<void> {
    const term = this.term;
    for (const s of this.config.services) {
      if (this.adopted.has(s.name)) continue;
      const reads = await Promise.all(
        s.dcs.map(async (d) => {
          try {
            return { dc: d.name, state: (await bounded(this.actuator.read(d.name, { namespace: s.namespace, name: s.gslb }))) ?? { weights: {} } };
          } catch {
            return undefined;
          }
        }),
      );
      if (term !== this.term) return;
      const ok = reads.filter((r) => r !== undefined);
      // Not one cluster of the service answered: decide nothing for it yet, try again next tick.
      if (ok.length === 0) continue;
      const backoff = this.readBackoff(s, ok);
      // A drain the previous leader applied to only some clusters is still a drain: finish it.
      for (const d of s.dcs)
        this.decider.adopt(
          s.name,
          d.name,
          ok.some((r) => r.state.weights[d.geoTag] === 0),
          this.clock.now(),
          backoff ? (backoff.record.dcs[d.name] ?? { factor: 1 }) : undefined,
        );
      this.adopted.add(s.name);
      for (const c of this.config.clusters) this.unsynced.add(`${c.dc}/${s.name}`);
      this.log({
        event: 'adopted',
        service: s.name,
        from: ok.map((r) => r.dc),
        weights: this.decider.weights(s.name),
        ...(backoff ? { backoff: { from: backoff.dc, at: new Date(backoff.record.at).toISOString(), factors: this.factors(s.name) } } : {}),
      });
    }
  }

  /**
   * The latest valid back-off record of the service's Gslbs. What cannot be used is left out
   * with a coded warning: its DCs start at 1 ×, as after a restore that held.
   */
  private readBackoff(
    s: Config['services'][number],
    reads: readonly { dc: string; state: { backoff?: string } }[],
  ): { dc: string; record: BackoffRecord } | undefined {
    let latest: { dc: string; record: BackoffRecord } | undefined;
    for (const r of reads) {
      if (r.state.backoff === undefined) continue;
      const decoded = decodeBackoff(
        r.state.backoff,
        s.dcs.map((d) => d.name),
        this.clock.now(),
      );
      const problems = decoded.ok ? decoded.problems : [decoded.problem];
      for (const problem of problems) {
        const where = `cluster ${r.dc} Gslb ${s.namespace}/${s.gslb} annotation ${BACKOFF_ANNOTATION}`;
        this.warn(`warning ORCHESTRATOR_BACKOFF_INVALID: ${where}: ${problem}; ignored${decoded.ok ? ' (that DC starts at 1 ×)' : ''}`);
        this.log({ event: 'backoff-invalid', code: 'ORCHESTRATOR_BACKOFF_INVALID', service: s.name, cluster: r.dc, problem });
      }
      if (decoded.ok && (!latest || decoded.record.at > latest.record.at)) latest = { dc: r.dc, record: decoded.record };
    }
    return latest;
  }

  private factors(service: string): Record<string, number> {
    return Object.fromEntries(Object.entries(this.decider.backoffs(service)).map(([dc, b]) => [dc, b.factor]));
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
    this.log({
      event: 'alerts',
      alerts: payload.alerts.map((a) => ({ status: a.status, alertname: a.labels.alertname, service: a.labels.service, dc: a.labels.dc })),
    });
    for (const i of this.decider.ingest(payload, now)) this.log({ event: 'ignored', reason: i.reason, labels: i.labels });
  }

  /** Decides and applies; ticks never overlap. */
  tick(): Promise<Decision[]> {
    const run = this.ticking.then(async () => {
      // A standby decides nothing: its view (alerts) stays current for when it takes over.
      if (!this.isLeader()) return [];
      await this.adoptPending();
      if (!this.isLeader()) return [];
      const decisions = this.decider.tick(this.clock.now(), (s) => this.adopted.has(s));
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
      // With the weights, in the same patch: the next leader reads both from the same Gslb.
      const backoff = encodeBackoff({ at: this.clock.now(), dcs: this.decider.backoffs(s.name) });
      const pending = this.config.clusters.filter((c) => this.unsynced.has(`${c.dc}/${s.name}`) && s.dcs.some((d) => d.name === c.dc));
      await Promise.all(
        pending.map(async (c) => {
          // Leadership can lapse during a tick: a replica that no longer holds a majority patches nothing.
          if (!this.isLeader()) return;
          try {
            await this.actuator.write(c.dc, { namespace: s.namespace, name: s.gslb }, { weights, backoff });
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
    // A standby has no opinion: a former leader's stale drained=1 would silence the rules for a DC the new leader restored.
    if (!this.isLeader()) {
      this.drained.reset();
      this.weight.reset();
      return;
    }
    for (const s of this.config.services) {
      const weights = this.decider.weights(s.name);
      for (const d of s.dcs) {
        this.drained.set({ service: s.name, dc: d.name }, this.decider.isDrained(s.name, d.name) ? 1 : 0);
        this.weight.set({ service: s.name, dc: d.name }, weights[d.geoTag] ?? 0);
      }
    }
  }

  state(): unknown {
    return {
      environment: this.config.environment,
      dryRun: this.config.dryRun,
      leadership: this.leadership(),
      now: new Date(this.clock.now()).toISOString(),
      cells: this.decider.state(),
      weights: Object.fromEntries(this.config.services.map((s) => [s.name, this.decider.weights(s.name)])),
      unsynced: [...this.unsynced].sort(),
    };
  }
}
