import { describe, expect, it } from 'vitest';
import {
  Orchestrator,
  QuorumLease,
  type Config,
  type GslbActuator,
  type GslbRef,
  type GslbState,
  type LeaseApi,
  type LeaseSpec,
  type StoredLease,
  type WebhookAlert,
} from '../src/index.js';

/** Three clusters' Leases (see election.test.ts for the full fake) and their Gslbs. */
class World {
  t = 0;
  private rv = 0;
  readonly leases = new Map<string, StoredLease>();
  readonly gslbs = new Map<string, GslbState>();
  readonly patches: { by: string; dc: string; gslb: string; weights: Record<string, number> }[] = [];
  /** Every service's Gslb in every DC, nothing drained. */
  undrained(): void {
    for (const [dc, s] of DCS.flatMap((dc) => config.services.map((s) => [dc, s] as const)))
      this.gslbs.set(`${dc}/${s.namespace}/${s.gslb}`, { weights: { a: 10, b: 10, c: 10 } });
  }
  /** Called inside every patch (to let time pass mid-tick). */
  onPatch: () => void = () => undefined;

  leaseApi(reach: () => ReadonlySet<string>): LeaseApi {
    const write = (dc: string, spec: LeaseSpec): StoredLease => {
      const l = { resourceVersion: String(++this.rv), spec };
      this.leases.set(dc, l);
      return l;
    };
    const down = (dc: string) =>
      reach().has(dc) ? undefined : ({ ok: false, error: { code: 'ORCHESTRATOR_LEASE_UNREACHABLE', message: 'refused' } } as const);
    return {
      get: (dc) => Promise.resolve(down(dc) ?? { ok: true, value: this.leases.get(dc) }),
      create: (dc, spec) =>
        Promise.resolve(
          down(dc) ??
            (this.leases.has(dc) ? { ok: false, error: { code: 'ORCHESTRATOR_LEASE_CONFLICT', message: 'exists' } } : { ok: true, value: write(dc, spec) }),
        ),
      update: (dc, rv, spec) =>
        Promise.resolve(
          down(dc) ??
            (this.leases.get(dc)?.resourceVersion !== rv
              ? { ok: false, error: { code: 'ORCHESTRATOR_LEASE_CONFLICT', message: 'modified' } }
              : { ok: true, value: write(dc, spec) }),
        ),
    };
  }

  actuator(by: string): GslbActuator {
    return {
      write: (dc: string, ref: GslbRef, state: GslbState) => {
        this.onPatch();
        this.patches.push({ by, dc, gslb: `${ref.namespace}/${ref.name}`, weights: { ...state.weights } });
        this.gslbs.set(`${dc}/${ref.namespace}/${ref.name}`, { ...state, weights: { ...state.weights } });
        return Promise.resolve();
      },
      read: (dc: string, ref: GslbRef) => Promise.resolve(this.gslbs.get(`${dc}/${ref.namespace}/${ref.name}`)),
    };
  }

  replica(id: string, cfg: Config) {
    const r = { reach: new Set(DCS) as Set<string>, orchestrator: undefined as unknown as Orchestrator };
    const lease = new QuorumLease(
      id,
      DCS,
      this.leaseApi(() => r.reach),
      { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
      { now: () => this.t },
      () => this.t,
    );
    r.orchestrator = new Orchestrator(cfg, this.actuator(id), { now: () => this.t }, undefined, lease);
    return r;
  }
}

const DCS = ['a', 'b', 'c'];
const dcs = DCS.map((name) => ({ name, geoTag: name, weight: 10 }));
const config: Config = {
  environment: 'test',
  dryRun: false,
  timing: { confirmSeconds: 60, minDrainedSeconds: 300, failbackSeconds: 60 },
  maxDrainedFraction: 0.5,
  quorum: { min: 1 },
  election: {
    replicas: ['a', 'b'],
    namespace: 'platform',
    leaseName: 'failover-orchestrator',
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
  },
  clusters: DCS.map((dc) => ({ dc, context: dc })),
  services: [
    { name: 'social-network', recoveryPriority: 1, namespace: 'social', gslb: 'social-network', dcs },
    { name: 'telemetry', recoveryPriority: 2, namespace: 'telemetry', gslb: 'telemetry', dcs },
  ],
};
const alert = (service: string, dc: string): WebhookAlert => ({
  status: 'firing',
  labels: { alertname: 'TrafficDrop', service, dc, action: 'failover' },
  fingerprint: `${service}/${dc}`,
});
const send = (o: Orchestrator, ...alerts: WebhookAlert[]) => o.receive({ version: '4', status: 'firing', receiver: 'r', alerts });

describe('orchestrator replicas: only the leader acts', () => {
  it('a standby keeps its view but decides and patches nothing; the leader drains; on take-over the new leader adopts the Gslbs and acts on current alerts', async () => {
    const w = new World();
    const A = w.replica('ra', config);
    const B = w.replica('rb', config);
    w.undrained();
    // Overlapping rounds are refused (their writes would conflict with each other): one round, one change.
    const [first, overlapping] = await Promise.all([A.orchestrator.campaign(), A.orchestrator.campaign()]);
    expect(first).toMatchObject({ action: 'became-leader' });
    expect(overlapping).toBeUndefined();
    expect(A.orchestrator.auditLog().filter((e) => e.event === 'leadership')).toHaveLength(1);
    expect(await B.orchestrator.campaign()).toBeUndefined();
    expect(B.orchestrator.leadership()).toMatchObject({ mode: 'quorum-lease', leader: false, held: [] });
    expect(await B.orchestrator.registry.getSingleMetricAsString('topoforge_failover_leader')).toContain('topoforge_failover_leader 0');
    expect(await A.orchestrator.registry.getSingleMetricAsString('topoforge_failover_leader')).toContain('topoforge_failover_leader 1');

    // Both receive the alerts (every replica is a webhook receiver).
    send(A.orchestrator, alert('social-network', 'b'));
    send(B.orchestrator, alert('social-network', 'b'));
    w.t = 60_000;
    await A.orchestrator.campaign();
    await B.orchestrator.campaign();
    expect((await A.orchestrator.tick()).map((d) => `${d.action} ${d.service}/${d.dc}`)).toEqual(['drain social-network/b']);
    expect(await B.orchestrator.tick()).toEqual([]);
    expect(w.patches.every((p) => p.by === 'ra')).toBe(true);
    // A adopted the Gslbs (3 clusters × 2 services) then patched social-network's drain everywhere.
    expect(
      w.patches
        .filter((p) => p.gslb === 'social/social-network' && p.weights.b === 0)
        .map((p) => p.dc)
        .sort(),
    ).toEqual(DCS);

    // A dies. Alerts keep arriving at B only.
    send(B.orchestrator, alert('telemetry', 'b'));
    const died = w.t;
    let tookOver: number | undefined;
    for (let i = 0; i < 15 && tookOver === undefined; i++) {
      w.t += 2000;
      if ((await B.orchestrator.campaign())?.action === 'became-leader') tookOver = w.t;
    }
    expect(tookOver! - died).toBeLessThanOrEqual(15_000 + 4000);
    const before = w.patches.length;
    // First tick of the new term: the Gslbs are adopted (social-network/b stays drained, not decided
    // again); telemetry/b's alert has fired for less than confirmSeconds, so nothing is decided yet.
    expect(await B.orchestrator.tick()).toEqual([]);
    while (w.t < died + 60_000) {
      w.t += 2000;
      await B.orchestrator.campaign();
    }
    const decisions = await B.orchestrator.tick();
    expect(decisions.map((d) => `${d.action} ${d.service}/${d.dc}`)).toEqual(['drain telemetry/b']);
    expect(B.orchestrator.decider.isDrained('social-network', 'b')).toBe(true);
    const after = w.patches.slice(before);
    expect(after.every((p) => p.by === 'rb')).toBe(true);
    for (const dc of DCS) {
      expect(w.gslbs.get(`${dc}/telemetry/telemetry`)?.weights).toEqual({ a: 10, b: 0, c: 10 });
      expect(w.gslbs.get(`${dc}/social/social-network`)?.weights).toEqual({ a: 10, b: 0, c: 10 });
    }
    expect(
      after
        .filter((p) => p.gslb === 'telemetry/telemetry' && p.weights.b === 0)
        .map((p) => p.dc)
        .sort(),
    ).toEqual(DCS);
    const events = B.orchestrator.auditLog().filter((e) => e.event === 'leadership' || e.event === 'adopted');
    expect(events[0]).toMatchObject({ event: 'leadership', action: 'became-leader', identity: 'rb', majority: 2 });
    expect((events[0]!.held as string[]).length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.event === 'adopted').map((e) => e.service)).toEqual(['social-network', 'telemetry']);
    expect((B.orchestrator.state() as { leadership: { leader: boolean } }).leadership.leader).toBe(true);
  });

  it('a replica that cannot hold a majority never patches, and a leader whose lease lapses mid-tick stops patching', async () => {
    const w = new World();
    const M = w.replica('rm', config);
    M.reach = new Set(['c']);
    send(M.orchestrator, alert('social-network', 'b'));
    for (let i = 0; i < 10; i++) {
      w.t += 30_000;
      await M.orchestrator.campaign();
      expect(M.orchestrator.leadership()).toMatchObject({ leader: false, held: ['c'] });
      expect(await M.orchestrator.tick()).toEqual([]);
    }
    expect(w.patches).toEqual([]);

    const L = w.replica('rl', config);
    L.reach = new Set(['a', 'b']);
    send(L.orchestrator, alert('social-network', 'b'), alert('telemetry', 'b'));
    w.t += 60_000;
    await L.orchestrator.campaign();
    expect(L.orchestrator.isLeader()).toBe(true);
    // Each patch takes 6 s here: after the second, the renew deadline (10 s) has passed.
    w.onPatch = () => (w.t += 6000);
    await L.orchestrator.tick();
    expect(w.patches.length).toBe(2);
    expect(L.orchestrator.isLeader()).toBe(false);
    // The next round renews (nobody else took the Leases), but the lapse ended the term: both are audited.
    expect(await L.orchestrator.campaign()).toMatchObject({ action: 'became-leader' });
    expect(
      L.orchestrator
        .auditLog()
        .filter((e) => e.event === 'leadership')
        .map((e) => e.action),
    ).toEqual(['became-leader', 'stepped-down', 'became-leader']);
  });

  it('a new leader keeps the failback back-off of the old one: it is read from the Gslbs with the drains', async () => {
    const w = new World();
    const A = w.replica('ra', config);
    const B = w.replica('rb', config);
    w.undrained();
    const at = async (t: number, o: Orchestrator) => {
      w.t = t;
      await o.campaign();
      return (await o.tick()).map((d) => `${d.action} ${d.service}/${d.dc}: ${d.reason}`);
    };
    await A.orchestrator.campaign();
    send(A.orchestrator, alert('social-network', 'b'));
    expect(await at(60_000, A.orchestrator)).toEqual(['drain social-network/b: TrafficDrop kept firing for 60s or more']);
    send(
      A.orchestrator,
      { ...alert('social-network', 'b'), status: 'resolved' },
      { ...alert('social-network', 'b'), labels: { alertname: 'TrafficFailbackReady', service: 'social-network', dc: 'b' }, fingerprint: 'ready' },
    );
    for (let t = 62_000; t < 360_000; t += 2000) await at(t, A.orchestrator);
    expect(await at(360_000, A.orchestrator)).toEqual([expect.stringMatching(/^restore social-network\/b: /)]);
    // A dies; B leads, and the DC drops again soon after its restore.
    while (!B.orchestrator.isLeader()) {
      w.t += 2000;
      await B.orchestrator.campaign();
    }
    send(B.orchestrator, { ...alert('social-network', 'b'), fingerprint: 'again' });
    const tookOver = w.t;
    expect(await at(tookOver, B.orchestrator)).toEqual([]);
    expect(B.orchestrator.auditLog().find((e) => e.event === 'adopted' && e.service === 'social-network')).toMatchObject({
      backoff: { factors: { a: 1, b: 1, c: 1 } },
    });
    for (let t = tookOver + 2000; t < tookOver + 60_000; t += 2000) await at(t, B.orchestrator);
    const again = await at(tookOver + 60_000, B.orchestrator);
    expect(again).toEqual([expect.stringMatching(/^drain social-network\/b: .*restored only \d+s before: stays drained at least 600s \(back-off ×2\)$/)]);
    expect(JSON.parse(w.gslbs.get('c/social/social-network')!.backoff!)).toMatchObject({
      dcs: { b: { factor: 2, restoredAt: new Date(360_000).toISOString() } },
    });
  });

  it('a replica leading again adopts the drain another leader made meanwhile: counted from its take-over, at that drain’s back-off, not from its own older drain', async () => {
    const w = new World();
    const A = w.replica('ra', config);
    const B = w.replica('rb', config);
    w.undrained();
    // Every replica receives every alert.
    const both = (...alerts: WebhookAlert[]) => [A, B].forEach((r) => send(r.orchestrator, ...alerts));
    const ready = (fingerprint: string, status: 'firing' | 'resolved' = 'firing'): WebhookAlert => ({
      status,
      labels: { alertname: 'TrafficFailbackReady', service: 'social-network', dc: 'b' },
      fingerprint,
    });
    const step = async (leader: typeof A) => {
      w.t += 2000;
      await A.orchestrator.campaign();
      await B.orchestrator.campaign();
      return (await leader.orchestrator.tick()).filter((d) => d.service === 'social-network').map((d) => d.action);
    };
    const leads = async (r: typeof A) => {
      while (!r.orchestrator.isLeader()) await step(r);
      return w.t;
    };
    const until = async (r: typeof A, action: 'drain' | 'restore', limit: number) => {
      while (w.t < limit) if ((await step(r)).includes(action)) return w.t;
      return undefined;
    };
    await A.orchestrator.campaign();
    both(alert('social-network', 'b'));
    expect(await until(A, 'drain', 70_000)).toBe(60_000);
    // A is cut off; B leads, restores b once its hysteresis is over, b drops again soon after: ×2.
    A.reach = new Set();
    both({ ...alert('social-network', 'b'), status: 'resolved' }, ready('ready'));
    const bLeads = await leads(B);
    expect(await until(B, 'restore', bLeads + 310_000)).toBe(bLeads + 300_000);
    both(ready('ready', 'resolved'), { ...alert('social-network', 'b'), fingerprint: 'again' });
    const drainedAgain = await until(B, 'drain', w.t + 70_000);
    expect(B.orchestrator.auditLog().findLast((e) => e.event === 'decision')?.reason).toMatch(/back-off ×2/);
    both({ ...alert('social-network', 'b'), fingerprint: 'again', status: 'resolved' }, ready('ready2'));
    // B is cut off in turn; A leads again, with its own drain of b (at 60 s) still in memory.
    B.reach = new Set();
    A.reach = new Set(DCS);
    const aLeads = await leads(A);
    expect(aLeads - drainedAgain!).toBeLessThan(60_000);
    // The drain A adopts is B's at ×2: b stays drained 600 s from A's take-over.
    const restored = await until(A, 'restore', aLeads + 700_000);
    expect(restored).toBe(aLeads + 600_000);
  });

  it('a single replica (no election) acts at once; restarted, it adopts its earlier drains from the Gslbs instead of restoring them', async () => {
    const w = new World();
    const { election: _unused, ...single } = config;
    const o = new Orchestrator(single, w.actuator('solo'), { now: () => w.t });
    expect(o.isLeader()).toBe(true);
    expect(await o.campaign()).toBeUndefined();
    send(o, alert('social-network', 'b'));
    w.t = 60_000;
    expect((await o.tick()).map((d) => d.action)).toEqual(['drain']);
    // The drain in every cluster; telemetry's adopted weights (nothing drained) pushed as a new leader's are.
    expect(w.patches.filter((p) => p.gslb === 'social/social-network').map((p) => p.dc)).toEqual(DCS);
    expect(w.patches.filter((p) => p.gslb === 'telemetry/telemetry').map((p) => p.weights)).toEqual(DCS.map(() => ({ a: 10, b: 10, c: 10 })));
    expect(o.auditLog().some((e) => e.event === 'leadership')).toBe(false);
    expect(w.gslbs.get('a/social/social-network')?.weights).toEqual({ a: 10, b: 0, c: 10 });

    // The process restarts (a new image, a node drain): a new orchestrator, an empty memory.
    const again = new Orchestrator(single, w.actuator('solo-2'), { now: () => w.t });
    w.t = 120_000;
    expect(await again.tick()).toEqual([]);
    expect(again.auditLog().find((e) => e.event === 'adopted')).toMatchObject({ service: 'social-network', weights: { a: 10, b: 0, c: 10 } });
    expect(again.decider.isDrained('social-network', 'b')).toBe(true);
    expect(await again.registry.getSingleMetricAsString('topoforge_failover_drained')).toContain(
      'topoforge_failover_drained{service="social-network",dc="b"} 1',
    );
    // c drops now: draining it too would leave one DC of three (over maxDrainedFraction), so it
    // holds, and b stays drained. Before, the restarted replica drained c and wrote b back to 10.
    send(again, alert('social-network', 'c'));
    w.t = 180_000;
    expect((await again.tick()).map((d) => d.action)).toEqual(['hold']);
    for (const dc of DCS) expect(w.gslbs.get(`${dc}/social/social-network`)?.weights).toEqual({ a: 10, b: 0, c: 10 });
  });
});
