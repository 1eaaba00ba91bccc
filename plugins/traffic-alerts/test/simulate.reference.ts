/**
 * The simulator as it was first written, one minute at a time: the reference the piecewise
 * simulator in src/simulate.ts must match byte for byte (test/simulate.test.ts).
 */
import { matchers } from '../src/promql.js';
import { DRAINED_METRIC } from '../src/rules.js';
import type { Effect, InputSeries, SeriesOptions, SimDc, SimSpec } from '../src/simulate.js';

type Span = Pick<Effect, 'from' | 'to' | 'dcs' | 'services'>;

const applies = (e: Span, minute: number, dc: string, service: string): boolean =>
  minute >= e.from && (e.to === undefined || minute < e.to) && (!e.dcs || e.dcs.includes(dc)) && (!e.services || e.services.includes(service));

/** Per-minute request rate of one DC (before canary splitting), or undefined while vanished. */
export function rateAtPerMinute(spec: SimSpec, dc: SimDc, service: string, minute: number): number | undefined {
  let shift = 0;
  let factor = 1;
  for (const e of spec.effects) {
    if (!applies(e, minute, dc.name, service)) continue;
    if (e.type === 'vanish') return undefined;
    if (e.type === 'shift') shift += e.minutes;
    if (e.type === 'scale') factor *= e.factor;
  }
  const local = (((minute + dc.utcOffsetMinutes + shift) % 1440) + 1440) % 1440;
  return dc.peakRps * spec.shape[Math.floor(local / 60)]! * factor;
}

/** promtool notation for per-minute samples (undefined = missing), runs compressed. */
export function notationPerMinute(samples: readonly (number | undefined)[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < samples.length) {
    const v = samples[i];
    if (v === undefined) {
      let n = 0;
      while (i + n < samples.length && samples[i + n] === undefined) n++;
      parts.push(n === 1 ? '_' : `_x${n}`);
      i += n;
      continue;
    }
    // A run with a constant step: v, v+d, v+2d, …
    const next = samples[i + 1];
    const d = next === undefined ? 0 : next - v;
    let n = 1;
    while (i + n < samples.length && samples[i + n] !== undefined && samples[i + n]! - samples[i + n - 1]! === d) n++;
    parts.push(n === 1 ? `${v}` : `${v}${d >= 0 ? '+' : '-'}${Math.abs(d)}x${n - 1}`);
    i += n;
  }
  return parts.join(' ');
}

/** Counter samples from per-minute rates: the counter keeps its value across a gap. */
function counter(rates: readonly (number | undefined)[]): (number | undefined)[] {
  let value = 0;
  return rates.map((r, i) => {
    if (r === undefined) return undefined;
    if (i > 0) value += Math.round(r * 60);
    return value;
  });
}

/** Input series of one service: request counters (two per DC during a canary split) and probes. */
export function serviceSeriesPerMinute(spec: SimSpec, service: string, o: SeriesOptions): InputSeries[] {
  const out: InputSeries[] = [];
  const minutes = Array.from({ length: spec.minutes + 1 }, (_, m) => m);
  for (const dc of spec.dcs) {
    const rates = minutes.map((m) => rateAtPerMinute(spec, dc, service, m));
    const canaryWeight = (m: number): number => {
      let w = 0;
      for (const e of spec.effects) if (e.type === 'canary' && applies(e, m, dc.name, service)) w = e.weight;
      return w;
    };
    const hasCanary = minutes.some((m) => canaryWeight(m) > 0);
    const labels = { ...o.selector, [o.dcLabel]: dc.name };
    if (!hasCanary) {
      out.push({ series: `${o.metric}${matchers(labels)}`, values: notationPerMinute(counter(rates)) });
    } else {
      // The canary's requests carry the same selector labels plus track="canary"; the primary's track="primary".
      const primary = rates.map((r, m) => (r === undefined ? undefined : r * (1 - canaryWeight(m))));
      const canary = rates.map((r, m) => (r === undefined ? undefined : canaryWeight(m) > 0 ? r * canaryWeight(m) : undefined));
      out.push({ series: `${o.metric}${matchers({ ...labels, track: 'primary' })}`, values: notationPerMinute(counter(primary)) });
      out.push({ series: `${o.metric}${matchers({ ...labels, track: 'canary' })}`, values: notationPerMinute(counter(canary)) });
    }
    if (o.healthMetric) {
      const probe = minutes.map((m) => (spec.effects.some((e) => e.type === 'probe-down' && applies(e, m, dc.name, service)) ? 0 : 1));
      out.push({ series: `${o.healthMetric}${matchers({ service, dc: dc.name })}`, values: notationPerMinute(probe) });
    }
  }
  return out;
}

/** The orchestrator's drained gauge for one (service, dc): 1 inside the given spans, 0 elsewhere. */
export function drainedSeriesPerMinute(service: string, dc: string, spans: readonly { from: number; to?: number }[], minutes: number): InputSeries {
  const v = Array.from({ length: minutes + 1 }, (_, m) => (spans.some((s) => m >= s.from && (s.to === undefined || m < s.to)) ? 1 : 0));
  return { series: `${DRAINED_METRIC}${matchers({ service, dc })}`, values: notationPerMinute(v) };
}
