/**
 * Synthetic traffic as promtool input series: per DC a request counter following a daily
 * curve in the DC's local time, with effects (a demand change, a DC losing traffic, a clock
 * change, a canary split, a series vanishing, probes failing). Used by the generated promtool
 * unit tests and by `topoforge drill failover`, so both exercise the rules with the same
 * traffic shapes. One sample per minute; runs of equal increments are written in promtool's
 * `a+bxn` notation, so hourly-step curves stay compact.
 *
 * The series are built from pieces (a stretch of minutes that starts at a value and grows by a
 * fixed step each minute), never minute by minute: the rates change only at an effect's edge
 * or an hour of local time, and a week of minutes per DC, test and service, walked one minute
 * at a time before the JIT has warmed up, made a third of the bundled `check`.
 */
import type { InputSeries } from '@topoforge/plugin-sdk';
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

// The contract's, so these series are the input_series of a RuleTest without a second declaration.
export type { InputSeries };

/** Whether an effect's span covers a DC and service at any time. */
const concerns = (e: Span, dc: string, service: string): boolean => (!e.dcs || e.dcs.includes(dc)) && (!e.services || e.services.includes(service));
const during = (e: { readonly from: number; readonly to?: number }, minute: number): boolean => minute >= e.from && (e.to === undefined || minute < e.to);

/** Per-minute request rate of one DC (before canary splitting), or undefined while vanished. */
export function rateAt(spec: SimSpec, dc: SimDc, service: string, minute: number): number | undefined {
  const r = rateOf(
    spec,
    dc,
    spec.effects.filter((e) => concerns(e, dc.name, service)),
    minute,
  );
  return r.missing ? undefined : r.rate;
}

interface Rate {
  /** Vanished: no sample. */
  readonly missing: boolean;
  readonly rate: number;
  /** Minutes from `minute` on with this same rate (the span's end is for the caller to apply). */
  readonly steady: number;
}

/** The rate at `minute` over effects already narrowed to one DC and service, and how long it holds within the hour. */
function rateOf(spec: SimSpec, dc: SimDc, effects: readonly Effect[], minute: number): Rate {
  let shift = 0;
  let factor = 1;
  for (const e of effects) {
    if (!during(e, minute)) continue;
    if (e.type === 'vanish') return { missing: true, rate: NaN, steady: Infinity };
    if (e.type === 'shift') shift += e.minutes;
    if (e.type === 'scale') factor *= e.factor;
  }
  const local = (((minute + dc.utcOffsetMinutes + shift) % 1440) + 1440) % 1440;
  return { missing: false, rate: dc.peakRps * spec.shape[Math.floor(local / 60)]! * factor, steady: 60 - (local % 60) };
}

/** Minutes `from`..`to` (exclusive) whose sample is `value + k·step` at `from + k`, or missing. */
interface Piece {
  readonly from: number;
  readonly to: number;
  readonly missing: boolean;
  readonly value: number;
  readonly step: number;
}

/** Where a span's effects may change: every `from` and `to` inside 0..length, with both ends. */
function edges(spans: readonly { readonly from: number; readonly to?: number }[], length: number): number[] {
  const at = new Set<number>([0, length]);
  for (const s of spans) {
    if (s.from > 0 && s.from < length) at.add(s.from);
    if (s.to !== undefined && s.to > 0 && s.to < length) at.add(s.to);
  }
  return [...at].sort((a, b) => a - b);
}

/** A gauge that is constant between edges: `valueAt(minute)` is asked once per stretch. */
function gauge(cuts: readonly number[], valueAt: (minute: number) => number): Piece[] {
  const out: Piece[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) out.push({ from: cuts[k]!, to: cuts[k + 1]!, missing: false, value: valueAt(cuts[k]!), step: 0 });
  return out;
}

/** A request counter from per-stretch rates (NaN = vanished): it keeps its value across a gap and starts at 0 at minute 0. */
function counter(rates: readonly { readonly from: number; readonly to: number; readonly rate: number }[]): Piece[] {
  const out: Piece[] = [];
  let value = 0;
  for (const { from, to, rate } of rates) {
    if (Number.isNaN(rate)) {
      out.push({ from, to, missing: true, value: NaN, step: 0 });
      continue;
    }
    const step = Math.round(rate * 60);
    const first = from === 0 ? value : value + step;
    out.push({ from, to, missing: false, value: first, step });
    value = first + step * (to - from - 1);
  }
  return out;
}

/** promtool notation for per-minute samples (undefined = missing), runs compressed. */
export function notation(samples: readonly (number | undefined)[]): string {
  return notationOf(samples.map((v, m) => ({ from: m, to: m + 1, missing: v === undefined, value: v ?? NaN, step: 0 })));
}

/**
 * The notation of contiguous pieces, exactly as if written minute by minute: from a sample `v`,
 * the step `d` is the next sample minus `v` (0 before a gap or the end), and the run goes on
 * while each sample is the previous one plus `d`. Inside a piece every difference is its step,
 * so a run crosses a piece in one move.
 */
function notationOf(pieces: readonly Piece[]): string {
  const parts: string[] = [];
  const end = pieces.length === 0 ? 0 : pieces[pieces.length - 1]!.to;
  let p = 0; // the piece at or before minute i (at() only moves it forward)
  const at = (m: number): number => {
    while (pieces[p]!.to <= m) p++;
    const piece = pieces[p]!;
    return piece.missing ? NaN : piece.value + piece.step * (m - piece.from);
  };
  let i = 0;
  while (i < end) {
    const v = at(i);
    if (Number.isNaN(v)) {
      // Missing pieces may lie side by side: count them all, from minute i on.
      let n = 0;
      for (let q = p; q < pieces.length && pieces[q]!.missing; q++) n += pieces[q]!.to - Math.max(pieces[q]!.from, i);
      parts.push(n === 1 ? '_' : `_x${n}`);
      i += n;
      continue;
    }
    const next = i + 1 < end ? at(i + 1) : NaN;
    const d = Number.isNaN(next) ? 0 : next - v;
    // Extend from minute j = i + 1 while sample(j) − sample(j − 1) = d.
    let j = i + 1;
    let q = p;
    while (j < end) {
      while (pieces[q]!.to <= j) q++;
      const piece = pieces[q]!;
      if (piece.missing) break;
      if (j === piece.from) {
        // The difference across a piece boundary: this piece's first sample minus the previous piece's last.
        const before = pieces[q - 1]!;
        if (before.missing || piece.value - (before.value + before.step * (before.to - 1 - before.from)) !== d) break;
        j++;
        continue;
      }
      if (piece.step !== d) break;
      j = piece.to;
    }
    const n = j - i;
    parts.push(n === 1 ? `${v}` : `${v}${d >= 0 ? '+' : '-'}${Math.abs(d)}x${n - 1}`);
    i = j;
  }
  return parts.join(' ');
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
  const length = spec.minutes + 1;
  for (const dc of spec.dcs) {
    const effects = spec.effects.filter((e) => concerns(e, dc.name, service));
    const cuts = edges(effects, length);
    // Stretches of one rate and one canary weight: between effect edges, split at local hours.
    const stretches: { from: number; to: number; rate: number; weight: number }[] = [];
    for (let k = 0; k + 1 < cuts.length; k++) {
      let weight = 0;
      for (const e of effects) if (e.type === 'canary' && during(e, cuts[k]!)) weight = e.weight;
      for (let m = cuts[k]!; m < cuts[k + 1]!;) {
        const r = rateOf(spec, dc, effects, m);
        const to = Math.min(cuts[k + 1]!, m + r.steady);
        stretches.push({ from: m, to, rate: r.missing ? NaN : r.rate, weight });
        m = to;
      }
    }
    const labels = { ...o.selector, [o.dcLabel]: dc.name };
    if (!stretches.some((s) => s.weight > 0)) {
      out.push({ series: `${o.metric}${matchers(labels)}`, values: notationOf(counter(stretches)) });
    } else {
      // The canary's requests carry the same selector labels plus track="canary"; the primary's track="primary".
      const primary = stretches.map((s) => ({ ...s, rate: s.rate * (1 - s.weight) })); // NaN stays NaN
      const canary = stretches.map((s) => ({ ...s, rate: s.weight > 0 ? s.rate * s.weight : NaN }));
      out.push({ series: `${o.metric}${matchers({ ...labels, track: 'primary' })}`, values: notationOf(counter(primary)) });
      out.push({ series: `${o.metric}${matchers({ ...labels, track: 'canary' })}`, values: notationOf(counter(canary)) });
    }
    if (o.healthMetric) {
      const down = effects.filter((e) => e.type === 'probe-down');
      const probe = gauge(cuts, (m) => (down.some((e) => during(e, m)) ? 0 : 1));
      out.push({ series: `${o.healthMetric}${matchers({ service, dc: dc.name })}`, values: notationOf(probe) });
    }
  }
  return out;
}

/** The orchestrator's drained gauge for one (service, dc): 1 inside the given spans, 0 elsewhere. */
export function drainedSeries(service: string, dc: string, spans: readonly { from: number; to?: number }[], minutes: number): InputSeries {
  const probe = gauge(edges(spans, minutes + 1), (m) => (spans.some((s) => during(s, m)) ? 1 : 0));
  return { series: `${DRAINED_METRIC}${matchers({ service, dc })}`, values: notationOf(probe) };
}
