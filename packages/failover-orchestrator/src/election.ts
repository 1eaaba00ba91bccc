/**
 * Which replica acts: a quorum lease over the DC clusters' API servers.
 *
 * Every replica tries to hold a coordination.k8s.io/v1 Lease of the same name in every DC
 * cluster it reaches (create when absent, update with the resourceVersion it read, so two
 * writers never both succeed). It is the leader only while it holds the Lease in a strict
 * majority of the configured clusters. Each cluster's Lease has one holder at a time, so two
 * replicas can never both hold a majority: there is no single point of decision and no split
 * brain, and no infrastructure beyond the API servers the orchestrator already talks to.
 *
 * Time follows client-go's leader election, so clocks of different machines are never
 * compared: a replica counts a cluster as held until `renewDeadlineSeconds` after the moment
 * it *sent* its last successful write (its own clock); another replica takes a Lease over only
 * after it has seen the same resourceVersion unchanged for the Lease's `leaseDurationSeconds`
 * on *its* clock. The gap (lease duration − renew deadline) covers in-flight patches and clock
 * rate drift: the old leader has stopped acting before anyone else may start.
 *
 * Split votes (three replicas holding one cluster each) would never resolve on their own; a
 * replica that is not leader therefore yields the Leases it holds to a candidate it sees
 * holding more of them (ties: the smaller identity wins), by clearing `holderIdentity`.
 */

export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  /** RFC 3339 with microseconds, as the API server stores MicroTime. */
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface StoredLease {
  readonly resourceVersion: string;
  readonly spec: LeaseSpec;
}

export type LeaseErrorCode =
  | 'ORCHESTRATOR_LEASE_CONFLICT'
  | 'ORCHESTRATOR_LEASE_UNREACHABLE'
  | 'ORCHESTRATOR_LEASE_FORBIDDEN'
  | 'ORCHESTRATOR_LEASE_TIMEOUT'
  | 'ORCHESTRATOR_LEASE_FAILED';

export interface LeaseError {
  readonly code: LeaseErrorCode;
  readonly message: string;
}

export type LeaseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: LeaseError };

/** One Lease in each DC cluster (the name and namespace are the implementation's). */
export interface LeaseApi {
  /** `value: undefined` when the Lease does not exist. */
  get(dc: string): Promise<LeaseResult<StoredLease | undefined>>;
  /** `ORCHESTRATOR_LEASE_CONFLICT` when another replica created it first. */
  create(dc: string, spec: LeaseSpec): Promise<LeaseResult<StoredLease>>;
  /** Optimistic concurrency: `ORCHESTRATOR_LEASE_CONFLICT` when the resourceVersion is no longer current. */
  update(dc: string, resourceVersion: string, spec: LeaseSpec): Promise<LeaseResult<StoredLease>>;
}

export interface ElectionTiming {
  /** Written into the Lease: how long others wait, after its last change, before taking it over. */
  readonly leaseDurationSeconds: number;
  /** The holder counts a cluster as held this long after sending its last successful write. */
  readonly renewDeadlineSeconds: number;
  /** How often a replica renews or tries to acquire (also the timeout of one API call). */
  readonly retryPeriodSeconds: number;
}

export interface MonotonicClock {
  /** Milliseconds; only differences are used. */
  now(): number;
}

export interface ClusterLeaseView {
  readonly dc: string;
  readonly held: boolean;
  /** The holder last seen (`''` when released, absent when never read). */
  readonly holder?: string;
  readonly error?: LeaseError;
}

export interface ElectionView {
  readonly identity: string;
  readonly leader: boolean;
  readonly majority: number;
  readonly held: readonly string[];
  readonly clusters: readonly ClusterLeaseView[];
}

export interface LeadershipChange {
  readonly action: 'became-leader' | 'stepped-down';
  readonly held: readonly string[];
  readonly majority: number;
}

interface Observed {
  readonly resourceVersion: string;
  readonly holder: string;
  readonly durationMs: number;
  /** Local time this resourceVersion was first seen: expiry is measured from here. */
  readonly since: number;
}

interface ClusterState {
  observed?: Observed;
  /** Local time until which this replica counts the cluster as held. */
  heldUntil?: number;
  error?: LeaseError;
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

export class QuorumLease {
  private readonly clusters = new Map<string, ClusterState>();
  private wasLeader = false;
  /** After yielding, released Leases are left to the stronger candidate for one lease duration. */
  private yieldedUntil = 0;
  private readonly timing: ElectionTiming;

  constructor(
    readonly identity: string,
    dcs: readonly string[],
    private readonly api: LeaseApi,
    timing: ElectionTiming,
    private readonly clock: MonotonicClock,
    /** Wall time for the Lease's acquireTime/renewTime (informational; never compared across replicas). */
    private readonly wall: () => number = Date.now,
  ) {
    if (timing.renewDeadlineSeconds >= timing.leaseDurationSeconds) throw new RangeError('renewDeadlineSeconds must be below leaseDurationSeconds');
    if (timing.retryPeriodSeconds >= timing.renewDeadlineSeconds) throw new RangeError('retryPeriodSeconds must be below renewDeadlineSeconds');
    this.timing = timing;
    for (const dc of dcs) this.clusters.set(dc, {});
  }

  /** Strict majority of the configured clusters. */
  get majority(): number {
    return Math.floor(this.clusters.size / 2) + 1;
  }

  heldClusters(now = this.clock.now()): string[] {
    return [...this.clusters].filter(([, c]) => c.heldUntil !== undefined && now < c.heldUntil).map(([dc]) => dc);
  }

  /** Checked before every Gslb patch, not only once per tick: leadership can lapse in between. */
  isLeader(now = this.clock.now()): boolean {
    return this.heldClusters(now).length >= this.majority;
  }

  view(): ElectionView {
    const now = this.clock.now();
    const held = new Set(this.heldClusters(now));
    return {
      identity: this.identity,
      leader: held.size >= this.majority,
      majority: this.majority,
      held: [...held],
      clusters: [...this.clusters].map(([dc, c]) => ({
        dc,
        held: held.has(dc),
        ...(c.observed ? { holder: c.observed.holder } : {}),
        ...(c.error ? { error: c.error } : {}),
      })),
    };
  }

  /**
   * One election round: read, renew, acquire or yield every cluster's Lease (in parallel,
   * each call bounded by the retry period so one hanging API server cannot stall the others).
   * Returns the change of leadership this round caused, if any.
   */
  async round(): Promise<LeadershipChange | undefined> {
    const start = this.clock.now();
    await Promise.all([...this.clusters.keys()].map((dc) => this.attempt(dc, start)));
    if (!this.isLeader()) await this.yieldToStronger();
    return this.change();
  }

  /** Re-evaluates leadership against the clock alone (a lapse between rounds). */
  change(): LeadershipChange | undefined {
    const now = this.clock.now();
    const leader = this.isLeader(now);
    if (leader === this.wasLeader) return undefined;
    this.wasLeader = leader;
    return { action: leader ? 'became-leader' : 'stepped-down', held: this.heldClusters(now), majority: this.majority };
  }

  /** On shutdown: clear the holder of every Lease still held, so a standby takes over at once. */
  async release(): Promise<void> {
    const now = this.clock.now();
    await Promise.all(
      [...this.clusters].map(async ([dc, c]) => {
        if (c.heldUntil === undefined || now >= c.heldUntil || !c.observed) return;
        c.heldUntil = undefined;
        await this.bounded(
          this.api.update(dc, c.observed.resourceVersion, {
            holderIdentity: '',
            leaseDurationSeconds: this.timing.leaseDurationSeconds,
            renewTime: microTime(this.wall()),
          }),
        );
      }),
    );
    this.wasLeader = false;
  }

  private bounded<T>(p: Promise<LeaseResult<T>>): Promise<LeaseResult<T>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<LeaseResult<T>>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, error: { code: 'ORCHESTRATOR_LEASE_TIMEOUT', message: `no answer within ${this.timing.retryPeriodSeconds}s` } }),
        this.timing.retryPeriodSeconds * 1000,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private spec(acquired: number, transitions: number): LeaseSpec {
    const wall = this.wall();
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.timing.leaseDurationSeconds,
      acquireTime: microTime(acquired),
      renewTime: microTime(wall),
      leaseTransitions: transitions,
    };
  }

  private held(c: ClusterState, lease: StoredLease, start: number): void {
    c.observed = { resourceVersion: lease.resourceVersion, holder: this.identity, durationMs: this.timing.leaseDurationSeconds * 1000, since: start };
    // From when the write was *sent*: the API server may have applied it any time after.
    c.heldUntil = start + this.timing.renewDeadlineSeconds * 1000;
    delete c.error;
  }

  private async attempt(dc: string, start: number): Promise<void> {
    const c = this.clusters.get(dc)!;
    const got = await this.bounded(this.api.get(dc));
    if (!got.ok) {
      // Keep heldUntil: the hold lapses by itself if renewals keep failing.
      c.error = got.error;
      return;
    }
    const lease = got.value;
    if (!lease) {
      const created = await this.bounded(this.api.create(dc, this.spec(this.wall(), 0)));
      if (created.ok) this.held(c, created.value, start);
      else {
        c.heldUntil = undefined;
        c.error = created.error;
      }
      return;
    }
    const holder = lease.spec.holderIdentity ?? '';
    const durationMs = (lease.spec.leaseDurationSeconds ?? this.timing.leaseDurationSeconds) * 1000;
    if (c.observed?.resourceVersion !== lease.resourceVersion) c.observed = { resourceVersion: lease.resourceVersion, holder, durationMs, since: start };
    delete c.error;
    const mine = holder === this.identity;
    const expired = holder === '' || start - c.observed.since >= durationMs;
    if ((!mine && !expired) || (holder === '' && start < this.yieldedUntil)) {
      c.heldUntil = undefined;
      return;
    }
    // Renewal keeps acquireTime and the transition count; a take-over starts a new term.
    const acquired = mine && lease.spec.acquireTime ? Date.parse(lease.spec.acquireTime) : this.wall();
    const transitions = (lease.spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
    const updated = await this.bounded(this.api.update(dc, lease.resourceVersion, this.spec(acquired, transitions)));
    if (updated.ok) this.held(c, updated.value, start);
    else {
      c.heldUntil = undefined;
      c.error = updated.error;
    }
  }

  /** Not leader: give up our Leases to a candidate that holds more (ties: smaller identity). */
  private async yieldToStronger(): Promise<void> {
    const now = this.clock.now();
    const counts = new Map<string, number>();
    for (const c of this.clusters.values()) {
      const o = c.observed;
      if (!o || o.holder === '' || o.holder === this.identity || now - o.since >= o.durationMs) continue;
      counts.set(o.holder, (counts.get(o.holder) ?? 0) + 1);
    }
    const mine = this.heldClusters(now);
    if (mine.length === 0) return;
    const stronger = [...counts].some(([h, n]) => n > mine.length || (n === mine.length && h < this.identity));
    if (!stronger) return;
    this.yieldedUntil = now + this.timing.leaseDurationSeconds * 1000;
    await Promise.all(
      mine.map(async (dc) => {
        const c = this.clusters.get(dc)!;
        c.heldUntil = undefined;
        const r = await this.bounded(
          this.api.update(dc, c.observed!.resourceVersion, {
            holderIdentity: '',
            leaseDurationSeconds: this.timing.leaseDurationSeconds,
            renewTime: microTime(this.wall()),
          }),
        );
        if (r.ok) c.observed = { resourceVersion: r.value.resourceVersion, holder: '', durationMs: this.timing.leaseDurationSeconds * 1000, since: now };
      }),
    );
  }
}
