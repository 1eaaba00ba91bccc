import { describe, expect, it } from 'vitest';
import { QuorumLease, type ElectionTiming, type LeaseApi, type LeaseResult, type LeaseSpec, type StoredLease } from '../src/index.js';

/**
 * The API servers of three DC clusters, in memory: one Lease per cluster with a
 * resourceVersion, create refused when present, update refused on a stale resourceVersion —
 * what kube-apiserver does. Each replica sees them through its own reachability.
 */
class FakeClusters {
  private rv = 0;
  readonly leases = new Map<string, StoredLease>();
  writes = 0;

  api(reachable: () => ReadonlySet<string>): LeaseApi {
    const down = <T>(dc: string): LeaseResult<T> | undefined =>
      reachable().has(dc) ? undefined : { ok: false, error: { code: 'ORCHESTRATOR_LEASE_UNREACHABLE', message: `${dc}: connection refused` } };
    return {
      get: (dc) => Promise.resolve(down<StoredLease | undefined>(dc) ?? { ok: true, value: this.leases.get(dc) }),
      create: (dc, spec) => {
        const d = down<StoredLease>(dc);
        if (d) return Promise.resolve(d);
        if (this.leases.has(dc)) return Promise.resolve({ ok: false, error: { code: 'ORCHESTRATOR_LEASE_CONFLICT', message: 'already exists' } });
        return Promise.resolve({ ok: true, value: this.write(dc, spec) });
      },
      update: (dc, resourceVersion, spec) => {
        const d = down<StoredLease>(dc);
        if (d) return Promise.resolve(d);
        if (this.leases.get(dc)?.resourceVersion !== resourceVersion)
          return Promise.resolve({ ok: false, error: { code: 'ORCHESTRATOR_LEASE_CONFLICT', message: 'the object has been modified' } });
        return Promise.resolve({ ok: true, value: this.write(dc, spec) });
      },
    };
  }

  private write(dc: string, spec: LeaseSpec): StoredLease {
    this.writes++;
    const l = { resourceVersion: String(++this.rv), spec };
    this.leases.set(dc, l);
    return l;
  }

  holder(dc: string): string | undefined {
    return this.leases.get(dc)?.spec.holderIdentity;
  }
}

const DCS = ['dc1', 'dc2', 'dc3'];
const timing: ElectionTiming = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };

function world() {
  let t = 0;
  const clock = { now: () => t };
  const clusters = new FakeClusters();
  const replica = (id: string, reach: Set<string> = new Set(DCS)) => {
    const r = { reach, lease: undefined as unknown as QuorumLease };
    r.lease = new QuorumLease(
      id,
      DCS,
      clusters.api(() => r.reach),
      timing,
      clock,
      () => 1_800_000_000_000 + t,
    );
    return r;
  };
  return { clusters, replica, advance: (ms: number) => (t += ms), now: () => t };
}

describe('quorum lease', () => {
  it('a lone replica creates the Lease in every cluster and leads with all three held', async () => {
    const w = world();
    const a = w.replica('a');
    expect(a.lease.isLeader()).toBe(false);
    expect(await a.lease.round()).toEqual({ action: 'became-leader', held: DCS, majority: 2 });
    expect(DCS.map((dc) => w.clusters.holder(dc))).toEqual(['a', 'a', 'a']);
    expect(w.clusters.leases.get('dc1')!.spec).toMatchObject({ leaseDurationSeconds: 15, leaseTransitions: 0, renewTime: '2027-01-15T08:00:00.000000Z' });
    // Renewals keep it, and report no change.
    w.advance(2000);
    expect(await a.lease.round()).toBeUndefined();
    expect(a.lease.isLeader()).toBe(true);
  });

  it('a standby never takes an unexpired Lease; after the leader dies it takes over between 15 s and 15 s + 2 retry periods', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await a.lease.round();
    // The leader renews every 2 s for a minute: the standby sees the resourceVersion change and waits.
    for (let i = 0; i < 30; i++) {
      w.advance(2000);
      await a.lease.round();
      expect(await b.lease.round()).toBeUndefined();
      expect(b.lease.isLeader()).toBe(false);
    }
    const died = w.now(); // a's last renewal was sent at this time
    let tookOver: number | undefined;
    for (let i = 0; i < 20 && tookOver === undefined; i++) {
      w.advance(2000);
      if ((await b.lease.round())?.action === 'became-leader') tookOver = w.now();
    }
    expect(tookOver).toBeDefined();
    expect(tookOver! - died).toBeGreaterThanOrEqual(15_000);
    expect(tookOver! - died).toBeLessThanOrEqual(15_000 + 2 * 2000);
    expect(DCS.map((dc) => w.clusters.holder(dc))).toEqual(['b', 'b', 'b']);
    expect(w.clusters.leases.get('dc1')!.spec.leaseTransitions).toBe(1);
    // The dead leader's own view lapsed long before: it would not act even if it woke up.
    expect(a.lease.isLeader()).toBe(false);
  });

  it('a leader cut off from the majority steps down at its renew deadline, before anyone else can lead (never two leaders)', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await a.lease.round();
    await b.lease.round();
    // a loses dc2 and dc3 (a partition), b still reaches all three.
    a.reach = new Set(['dc1']);
    let aStepped: number | undefined;
    let bLed: number | undefined;
    const start = w.now();
    for (let i = 0; i < 20; i++) {
      w.advance(1000);
      const ca = await a.lease.round();
      if (ca?.action === 'stepped-down') aStepped = w.now();
      if ((await b.lease.round())?.action === 'became-leader') bLed = w.now();
      expect(a.lease.isLeader() && b.lease.isLeader(), `two leaders at ${w.now()} ms`).toBe(false);
    }
    expect(aStepped! - start).toBe(10_000); // the renew deadline after its last good renewal
    expect(bLed! - start).toBeGreaterThanOrEqual(15_000); // the lease duration after b last saw a change
    expect([...b.lease.view().held].sort()).toEqual(['dc2', 'dc3']);
    // a still renews dc1 (it reaches it): a minority, so it stays a standby.
    expect(w.clusters.holder('dc1')).toBe('a');
    expect(a.lease.view()).toMatchObject({ leader: false, held: ['dc1'], majority: 2 });
  });

  it('a replica that reaches only one of three clusters never leads, even with no competitor', async () => {
    const w = world();
    const m = w.replica('m', new Set(['dc2']));
    for (let i = 0; i < 20; i++) {
      expect(await m.lease.round()).toBeUndefined();
      expect(m.lease.isLeader()).toBe(false);
      w.advance(2000);
    }
    expect(m.lease.view().clusters.find((c) => c.dc === 'dc1')!.error!.code).toBe('ORCHESTRATOR_LEASE_UNREACHABLE');
    expect(w.clusters.holder('dc2')).toBe('m');
  });

  it('optimistic concurrency: two replicas acquiring at once never both hold a cluster', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await Promise.all([a.lease.round(), b.lease.round()]);
    const heldA = new Set(a.lease.view().held);
    const heldB = new Set(b.lease.view().held);
    for (const dc of DCS) expect(heldA.has(dc) && heldB.has(dc)).toBe(false);
    expect([a.lease.isLeader(), b.lease.isLeader()].filter(Boolean)).toHaveLength(1);
  });

  it('a split vote (each of three replicas holding one cluster) resolves to one leader', async () => {
    const w = world();
    const reps = ['a', 'b', 'c'].map((id, i) => w.replica(id, new Set([DCS[i]!])));
    for (const r of reps) await r.lease.round();
    expect(DCS.map((dc) => w.clusters.holder(dc))).toEqual(['a', 'b', 'c']);
    // Connectivity returns: on a tie the larger identities yield, and a released Lease goes to whoever takes it first.
    for (const r of reps) r.reach = new Set(DCS);
    let leaders: string[] = [];
    for (let i = 0; i < 10; i++) {
      w.advance(2000);
      for (const r of reps) await r.lease.round();
      leaders = reps.filter((r) => r.lease.isLeader()).map((r) => r.lease.identity);
      expect(leaders.length).toBeLessThanOrEqual(1);
      if (leaders.length === 1) break;
    }
    expect(leaders).toHaveLength(1);
    const leader = reps.find((r) => r.lease.isLeader())!;
    expect(leader.lease.view().held.length).toBeGreaterThanOrEqual(2);
    // It stays the only leader while everyone keeps renewing.
    for (let i = 0; i < 10; i++) {
      w.advance(2000);
      for (const r of reps) await r.lease.round();
      expect(reps.filter((r) => r.lease.isLeader()).map((r) => r.lease.identity)).toEqual([leader.lease.identity]);
    }
  });

  it('a released Lease is taken at the next round, not after the lease duration', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await a.lease.round();
    await b.lease.round();
    await a.lease.release();
    expect(a.lease.isLeader()).toBe(false);
    expect(DCS.map((dc) => w.clusters.holder(dc))).toEqual(['', '', '']);
    w.advance(2000);
    expect(await b.lease.round()).toMatchObject({ action: 'became-leader' });
  });

  it('refuses timings where the holder would outlive the lease others see', () => {
    const api = new FakeClusters().api(() => new Set(DCS));
    expect(() => new QuorumLease('a', DCS, api, { leaseDurationSeconds: 10, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 }, { now: () => 0 })).toThrow(
      RangeError,
    );
  });
});
