import { describe, expect, it } from 'vitest';
import { Decider, type Config, type WebhookAlert } from '../src/index.js';

const dcs = (names: string[]) => names.map((name) => ({ name, geoTag: name, weight: 10 }));
const config = (over: Partial<Config> = {}): Config => ({
  environment: 'test',
  dryRun: true,
  timing: { confirmSeconds: 120, minDrainedSeconds: 900, failbackSeconds: 600 },
  maxDrainedFraction: 0.5,
  quorum: { min: 1 },
  clusters: ['a', 'b', 'c', 'd'].map((dc) => ({ dc, context: dc })),
  services: [
    { name: 'telemetry', recoveryPriority: 2, namespace: 'telemetry', gslb: 'telemetry', dcs: dcs(['a', 'b', 'c', 'd']) },
    { name: 'social-network', recoveryPriority: 1, namespace: 'social', gslb: 'social-network', dcs: dcs(['a', 'b', 'c', 'd']) },
    { name: 'duo', recoveryPriority: 3, namespace: 'duo', gslb: 'duo', dcs: dcs(['a', 'b']) },
  ],
  ...over,
});
const alert = (alertname: string, service: string, dc: string, status: 'firing' | 'resolved' = 'firing', extra: Record<string, string> = {}): WebhookAlert => ({
  status,
  labels: { alertname, service, dc, action: 'failover', ...extra },
  fingerprint: `${alertname}/${service}/${dc}/${extra.prometheus ?? ''}`,
});
const send = (d: Decider, now: number, ...alerts: WebhookAlert[]) => d.ingest({ version: '4', status: 'firing', receiver: 'x', alerts }, now);
const min = 60_000;

describe('decider', () => {
  it('drains only after confirmation, social network first, and never twice', () => {
    const d = new Decider(config());
    send(d, 0, alert('TrafficDrop', 'telemetry', 'a'), alert('TrafficDrop', 'social-network', 'a'));
    expect(d.tick(1 * min)).toEqual([]); // not yet confirmed
    const out = d.tick(2 * min);
    expect(out.map((x) => `${x.action} ${x.service}/${x.dc}`)).toEqual(['drain social-network/a', 'drain telemetry/a']);
    expect(out[0]!.weights).toEqual({ a: 0, b: 10, c: 10, d: 10 });
    expect(out[0]!.evidence[0]).toMatchObject({ alertname: 'TrafficDrop', firingSinceSeconds: 120 });
    expect(d.tick(3 * min)).toEqual([]);
  });

  it('a drop that resolves before confirmation does nothing (hysteresis)', () => {
    const d = new Decider(config());
    send(d, 0, alert('TrafficDrop', 'telemetry', 'a'));
    send(d, 1 * min, alert('TrafficDrop', 'telemetry', 'a', 'resolved'));
    expect(d.tick(5 * min)).toEqual([]);
  });

  it('never drains the last serving DC and never more than the allowed share', () => {
    const d = new Decider(config());
    send(d, 0, alert('TrafficDrop', 'duo', 'a'), alert('TrafficDrop', 'duo', 'b'));
    const out = d.tick(3 * min);
    expect(out.map((x) => `${x.action} ${x.dc}`)).toEqual(['drain a', 'hold b']);
    expect(out[1]!.reason).toContain('never drain the last serving DC');
    expect(d.weights('duo')).toEqual({ a: 0, b: 10 });
    const e = new Decider(config());
    send(e, 0, ...['a', 'b', 'c'].map((dc) => alert('TrafficVanished', 'telemetry', dc)));
    expect(e.tick(3 * min).map((x) => `${x.action} ${x.dc}`)).toEqual(['drain a', 'drain b', 'hold c']);
    expect(e.tick(4 * min)).toEqual([]); // a hold is audited once
  });

  it('backs a flapping DC off up to MAX_BACKOFF × the minimum drain time', () => {
    const d = new Decider(config());
    let t = 0;
    const drained: number[] = [];
    for (let i = 0; i < 6; i++) {
      send(d, t, alert('TrafficDrop', 'duo', 'a'));
      t += 2 * min;
      expect(d.tick(t).map((x) => x.action)).toEqual(['drain']);
      const from = t;
      send(d, t, alert('TrafficDrop', 'duo', 'a', 'resolved'), alert('TrafficFailbackReady', 'duo', 'a'));
      while (!d.tick((t += min)).some((x) => x.action === 'restore'));
      drained.push((t - from) / min);
      send(d, t, alert('TrafficFailbackReady', 'duo', 'a', 'resolved'));
    }
    // 15 min, then twice as long after each premature failback, capped at 8 × 15 min
    expect(drained).toEqual([15, 30, 60, 120, 120, 120]);
  });

  it('adopts a persisted back-off: a drained DC keeps its factor, a recent restore makes the next drain premature, an old one does not', () => {
    // Drained at 4 × by an earlier leader: restored only after 4 × 15 min from the take-over.
    const d = new Decider(config());
    d.adopt('duo', 'a', true, 0, { factor: 4, restoredAt: -10 * min });
    send(d, 0, alert('TrafficFailbackReady', 'duo', 'a'));
    expect(d.tick(59 * min)).toEqual([]);
    expect(d.tick(60 * min).map((x) => x.action)).toEqual(['restore']);
    expect(d.backoffs('duo')).toEqual({ a: { factor: 4, restoredAt: 60 * min }, b: { factor: 1 } });
    // Restored 5 min before the take-over at 2 ×: a drop now lasts at least 4 × 15 min.
    const e = new Decider(config());
    e.adopt('duo', 'a', false, 0, { factor: 2, restoredAt: -5 * min });
    send(e, 0, alert('TrafficDrop', 'duo', 'a'));
    const drain = e.tick(2 * min);
    expect(drain[0]!.reason).toMatch(/restored only 420s before: stays drained at least 3600s \(back-off ×4\)/);
    // A restore long enough ago held: back to 1 ×, as without a restart.
    const f = new Decider(config());
    f.adopt('duo', 'a', false, 0, { factor: 8, restoredAt: -3 * 60 * min });
    send(f, 0, alert('TrafficDrop', 'duo', 'a'));
    expect(f.tick(2 * min)[0]!.reason).not.toMatch(/back-off/);
    expect(f.backoffs('duo').a).toEqual({ factor: 1, restoredAt: -3 * 60 * min });
  });

  it('with a quorum label, one evaluator alone cannot drain', () => {
    const d = new Decider(config({ quorum: { label: 'prometheus', min: 2 } }));
    send(d, 0, alert('TrafficDrop', 'telemetry', 'a', 'firing', { prometheus: 'p1' }));
    expect(d.tick(3 * min).map((x) => x.action)).toEqual(['hold']);
    send(d, 3 * min, alert('TrafficDrop', 'telemetry', 'a', 'firing', { prometheus: 'p2' }));
    expect(d.tick(4 * min).map((x) => x.action)).toEqual([]); // p2 not yet confirmed
    expect(d.tick(5 * min).map((x) => x.action)).toEqual(['drain']);
  });

  it('fails back after the failback signal held long enough and the minimum drain time passed', () => {
    const d = new Decider(config());
    send(d, 0, alert('TrafficDrop', 'telemetry', 'a'));
    d.tick(2 * min);
    send(d, 3 * min, alert('TrafficDrop', 'telemetry', 'a', 'resolved'), {
      ...alert('TrafficFailbackReady', 'telemetry', 'a'),
      labels: { alertname: 'TrafficFailbackReady', service: 'telemetry', dc: 'a', action: 'failback' },
    });
    expect(d.tick(12 * min)).toEqual([]); // failback signal only 9 min old
    expect(d.tick(13 * min)).toEqual([]); // 10 min old, but drained only 11 min (< 15)
    const out = d.tick(17 * min);
    expect(out.map((x) => `${x.action} ${x.dc}`)).toEqual(['restore a']);
    expect(d.weights('telemetry')).toEqual({ a: 10, b: 10, c: 10, d: 10 });
  });

  it('ignores alerts it cannot place', () => {
    const d = new Decider(config());
    expect(send(d, 0, alert('TrafficDrop', 'unknown', 'a'), alert('Watchdog', 'telemetry', 'a')).map((i) => i.reason)).toEqual([
      'no (service, dc) unknown/a in the configuration',
      'alert Watchdog is not a failover or failback signal',
    ]);
  });
});
