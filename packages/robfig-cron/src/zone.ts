/**
 * The few pieces of Go's `time` package that robfig/cron's `Next` relies on, over the
 * IANA database that `Intl` carries. Instants are UTC milliseconds at whole seconds
 * (robfig works at second resolution).
 *
 * - `civil(zone, t)`          ≈ `t.In(loc).Date()/Clock()/Weekday()`
 * - `goDate(zone, y, …)`      ≈ `time.Date(y, mo, d, h, mi, s, 0, loc)`, including Go's choice
 *                                of instant for wall times that DST skips or repeats
 * - `addDate(zone, t, y, m, d)` ≈ `t.AddDate(y, m, d)` (wall-clock arithmetic, then `Date`)
 */

const HOUR = 3_600_000;

// `longOffset` names the offset itself ("GMT+05:45", "GMT-00:25:21", "GMT" for zero), and
// `format` is several times cheaper than `formatToParts` (which builds an object per field):
// the bundled `check` asks for some thousands of offsets when it looks for backup times that DST
// skips or repeats. The test compares it with the wall-clock reading over zones and centuries.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    formatters.set(zone, f);
  }
  return f;
}

const LONG_OFFSET = /GMT(?:([+-])(\d\d):(\d\d)(?::(\d\d))?)?$/;

/** UTC offset in seconds of `zone` at instant `ms`, straight from Intl. */
export function rawOffset(zone: string, ms: number): number {
  const text = formatter(zone).format(new Date(Math.floor(ms / 1000) * 1000));
  const m = LONG_OFFSET.exec(text);
  if (!m) throw new Error(`unexpected offset from Intl for ${zone}: ${text}`);
  if (!m[1]) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0));
}

// Offsets per (zone, UTC hour): Next() asks for the wall clock hundreds of times per call.
// An hour whose first and last second share an offset has no transition inside it (no zone
// has ever changed offset twice within one hour).
const offsetCache = new Map<string, number>();
export function offsetAt(zone: string, ms: number): number {
  const hour = Math.floor(ms / HOUR);
  const key = `${zone}|${hour}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const a = rawOffset(zone, hour * HOUR);
  const b = rawOffset(zone, hour * HOUR + HOUR - 1000);
  if (a !== b) return rawOffset(zone, ms);
  if (offsetCache.size > 200_000) offsetCache.clear();
  offsetCache.set(key, a);
  return a;
}

export interface Civil {
  readonly year: number;
  /** 1–12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 = Sunday, as Go's time.Weekday. */
  readonly weekday: number;
}

export function civil(zone: string, ms: number): Civil {
  const d = new Date(Math.floor(ms / 1000) * 1000 + offsetAt(zone, ms) * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

/**
 * Go's `time.Date` (go/src/time/time.go): fields out of range are normalised (Date.UTC does
 * the same: months into years, then days, hours … counted from the first of the month),
 * then the offset is found as Go does:
 *
 *     _, offset, start, end, _ := loc.lookup(unix)   // unix = the wall clock read as UTC
 *     if offset != 0 {
 *         utc := unix - int64(offset)
 *         if utc < start || utc >= end { _, offset, _, _, _ = loc.lookup(utc) }
 *         unix -= int64(offset)
 *     }
 *
 * i.e. the result is `unix − offset(unix − offset(unix))` (when `utc` is inside the first
 * period, its offset is that period's anyway). For a skipped wall time this lands after the
 * gap (02:30 on a spring-forward night → 03:30); for a repeated one Go picks whichever the
 * rule gives, which the differential tests against real Go check.
 */
export function goDate(zone: string, y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const unix = Date.UTC(y, mo - 1, d, h, mi, s);
  const first = offsetAt(zone, unix);
  if (first === 0) return unix;
  return unix - offsetAt(zone, unix - first * 1000) * 1000;
}

export function addDate(zone: string, t: number, years: number, months: number, days: number): number {
  const c = civil(zone, t);
  return goDate(zone, c.year + years, c.month + months, c.day + days, c.hour, c.minute, c.second);
}

/**
 * Whether Go's `time.LoadLocation` would accept the name (as robfig's CRON_TZ= does).
 * `""` and `UTC` are UTC, `Local` is the process zone; anything else must be an IANA
 * name. Intl accepts names case-insensitively but Go reads the file of that exact name
 * from the zoneinfo tree, so a name that only differs in case from Intl's is rejected.
 */
const goLocations = new Map<string, boolean>();
export function isGoLocation(name: string): boolean {
  // Asked for every zone of every Schedule; an Intl.DateTimeFormat costs a fraction of a millisecond to build.
  let known = goLocations.get(name);
  if (known === undefined) {
    known = checkGoLocation(name);
    if (goLocations.size < 10_000) goLocations.set(name, known);
  }
  return known;
}

function checkGoLocation(name: string): boolean {
  if (name === '' || name === 'UTC' || name === 'Local') return true;
  if (name.startsWith('/') || name.includes('..') || /^[+-]/.test(name)) return false;
  // ICU also accepts names that are no file of the tz database (CST, PST, JST, IST, …);
  // Go reads files, so a name without an area must be one of the database's top-level files.
  const area = name.split('/')[0]!;
  if (name.includes('/') ? !TZDB_AREAS.has(area) : !TZDB_TOP_LEVEL.has(name)) return false;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    return resolved === name || resolved.toLowerCase() !== name.toLowerCase();
  } catch {
    return false;
  }
}

/** Top-level files of the IANA tz database (2024+), as Go's zoneinfo reads them. */
const TZDB_TOP_LEVEL = new Set(
  'CET CST6CDT Cuba EET EST EST5EDT Egypt Eire Factory GB GB-Eire GMT GMT+0 GMT-0 GMT0 Greenwich HST Hongkong Iceland Iran Israel Jamaica Japan Kwajalein Libya MET MST MST7MDT NZ NZ-CHAT Navajo PRC PST8PDT Poland Portugal ROC ROK Singapore Turkey UCT US UTC Universal W-SU WET Zulu'.split(
    ' ',
  ),
);
/** Areas (directories) of the IANA tz database. */
const TZDB_AREAS = new Set('Africa America Antarctica Arctic Asia Atlantic Australia Brazil Canada Chile Etc Europe Indian Mexico Pacific US'.split(' '));
