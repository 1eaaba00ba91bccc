/**
 * robfig/cron v3 (v3.0.1) `ParseStandard` and `SpecSchedule.Next`, ported line by line, as
 * Velero (Schedule.spec.schedule) and Kubernetes CronJob read schedules. Written here
 * because JS cron libraries differ from robfig exactly where a backup calendar depends on
 * it. References are to robfig/cron v3.0.1 parser.go and spec.go:
 *
 * - ParseStandard = Minute|Hour|Dom|Month|Dow|Descriptor: exactly five fields (seconds
 *   default to "0"); names JAN–DEC / SUN–SAT case-insensitive; day-of-week 0–6 (7 is out
 *   of range); `?` is `*` (getRange); `N/step` means `N-max/step`; a list is split with
 *   strings.FieldsFunc, so empty items (`1,,2`, `1,`) are ignored; `*-5` is `*` (getRange
 *   only looks at the part before `-` when it is `*`).
 * - The star bit (spec.go dayMatches): when day-of-month or day-of-week carries it, a day
 *   must match BOTH; when both are restricted a day matches if EITHER does. `*` and `?`
 *   set it, a step > 1 clears it (getRange: `if step > 1 { extra = 0 }`), so `*\/2` counts
 *   as restricted. Descriptors: @yearly/@monthly have day-of-week `all(dow)` (star).
 * - `CRON_TZ=Zone ` / `TZ=Zone ` prefix (Parser.Parse): the zone is what lies between the
 *   first `=` and the first space, loaded with time.LoadLocation; without it the schedule
 *   runs in the scheduler's zone (time.Local; UTC in Velero's image).
 * - `@every <Go duration>`: ConstantDelaySchedule, rounded down to whole seconds, at least 1s.
 * - Next(): field-by-field increments on the zone's wall clock with Go's time.Date/AddDate
 *   semantics (see zone.ts). Consequences, checked against real robfig in the tests:
 *   a time inside a spring-forward gap is skipped that day; a time inside a repeated
 *   (fall-back) hour fires TWICE; the search gives up after five years.
 */
import { addDate, civil, goDate, isGoLocation } from './zone.js';

export { civil, goDate, isGoLocation, offsetAt, type Civil } from './zone.js';

export class CronParseError extends Error {
  readonly code = 'CRON_PARSE_ERROR';
}

interface Bounds {
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DOWS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const SECONDS: Bounds = { min: 0, max: 59 };
const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTH: Bounds = { min: 1, max: 12, names: MONTHS };
const DOW: Bounds = { min: 0, max: 6, names: DOWS };

export interface CronField {
  /** Allowed values. */
  readonly values: ReadonlySet<number>;
  /** robfig's star bit. */
  readonly star: boolean;
}

export interface CronSchedule {
  readonly kind: 'calendar';
  readonly expression: string;
  /** IANA zone from CRON_TZ= / TZ=, or the default zone given to parse(). */
  readonly timeZone: string;
  readonly second: CronField;
  readonly minute: CronField;
  readonly hour: CronField;
  readonly dom: CronField;
  readonly month: CronField;
  readonly dow: CronField;
}

export interface EverySchedule {
  readonly kind: 'every';
  readonly expression: string;
  readonly everyMs: number;
}

export type Schedule = CronSchedule | EverySchedule;

/** strconv.Atoi + the non-negative check of mustParseInt. */
function mustParseInt(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr)) throw new CronParseError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number(expr);
  if (n < 0) throw new CronParseError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseIntOrName(expr: string, names?: Readonly<Record<string, number>>): number {
  const named = names?.[expr.toLowerCase()];
  return named !== undefined ? named : mustParseInt(expr);
}

function range(lo: number, hi: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

/** parser.go getRange. */
function getRange(expr: string, r: Bounds): { values: number[]; star: boolean } {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0]!.split('-');
  const singleDigit = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = r.min;
    end = r.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0]!, r.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1]!, r.names);
    else throw new CronParseError(`too many hyphens: ${expr}`);
  }
  let step: number;
  if (rangeAndStep.length === 1) step = 1;
  else if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]!);
    if (singleDigit) end = r.max; // "N/step" means "N-max/step"
    if (step > 1) star = false;
  } else throw new CronParseError(`too many slashes: ${expr}`);
  if (start < r.min) throw new CronParseError(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > r.max) throw new CronParseError(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end) throw new CronParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronParseError(`step of range should be a positive number: ${expr}`);
  return { values: range(start, end, step), star };
}

/** parser.go getField: comma-separated ranges, empty items dropped (strings.FieldsFunc). */
function getField(field: string, r: Bounds): CronField {
  const values = new Set<number>();
  let star = false;
  for (const expr of field.split(',').filter((x) => x !== '')) {
    const got = getRange(expr, r);
    for (const v of got.values) values.add(v);
    star = star || got.star;
  }
  return { values, star };
}

const all = (r: Bounds): CronField => ({ values: new Set(range(r.min, r.max)), star: true });
const only = (v: number): CronField => ({ values: new Set([v]), star: false });

// --- Go durations -------------------------------------------------------------------------

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * time.ParseDuration, in milliseconds: `[-+]?(<decimal><unit>)+` with units ns us µs ms s m
 * h, or a bare `0`. Velero reads `ttl` with it (metav1.Duration), so there is no `d` unit.
 */
export function parseGoDuration(text: string): number {
  const err = () => new CronParseError(`time: invalid duration ${JSON.stringify(text)} (a Go duration such as 168h0m0s; units ns us ms s m h, no "d")`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw err();
  const re = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  while (re.lastIndex < s.length) {
    const start = re.lastIndex;
    const m = re.exec(s);
    if (!m || m.index !== start) throw err();
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return sign * total;
}

/** Formats milliseconds as Go's Duration.String() does for whole seconds: `168h0m0s`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const body = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  return (neg ? '-' : '') + body;
}

/**
 * Milliseconds as a reviewer reads a retention or a delay: `7d`, `3d 12h`, `90m` is `1h 30m`,
 * `45s`, `300ms`. Days are 24 h (a ttl is elapsed time, not calendar days). Shared by Velero's
 * review rule and `topoforge diff`, so a ttl is shown the same way wherever it is reported.
 */
export function humanDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join(' ');
}

// --- parsing ------------------------------------------------------------------------------

/** Parses like robfig/cron v3 `ParseStandard`. `defaultZone` stands for the scheduler's time.Local. */
export function parse(expression: string, defaultZone = 'UTC'): Schedule {
  let spec = expression;
  if (spec.length === 0) throw new CronParseError('empty spec string');
  let timeZone = defaultZone;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const i = spec.indexOf(' ');
    const eq = spec.indexOf('=');
    // robfig slices spec[eq+1:i] and would panic without a space; report it instead.
    if (i < 0) throw new CronParseError(`time zone prefix without a schedule: ${spec}`);
    const name = spec.slice(eq + 1, i);
    if (!isGoLocation(name)) throw new CronParseError(`provided bad location ${name}: unknown time zone ${name}`);
    timeZone = name === '' ? 'UTC' : name === 'Local' ? defaultZone : name;
    spec = spec.slice(i).trim();
  }
  if (spec.startsWith('@')) return parseDescriptor(spec, expression, timeZone);
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new CronParseError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  return {
    kind: 'calendar',
    expression,
    timeZone,
    second: getField('0', SECONDS),
    minute: getField(minute, MINUTES),
    hour: getField(hour, HOURS),
    dom: getField(dom, DOM),
    month: getField(month, MONTH),
    dow: getField(dow, DOW),
  };
}

function parseDescriptor(descriptor: string, expression: string, timeZone: string): Schedule {
  const cal = (minute: CronField, hour: CronField, dom: CronField, month: CronField, dow: CronField): CronSchedule => ({
    kind: 'calendar',
    expression,
    timeZone,
    second: only(0),
    minute,
    hour,
    dom,
    month,
    dow,
  });
  switch (descriptor) {
    case '@yearly':
    case '@annually':
      return cal(only(0), only(0), only(1), only(1), all(DOW));
    case '@monthly':
      return cal(only(0), only(0), only(1), all(MONTH), all(DOW));
    case '@weekly':
      return cal(only(0), only(0), all(DOM), all(MONTH), only(0));
    case '@daily':
    case '@midnight':
      return cal(only(0), only(0), all(DOM), all(MONTH), all(DOW));
    case '@hourly':
      return cal(only(0), all(HOURS), all(DOM), all(MONTH), all(DOW));
  }
  if (descriptor.startsWith('@every ')) {
    let d: number;
    try {
      d = parseGoDuration(descriptor.slice('@every '.length));
    } catch (e) {
      throw new CronParseError(`failed to parse duration ${descriptor}: ${(e as Error).message}`);
    }
    // constantdelay.go Every: below one second → one second; sub-second part truncated.
    const everyMs = d < 1000 ? 1000 : d - (d % 1000);
    return { kind: 'every', expression, everyMs };
  }
  throw new CronParseError(`unrecognized descriptor: ${descriptor}`);
}

// --- matching and Next --------------------------------------------------------------------

/** spec.go dayMatches. `weekday` 0 = Sunday. */
export function dayMatches(s: CronSchedule, dayOfMonth: number, weekday: number): boolean {
  const domMatch = s.dom.values.has(dayOfMonth);
  const dowMatch = s.dow.values.has(weekday);
  if (s.dom.star || s.dow.star) return domMatch && dowMatch;
  return domMatch || dowMatch;
}

const SECOND = 1000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * spec.go SpecSchedule.Next / constantdelay.go Next: the first activation strictly after
 * `afterMs` (at whole seconds), or undefined when none is found within five years.
 */
export function next(s: Schedule, afterMs: number): number | undefined {
  if (s.kind === 'every') return Math.floor(afterMs / SECOND) * SECOND + s.everyMs;
  const loc = s.timeZone;
  // "Start at the earliest possible time (the upcoming second)."
  let t = Math.floor(afterMs / SECOND) * SECOND + SECOND;
  let added = false;
  const yearLimit = civil(loc, t).year + 5;
  wrap: for (;;) {
    let c = civil(loc, t);
    if (c.year > yearLimit) return undefined;
    while (!s.month.values.has(c.month)) {
      if (!added) {
        added = true;
        t = goDate(loc, c.year, c.month, 1, 0, 0, 0);
      }
      t = addDate(loc, t, 0, 1, 0);
      c = civil(loc, t);
      if (c.month === 1) continue wrap;
    }
    while (!dayMatches(s, c.day, c.weekday)) {
      if (!added) {
        added = true;
        t = goDate(loc, c.year, c.month, c.day, 0, 0, 0);
      }
      t = addDate(loc, t, 0, 0, 1);
      c = civil(loc, t);
      // "Notice if the hour is no longer midnight due to DST."
      if (c.hour !== 0) {
        t += c.hour > 12 ? (24 - c.hour) * HOUR : -c.hour * HOUR;
        c = civil(loc, t);
      }
      if (c.day === 1) continue wrap;
    }
    while (!s.hour.values.has(c.hour)) {
      if (!added) {
        added = true;
        t = goDate(loc, c.year, c.month, c.day, c.hour, 0, 0);
      }
      t += HOUR;
      c = civil(loc, t);
      if (c.hour === 0) continue wrap;
    }
    while (!s.minute.values.has(c.minute)) {
      if (!added) {
        added = true;
        t -= ((t % MINUTE) + MINUTE) % MINUTE; // t.Truncate(time.Minute): absolute time
      }
      t += MINUTE;
      c = civil(loc, t);
      if (c.minute === 0) continue wrap;
    }
    while (!s.second.values.has(c.second)) {
      if (!added) added = true; // t.Truncate(time.Second): already whole seconds
      t += SECOND;
      c = civil(loc, t);
      if (c.second === 0) continue wrap;
    }
    return t;
  }
}

export interface Fire {
  /** UTC milliseconds. */
  readonly at: number;
  /** The local date (in the schedule's zone) it fired on, YYYY-MM-DD. */
  readonly localDate: string;
  /** Local wall-clock time, HH:MM. */
  readonly localTime: string;
  /** Local weekday, 0 = Sunday. */
  readonly localWeekday: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Every activation in [fromMs, toMs), found as a scheduler does: by calling Next from the
 * previous activation (Velero calls `Next(lastBackup)`). `@every` starts counting at fromMs;
 * its local fields are read in `defaultZone`.
 */
export function activations(s: Schedule, fromMs: number, toMs: number, defaultZone = 'UTC'): Fire[] {
  const zone = s.kind === 'calendar' ? s.timeZone : defaultZone;
  const out: Fire[] = [];
  let t: number | undefined = s.kind === 'every' ? fromMs : fromMs - SECOND;
  for (;;) {
    t = next(s, t);
    if (t === undefined || t >= toMs) return out;
    const c = civil(zone, t);
    out.push({ at: t, localDate: `${c.year}-${pad(c.month)}-${pad(c.day)}`, localTime: `${pad(c.hour)}:${pad(c.minute)}`, localWeekday: c.weekday });
  }
}
