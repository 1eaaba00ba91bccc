/**
 * The decisions, free of I/O: alerts in (Alertmanager webhook v4), a clock, drains and
 * failbacks out. Kept pure so every rule below is unit-tested without HTTP or Kubernetes.
 *
 * - Drain (service, dc) only on that DC's own failover alert (TrafficDrop/TrafficVanished
 *   carry `dc`; the rules already compare the DC with the service's other DCs), once it has
 *   kept firing for `confirmSeconds` (confirmation) and, with a quorum label, was reported
 *   by at least `quorum.min` distinct evaluators (a partitioned Prometheus alone cannot drain).
 * - Never drain the last serving DC of a service, nor more than `maxDrainedFraction` of its
 *   DCs: a drop most DCs share is not one DC's own.
 * - Act in recovery-priority order (social network first), DCs in configuration order.
 * - Fail back once TrafficFailbackReady has fired for `failbackSeconds`, the DC has been
 *   drained for at least `minDrainedSeconds` (hysteresis) and no failover alert fires for it.
 * - Back off a DC that failed back too early: drained again before its restore held as long
 *   as it had to stay drained, it must stay drained twice as long next time (up to
 *   `MAX_BACKOFF` ×); a restore that held resets it. Probes can pass while clients still
 *   cannot reach the DC, and every restore sends them there until the drop confirms again.
 */
import type { CellBackoff } from './backoff.js';
import type { Config } from './config.js';

export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly fingerprint?: string;
}
export interface WebhookPayload {
  readonly version: string;
  readonly status: string;
  readonly receiver: string;
  readonly alerts: readonly WebhookAlert[];
}

export const FAILOVER_ALERTS = new Set(['TrafficDrop', 'TrafficVanished']);
export const FAILBACK_ALERT = 'TrafficFailbackReady';
/** The longest a flapping DC stays drained: this many times `minDrainedSeconds` (2 h with the default 15 min). */
export const MAX_BACKOFF = 8;

interface Seen {
  readonly alertname: string;
  readonly reporter: string;
  /** When the orchestrator first saw it firing (its own clock: confirmation is measured here). */
  readonly since: number;
  readonly labels: Readonly<Record<string, string>>;
}

interface Cell {
  drained: boolean;
  drainedAt?: number;
  /** Firing alerts by fingerprint. */
  readonly firing: Map<string, Seen>;
  /** Last "hold" reason logged, so a held drain is audited once per change. */
  held?: string;
  /** When it was last restored: a drain soon after means the failback was premature. */
  restoredAt?: number;
  /** `minDrainedSeconds` times this is how long the current drain lasts at least (1, 2, 4 … MAX_BACKOFF). */
  backoff: number;
}

export interface Evidence {
  readonly alertname: string;
  readonly reporter: string;
  readonly firingSinceSeconds: number;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Decision {
  readonly at: number;
  readonly action: 'drain' | 'restore' | 'hold';
  readonly service: string;
  readonly dc: string;
  readonly recoveryPriority: number;
  readonly reason: string;
  readonly evidence: readonly Evidence[];
  /** The service's weights per geo tag after the decision. */
  readonly weights: Readonly<Record<string, number>>;
}

export interface Ignored {
  readonly reason: string;
  readonly labels: Readonly<Record<string, string>>;
}

const key = (service: string, dc: string): string => `${service}\u0000${dc}`;

export class Decider {
  private readonly cells = new Map<string, Cell>();
  private readonly services: Config['services'];

  constructor(private readonly config: Config) {
    this.services = [...config.services].sort((a, b) => a.recoveryPriority - b.recoveryPriority || (a.name < b.name ? -1 : 1));
    for (const s of this.services) for (const d of s.dcs) this.cells.set(key(s.name, d.name), { drained: false, firing: new Map(), backoff: 1 });
  }

  /** Records a webhook's alerts; returns those it cannot place (unknown service or DC). */
  ingest(payload: WebhookPayload, now: number): Ignored[] {
    const ignored: Ignored[] = [];
    for (const a of payload.alerts) {
      const { alertname = '', service = '', dc = '' } = a.labels;
      const cell = this.cells.get(key(service, dc));
      if (!cell) {
        ignored.push({ reason: `no (service, dc) ${service || '?'}/${dc || '?'} in the configuration`, labels: a.labels });
        continue;
      }
      if (!FAILOVER_ALERTS.has(alertname) && alertname !== FAILBACK_ALERT) {
        ignored.push({ reason: `alert ${alertname} is not a failover or failback signal`, labels: a.labels });
        continue;
      }
      const fp = a.fingerprint ?? JSON.stringify(Object.entries(a.labels).sort());
      if (a.status === 'resolved') cell.firing.delete(fp);
      else if (!cell.firing.has(fp)) {
        const reporter = this.config.quorum.label ? (a.labels[this.config.quorum.label] ?? '') : '';
        cell.firing.set(fp, { alertname, reporter, since: now, labels: a.labels });
      }
    }
    return ignored;
  }

  isDrained(service: string, dc: string): boolean {
    return this.cells.get(key(service, dc))?.drained ?? false;
  }

  /** Weights per geo tag of a service as the orchestrator wants them. */
  weights(service: string): Record<string, number> {
    const s = this.services.find((x) => x.name === service)!;
    return Object.fromEntries(s.dcs.map((d) => [d.geoTag, this.isDrained(service, d.name) ? 0 : d.weight]));
  }

  /** A snapshot for /v1/state and the metrics. */
  state(): { service: string; dc: string; drained: boolean; drainedAt?: number; firing: string[] }[] {
    return this.services.flatMap((s) =>
      s.dcs.map((d) => {
        const c = this.cells.get(key(s.name, d.name))!;
        return {
          service: s.name,
          dc: d.name,
          drained: c.drained,
          ...(c.drainedAt !== undefined ? { drainedAt: c.drainedAt } : {}),
          firing: [...c.firing.values()].map((f) => f.alertname).sort(),
        };
      }),
    );
  }

  /** What the back-off needs of each DC of a service, to persist it (backoff.ts). */
  backoffs(service: string): Record<string, CellBackoff> {
    const s = this.services.find((x) => x.name === service)!;
    return Object.fromEntries(
      s.dcs.map((d) => {
        const c = this.cells.get(key(service, d.name))!;
        return [d.name, { factor: c.backoff, ...(c.restoredAt !== undefined ? { restoredAt: c.restoredAt } : {}) }];
      }),
    );
  }

  /**
   * Takes over what the Gslbs say (a new leader continues the previous one's drains). A DC
   * adopted as drained counts as drained from `now`: the previous leader's drain time is not
   * known, so hysteresis restarts rather than failing back early — also when this replica's
   * memory already says drained: that is its own drain of an earlier term, and another leader
   * may have restored and drained the DC since. `backoff`, when the Gslbs had one, replaces the
   * DC's back-off: a new leader must not forget a premature failback.
   */
  adopt(service: string, dc: string, drained: boolean, now: number, backoff?: CellBackoff): void {
    const c = this.cells.get(key(service, dc));
    if (!c) return;
    if (backoff) {
      c.backoff = backoff.factor;
      if (backoff.restoredAt !== undefined) c.restoredAt = backoff.restoredAt;
      else delete c.restoredAt;
    }
    if (!drained && !c.drained) return;
    c.drained = drained;
    c.held = undefined;
    if (drained) c.drainedAt = now;
    else delete c.drainedAt;
  }

  /** Decides what to change now, in recovery-priority order; applies it to the state. `only` limits it to some services. */
  tick(now: number, only: (service: string) => boolean = () => true): Decision[] {
    const out: Decision[] = [];
    const t = this.config.timing;
    for (const s of this.services.filter((x) => only(x.name))) {
      const evidence = (c: Cell, names: (n: string) => boolean): Evidence[] =>
        [...c.firing.values()]
          .filter((f) => names(f.alertname))
          .map((f) => ({ alertname: f.alertname, reporter: f.reporter, firingSinceSeconds: Math.round((now - f.since) / 1000), labels: f.labels }));
      const decide = (action: Decision['action'], dc: string, reason: string, ev: Evidence[]) =>
        out.push({ at: now, action, service: s.name, dc, recoveryPriority: s.recoveryPriority, reason, evidence: ev, weights: this.weights(s.name) });
      // Failbacks first: a DC coming back adds capacity before another leaves.
      for (const d of s.dcs) {
        const c = this.cells.get(key(s.name, d.name))!;
        if (!c.drained) continue;
        const ready = [...c.firing.values()].filter((f) => f.alertname === FAILBACK_ALERT && now - f.since >= t.failbackSeconds * 1000);
        const failing = [...c.firing.values()].some((f) => FAILOVER_ALERTS.has(f.alertname));
        if (ready.length > 0 && !failing && now - c.drainedAt! >= t.minDrainedSeconds * 1000 * c.backoff) {
          const drainedFor = Math.round((now - c.drainedAt!) / 1000);
          c.drained = false;
          delete c.drainedAt;
          c.held = undefined;
          c.restoredAt = now;
          decide(
            'restore',
            d.name,
            `TrafficFailbackReady kept firing for ${t.failbackSeconds}s or more; drained for ${drainedFor}s`,
            evidence(c, (n) => n === FAILBACK_ALERT),
          );
        }
      }
      const total = s.dcs.length;
      const maxDrained = Math.min(total - 1, Math.floor(total * this.config.maxDrainedFraction));
      for (const d of s.dcs) {
        const c = this.cells.get(key(s.name, d.name))!;
        if (c.drained) continue;
        const confirmed = [...c.firing.values()].filter((f) => FAILOVER_ALERTS.has(f.alertname) && now - f.since >= t.confirmSeconds * 1000);
        if (confirmed.length === 0) {
          c.held = undefined;
          continue;
        }
        const reporters = new Set(confirmed.map((f) => f.reporter));
        const ev = evidence(c, (n) => FAILOVER_ALERTS.has(n));
        let hold: string | undefined;
        if (this.config.quorum.label && reporters.size < this.config.quorum.min)
          hold = `quorum not reached: ${reporters.size} of ${this.config.quorum.min} evaluators (${this.config.quorum.label}) report the drop`;
        const drainedNow = s.dcs.filter((x) => this.isDrained(s.name, x.name)).length;
        if (!hold && drainedNow >= maxDrained) {
          hold =
            drainedNow >= total - 1
              ? `never drain the last serving DC of ${s.name}`
              : `${drainedNow} of ${total} DCs already drained (limit ${maxDrained}): a drop this many DCs share is not one DC's own`;
        }
        if (hold) {
          if (c.held !== hold) decide('hold', d.name, hold, ev);
          c.held = hold;
          continue;
        }
        // Dropped again before the last restore held as long as that drain had to last: the
        // failback was premature, so this drain lasts twice as long; a restore that held resets it.
        const premature = c.restoredAt !== undefined && now - c.restoredAt < t.minDrainedSeconds * 1000 * c.backoff;
        const restoredAgo = c.restoredAt === undefined ? 0 : Math.round((now - c.restoredAt) / 1000);
        c.backoff = premature ? Math.min(c.backoff * 2, MAX_BACKOFF) : 1;
        c.drained = true;
        c.drainedAt = now;
        c.held = undefined;
        decide(
          'drain',
          d.name,
          `${[...new Set(confirmed.map((f) => f.alertname))].join('+')} kept firing for ${t.confirmSeconds}s or more` +
            (premature ? `; restored only ${restoredAgo}s before: stays drained at least ${t.minDrainedSeconds * c.backoff}s (back-off ×${c.backoff})` : ''),
          ev,
        );
      }
    }
    return out;
  }
}
