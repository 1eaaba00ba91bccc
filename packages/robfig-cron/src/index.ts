/**
 * robfig/cron v3 `ParseStandard` semantics, as Velero (Schedule.spec.schedule) and
 * Kubernetes CronJob read them — written here because common JS cron libraries differ
 * exactly where it matters for backup calendars:
 *
 * - five fields: minute hour day-of-month month day-of-week; names JAN–DEC and SUN–SAT
 *   (case-insensitive); `?` is the same as `*` in day fields; day-of-week is 0–6 (7 is an
 *   error, as in robfig's `dow` bounds);
 * - ranges `a-b`, steps `*\/n` and `a/n` (= a-max/n), lists `a,b`;
 * - the star bit (robfig spec.go `dayMatches`): when day-of-month or day-of-week is `*`
 *   (or `?`, or `*\/1`), a day must match BOTH fields; when both are restricted, a day
 *   matches if EITHER does. `*\/2` is restricted (parser.go clears the star bit when the
 *   step is > 1);
 * - `CRON_TZ=Zone ` or `TZ=Zone ` prefix: fields are matched on the wall clock of that zone;
 *   without it, the scheduler's zone (UTC for Velero's default image);
 * - descriptors `@yearly @annually @monthly @weekly @daily @midnight @hourly`, and
 *   `@every <duration>` (fires every duration; not calendar-aligned).
 *
 * DST: a wall-clock time that does not exist in the zone (spring-forward gap) is skipped,
 * as robfig v3's Next() does (it steps hours with time.Add, so the missing hour is never
 * seen; ISC-style forks run it late instead). A repeated time (fall-back) is modelled as
 * firing once, at its first occurrence; robfig may fire twice there. Backup schedules run
 * at 00:00, outside the transitions of the bundled zones, so neither case arises for them.
 */

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
const FIELDS: readonly [string, Bounds][] = [
  ['minute', { min: 0, max: 59 }],
  ['hour', { min: 0, max: 23 }],
  ['day-of-month', { min: 1, max: 31 }],
  ['month', { min: 1, max: 12, names: MONTHS }],
  ['day-of-week', { min: 0, max: 6, names: DOWS }],
];

export interface CronField {
  /** Allowed values. */
  readonly values: ReadonlySet<number>;
  /** robfig's star bit: the field was `*` or `?` (without a step > 1). */
  readonly star: boolean;
}

export interface CronSchedule {
  readonly kind: 'calendar';
  readonly expression: string;
  /** IANA zone from CRON_TZ= / TZ=, or the default zone given to parse(). */
  readonly timeZone: string;
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

function parseValue(s: string, field: string, b: Bounds): number {
  const named = b.names?.[s.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(s)) throw new CronParseError(`failed to parse int from ${s} in ${field}`);
  return Number(s);
}

function parseField(expr: string, field: string, b: Bounds): CronField {
  const values = new Set<number>();
  let star = false;
  for (const part of expr.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') throw new CronParseError(`too many slashes or empty range in ${field}: ${part}`);
    let lo: number;
    let hi: number;
    let partStar = false;
    if (range === '*' || range === '?') {
      lo = b.min;
      hi = b.max;
      partStar = true;
    } else {
      const [a, c, more] = range.split('-');
      if (more !== undefined) throw new CronParseError(`too many hyphens in ${field}: ${range}`);
      lo = parseValue(a!, field, b);
      hi = c === undefined ? lo : parseValue(c, field, b);
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) throw new CronParseError(`failed to parse step ${stepText} in ${field}`);
      step = Number(stepText);
      if (step === 0) throw new CronParseError(`step of range should be a positive number in ${field}: ${part}`);
      // robfig: "N/step" means "N-max/step"
      if (!range.includes('-') && !partStar) hi = b.max;
      // robfig clears the star bit when the step is > 1
      if (step > 1) partStar = false;
    }
    if (lo < b.min) throw new CronParseError(`beginning of range (${lo}) below minimum (${b.min}) in ${field}: ${part}`);
    if (hi > b.max) throw new CronParseError(`end of range (${hi}) above maximum (${b.max}) in ${field}: ${part}`);
    if (lo > hi) throw new CronParseError(`beginning of range (${lo}) beyond end of range (${hi}) in ${field}: ${part}`);
    for (let v = lo; v <= hi; v += step) values.add(v);
    star = star || partStar;
  }
  return { values, star };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration (`1h30m`, `168h0m0s`, `90s`) into milliseconds. */
export function parseGoDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  if (text === '0') return 0;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== text.length || pos === 0) throw new CronParseError(`invalid duration ${JSON.stringify(text)} (a Go duration such as 168h0m0s; no "d" unit)`);
  return total;
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Parses like robfig/cron v3 `ParseStandard`. `defaultZone` is the scheduler's zone. */
export function parse(expression: string, defaultZone = 'UTC'): Schedule {
  let spec = expression.trim();
  let timeZone = defaultZone;
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(spec);
  if (tz) {
    timeZone = tz[1]!;
    if (!validZone(timeZone)) throw new CronParseError(`provided bad location ${timeZone}`);
    spec = spec.slice(tz[0].length).trim();
  }
  if (spec.startsWith('@')) {
    const descriptors: Record<string, string> = {
      '@yearly': '0 0 1 1 *',
      '@annually': '0 0 1 1 *',
      '@monthly': '0 0 1 * *',
      '@weekly': '0 0 * * 0',
      '@daily': '0 0 * * *',
      '@midnight': '0 0 * * *',
      '@hourly': '0 * * * *',
    };
    if (spec.startsWith('@every ')) {
      const everyMs = parseGoDuration(spec.slice(7).trim());
      // robfig rounds intervals below one second up to one second
      return { kind: 'every', expression, everyMs: Math.max(1000, everyMs - (everyMs % 1000)) };
    }
    const d = descriptors[spec];
    if (!d) throw new CronParseError(`unrecognized descriptor: ${spec}`);
    spec = d;
  }
  const parts = spec.split(/\s+/);
  if (parts.length !== 5) throw new CronParseError(`expected exactly 5 fields, found ${parts.length}: ${spec}`);
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]![0], FIELDS[i]![1])) as [CronField, CronField, CronField, CronField, CronField];
  return { kind: 'calendar', expression, timeZone, minute, hour, dom, month, dow };
}

/** robfig spec.go dayMatches. `weekday` 0 = Sunday. */
export function dayMatches(s: CronSchedule, dayOfMonth: number, weekday: number): boolean {
  const domMatch = s.dom.values.has(dayOfMonth);
  const dowMatch = s.dow.values.has(weekday);
  if (s.dom.star || s.dow.star) return domMatch && dowMatch;
  return domMatch || dowMatch;
}

const partsCache = new Map<string, Intl.DateTimeFormat>();
function wallClock(utcMs: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number } {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    partsCache.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(utcMs))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return { y: p.year!, mo: p.month!, d: p.day!, h: p.hour!, mi: p.minute! };
}

/** The UTC instant of a wall-clock time in a zone, or undefined when DST skips it. */
export function fromWallClock(y: number, mo: number, d: number, h: number, mi: number, tz: string): number | undefined {
  const naive = Date.UTC(y, mo - 1, d, h, mi);
  // Try the offsets in effect a day before and after: one of them is right unless the
  // time falls in a gap. The earlier instant wins for repeated (fall-back) times.
  const candidates = new Set<number>();
  for (const probe of [naive - 86_400_000, naive, naive + 86_400_000]) {
    const w = wallClock(probe, tz);
    const offset = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi) - (probe - (probe % 60_000));
    candidates.add(naive - offset);
  }
  const hits = [...candidates].filter((c) => {
    const w = wallClock(c, tz);
    return w.y === y && w.mo === mo && w.d === d && w.h === h && w.mi === mi;
  });
  return hits.length ? Math.min(...hits) : undefined;
}

export interface Fire {
  /** UTC milliseconds. */
  readonly at: number;
  /** The local date (in the schedule's zone) it fired on, YYYY-MM-DD. */
  readonly localDate: string;
  /** Local weekday, 0 = Sunday. */
  readonly localWeekday: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Every activation in [fromMs, toMs), in order. `@every` starts counting at fromMs. */
export function activations(s: Schedule, fromMs: number, toMs: number, defaultZone = 'UTC'): Fire[] {
  const out: Fire[] = [];
  if (s.kind === 'every') {
    for (let t = fromMs + s.everyMs; t < toMs; t += s.everyMs) {
      const w = wallClock(t, defaultZone);
      out.push({ at: t, localDate: `${w.y}-${pad(w.mo)}-${pad(w.d)}`, localWeekday: new Date(Date.UTC(w.y, w.mo - 1, w.d)).getUTCDay() });
    }
    return out;
  }
  // Walk local calendar days from one day before `from` to one day after `to`.
  const start = wallClock(fromMs - 86_400_000, s.timeZone);
  const end = wallClock(toMs + 86_400_000, s.timeZone);
  const endKey = Date.UTC(end.y, end.mo - 1, end.d);
  const hours = [...s.hour.values].sort((a, b) => a - b);
  const minutes = [...s.minute.values].sort((a, b) => a - b);
  for (let day = Date.UTC(start.y, start.mo - 1, start.d); day <= endKey; day += 86_400_000) {
    const date = new Date(day);
    const y = date.getUTCFullYear();
    const mo = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    const wd = date.getUTCDay();
    if (!s.month.values.has(mo) || !dayMatches(s, d, wd)) continue;
    for (const h of hours) {
      for (const mi of minutes) {
        const at = fromWallClock(y, mo, d, h, mi, s.timeZone);
        if (at === undefined || at < fromMs || at >= toMs) continue;
        out.push({ at, localDate: `${y}-${pad(mo)}-${pad(d)}`, localWeekday: wd });
      }
    }
  }
  return out.sort((a, b) => a.at - b.at);
}
