import { describe, expect, it } from 'vitest';
import { BUSINESS_DAY, drainedSeries, notation, rateAt, serviceSeries, type Effect, type SimSpec } from '../src/simulate.js';
import { drainedSeriesPerMinute, notationPerMinute, rateAtPerMinute, serviceSeriesPerMinute } from './simulate.reference.js';

// A small seeded generator (mulberry32): the same cases on every run and machine.
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DCS = ['dc01', 'dc02', 'dc03'];
const SERVICES = ['shop', 'social'];

function randomSpec(next: () => number): SimSpec {
  const int = (n: number): number => Math.floor(next() * n);
  const minutes = 30 + int(3 * 1440);
  const span = () => {
    const from = int(minutes + 20) - 10;
    const to = next() < 0.3 ? undefined : from + 1 + int(600);
    return {
      from,
      ...(to === undefined ? {} : { to }),
      ...(next() < 0.6 ? { dcs: DCS.filter(() => next() < 0.5) } : {}),
      ...(next() < 0.3 ? { services: SERVICES.filter(() => next() < 0.5) } : {}),
    };
  };
  const effects: Effect[] = Array.from({ length: int(7) }, (): Effect => {
    const kind = int(5);
    if (kind === 0) return { type: 'scale', factor: [0, 0.2, 0.3, 1.7, 0.05][int(5)]!, ...span() };
    if (kind === 1) return { type: 'shift', minutes: [-60, 60, -30, 45, 1][int(5)]!, ...span() };
    if (kind === 2) return { type: 'canary', weight: [0, 0.1, 0.5, 1][int(4)]!, ...span() };
    if (kind === 3) return { type: 'vanish', ...span() };
    return { type: 'probe-down', ...span() };
  });
  return {
    minutes,
    dcs: DCS.map((name) => ({ name, utcOffsetMinutes: [0, 60, -300, 330, 345][int(5)]!, peakRps: [40, 7.3, 120, 0.9][int(4)]! })),
    shape: BUSINESS_DAY,
    effects,
  };
}

const OPTIONS = { metric: 'http_requests_total', selector: { app: 'shop' }, dcLabel: 'dc', healthMetric: 'probe_success' };

describe('simulate: the piecewise series equal the minute-by-minute reference', () => {
  it('serviceSeries, on 400 random specs (effects overlapping, open-ended, outside the window, on some DCs and services)', () => {
    const next = random(19);
    let canaries = 0;
    let gaps = 0;
    for (let k = 0; k < 400; k++) {
      const spec = randomSpec(next);
      for (const service of SERVICES) {
        const got = serviceSeries(spec, service, OPTIONS);
        expect(got).toEqual(serviceSeriesPerMinute(spec, service, OPTIONS));
        canaries += got.filter((s) => s.series.includes('track="canary"')).length;
        gaps += got.filter((s) => s.values.includes('_')).length;
      }
    }
    // The cases reach the branches that matter: canary splits and vanished stretches.
    expect(canaries).toBeGreaterThan(50);
    expect(gaps).toBeGreaterThan(50);
  });

  it('rateAt, drainedSeries and notation', () => {
    const next = random(7);
    for (let k = 0; k < 100; k++) {
      const spec = randomSpec(next);
      for (let m = 0; m <= spec.minutes; m += 17) expect(rateAt(spec, spec.dcs[0]!, 'shop', m)).toBe(rateAtPerMinute(spec, spec.dcs[0]!, 'shop', m));
      const spans = Array.from({ length: Math.floor(next() * 4) }, () => {
        const from = Math.floor(next() * (spec.minutes + 10));
        return next() < 0.4 ? { from } : { from, to: from + 1 + Math.floor(next() * 300) };
      });
      expect(drainedSeries('shop', 'dc01', spans, spec.minutes)).toEqual(drainedSeriesPerMinute('shop', 'dc01', spans, spec.minutes));
      const samples = Array.from({ length: 1 + Math.floor(next() * 40) }, () => (next() < 0.2 ? undefined : [0, 1, 2, 3, 5, 8][Math.floor(next() * 6)]));
      expect(notation(samples)).toBe(notationPerMinute(samples));
    }
    expect(notation([])).toBe('');
    expect(notation([1, 0, 1, 1, undefined, undefined, 4])).toBe('1-1x1 1+0x1 _x2 4');
  });
});
