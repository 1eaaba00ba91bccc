/**
 * Synthetic traffic as promtool input series: per DC a request counter following a daily
 * curve in the DC's local time, with effects (a demand change, a DC losing traffic, a clock
 * change, a canary split, a series vanishing, probes failing). Used by the generated promtool
 * unit tests and by `topoforge drill failover`, so both exercise the rules with the same
 * traffic shapes. One sample per minute; runs of equal increments are written in promtool's
 * `a+bxn` notation, so hourly-step curves stay compact.
 */
import { matchers } from './promql.js';
import { DRAINED_METRIC } from './rules.js';

/** Hourly factors of the peak rate, local time 00:00–23:00: quiet nights, a steep morning ramp. */
export const BUSINESS_DAY: readonly number[] = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.6, 0.6, 0.6, 0.3];

interface Span {
  /** First minute (inclusive). */
  readonly from: number;
  /** Last minute (exclusive); open-ended when absent. */
  readonly to?: number;
  /** DCs affected; all when absent. */
  readonly dcs?: readonly string[];
  /** Services affected; all when absent. */
  readonly services?: readonly string[];
}
export type Effect =
  | (Span & { readonly type: 'scale'; readonly factor: number })
  | (Span & { readonly type: 'shift'; readonly minutes: number })
  | (Span & { readonly type: 'canary'; readonly weight: number })
  | (Span & { readonly type: 'vanish' })
  | (Span & { readonly type: 'probe-down' });

export interface SimDc {
  readonly name: string;
  /** Local time = UTC + this many minutes. */
  readonly utcOffsetMinutes: number;
  /** Requests per second at the curve's peak. */
  readonly peakRps: number;
}

export interface SimSpec {
  /** Samples are minutes 0..minutes. */
  readonly minutes: number;
  readonly dcs: readonly SimDc[];
  readonly shape: readonly number[];
  readonly effects: readonly Effect[];
}

export interface InputSeries {
  readonly series: string;
  readonly values: string;
}

const applies = (e: Span, minute: number, dc: string, service: string): boolean =>
  minute >= e.from && (e.to === undefined || minute < e.to) && (!e.dcs || e.dcs.includes(dc)) && (!e.services || e.services.includes(service));

/** Per-minute request rate of one DC (before canary splitting), or undefined while vanished. */
export function rateAt(spec: SimSpec, dc: SimDc, service: string, minute: number): number | undefined {
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
export function notation(samples: readonly (number | undefined)[]): string {
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

export interface SeriesOptions {
  readonly metric: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly dcLabel: string;
  /** Probe gauge (1 up, 0 down) per DC, labelled service and dc; omitted when absent. */
  readonly healthMetric?: string;
}

/** Input series of one service: request counters (two per DC during a canary split) and probes. */
export function serviceSeries(spec: SimSpec, service: string, o: SeriesOptions): InputSeries[] {
  const out: InputSeries[] = [];
  const minutes = Array.from({ length: spec.minutes + 1 }, (_, m) => m);
  for (const dc of spec.dcs) {
    const rates = minutes.map((m) => rateAt(spec, dc, service, m));
    const canaryWeight = (m: number): number => {
      let w = 0;
      for (const e of spec.effects) if (e.type === 'canary' && applies(e, m, dc.name, service)) w = e.weight;
      return w;
    };
    const hasCanary = minutes.some((m) => canaryWeight(m) > 0);
    const labels = { ...o.selector, [o.dcLabel]: dc.name };
    if (!hasCanary) {
      out.push({ series: `${o.metric}${matchers(labels)}`, values: notation(counter(rates)) });
    } else {
      // The canary's requests carry the same selector labels plus track="canary"; the primary's track="primary".
      const primary = rates.map((r, m) => (r === undefined ? undefined : r * (1 - canaryWeight(m))));
      const canary = rates.map((r, m) => (r === undefined ? undefined : canaryWeight(m) > 0 ? r * canaryWeight(m) : undefined));
      out.push({ series: `${o.metric}${matchers({ ...labels, track: 'primary' })}`, values: notation(counter(primary)) });
      out.push({ series: `${o.metric}${matchers({ ...labels, track: 'canary' })}`, values: notation(counter(canary)) });
    }
    if (o.healthMetric) {
      const probe = minutes.map((m) => (spec.effects.some((e) => e.type === 'probe-down' && applies(e, m, dc.name, service)) ? 0 : 1));
      out.push({ series: `${o.healthMetric}${matchers({ service, dc: dc.name })}`, values: notation(probe) });
    }
  }
  return out;
}

/** The orchestrator's drained gauge for one (service, dc): 1 inside the given spans, 0 elsewhere. */
export function drainedSeries(service: string, dc: string, spans: readonly { from: number; to?: number }[], minutes: number): InputSeries {
  const v = Array.from({ length: minutes + 1 }, (_, m) => (spans.some((s) => m >= s.from && (s.to === undefined || m < s.to)) ? 1 : 0));
  return { series: `${DRAINED_METRIC}${matchers({ service, dc })}`, values: notation(v) };
}
