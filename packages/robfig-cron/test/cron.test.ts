import { describe, expect, it } from 'vitest';
import {
  activations,
  CronParseError,
  dayMatches,
  formatGoDuration,
  goDate,
  humanDuration,
  isGoLocation,
  next,
  parse,
  parseGoDuration,
  type CronSchedule,
} from '../src/index.js';
import { rawOffset } from '../src/zone.js';

const cal = (e: string) => parse(e) as CronSchedule;
const days = (expr: string, from: string, to: string) => activations(parse(expr), Date.parse(from), Date.parse(to)).map((f) => f.localDate.slice(5));

describe('robfig/cron v3 ParseStandard semantics', () => {
  it('parses fields, ranges, steps, lists and names', () => {
    const s = cal('5,10-12 */6 1-31/10 JAN,mar-May mon-FRI');
    expect([...s.minute.values]).toEqual([5, 10, 11, 12]);
    expect([...s.hour.values]).toEqual([0, 6, 12, 18]);
    expect([...s.dom.values]).toEqual([1, 11, 21, 31]);
    expect([...s.month.values]).toEqual([1, 3, 4, 5]);
    expect([...s.dow.values]).toEqual([1, 2, 3, 4, 5]);
    expect([...cal('0 0 5/10 * *').dom.values]).toEqual([5, 15, 25]); // N/step = N-max/step
  });

  it('keeps the star bit for * and ? and */1, and clears it for a step > 1', () => {
    expect(cal('0 0 * * *').dom.star).toBe(true);
    expect(cal('0 0 ? * ?').dow.star).toBe(true);
    expect(cal('0 0 */1 * *').dom.star).toBe(true);
    expect(cal('0 0 */2 * *').dom.star).toBe(false);
    expect(cal('0 0 1-31 * *').dom.star).toBe(false);
  });

  it('ANDs the day fields when either is a star, ORs them when both are restricted', () => {
    // 2026-12-01 is a Tuesday.
    expect(days('0 0 1 * *', '2026-12-01T00:00:00Z', '2026-12-08T00:00:00Z')).toEqual(['12-01']);
    expect(days('0 0 * * 5', '2026-12-01T00:00:00Z', '2026-12-08T00:00:00Z')).toEqual(['12-04']);
    // both restricted: the 1st OR any Friday
    expect(days('0 0 1 * 5', '2026-12-01T00:00:00Z', '2026-12-15T00:00:00Z')).toEqual(['12-01', '12-04', '12-11']);
    // */2 counts as restricted: odd days OR Fridays
    expect(days('0 0 */2 * 5', '2026-12-01T00:00:00Z', '2026-12-07T00:00:00Z')).toEqual(['12-01', '12-03', '12-04', '12-05']);
    const s = cal('0 0 1 * 5');
    expect(dayMatches(s, 2, 5)).toBe(true);
    expect(dayMatches(s, 2, 4)).toBe(false);
  });

  it('fires on the wall clock of CRON_TZ, across month ends and February', () => {
    const f = activations(parse('CRON_TZ=Asia/Tokyo 0 0 28-31 * *'), Date.parse('2027-02-01T00:00:00Z'), Date.parse('2027-03-03T00:00:00Z'));
    expect(f.map((x) => x.localDate)).toEqual(['2027-02-28']);
    expect(new Date(f[0]!.at).toISOString()).toBe('2027-02-27T15:00:00.000Z');
    const ny = activations(parse('TZ=America/New_York 0 0 * * *'), Date.parse('2026-07-01T00:00:00Z'), Date.parse('2026-07-02T12:00:00Z'));
    expect(ny.map((x) => new Date(x.at).toISOString())).toEqual(['2026-07-01T04:00:00.000Z', '2026-07-02T04:00:00.000Z']);
  });

  it('matches on the wall clock through DST: a skipped time does not fire, a repeated one fires twice (as robfig)', () => {
    // Europe/Berlin springs forward 2027-03-28 02:00 → 03:00, falls back 2027-10-31 03:00 → 02:00.
    expect(new Date(goDate('Europe/Berlin', 2027, 3, 28, 2, 30, 0)).toISOString()).toBe('2027-03-28T01:30:00.000Z'); // Go: 03:30 CEST
    expect(days('CRON_TZ=Europe/Berlin 30 2 * * *', '2027-03-27T00:00:00Z', '2027-03-30T00:00:00Z')).toEqual(['03-27', '03-29']);
    const fallBack = activations(parse('CRON_TZ=Europe/Berlin 30 2 * * *'), Date.parse('2027-10-31T00:00:00Z'), Date.parse('2027-11-01T00:00:00Z'));
    expect(fallBack.map((x) => new Date(x.at).toISOString())).toEqual(['2027-10-31T00:30:00.000Z', '2027-10-31T01:30:00.000Z']);
    expect(fallBack.map((x) => x.localTime)).toEqual(['02:30', '02:30']);
    // Midnight itself is never touched by DST in the zones topoforge ships.
    for (const tz of ['Europe/Lisbon', 'Europe/Berlin', 'Europe/Helsinki', 'America/New_York', 'America/Los_Angeles', 'Asia/Kolkata', 'Asia/Tokyo']) {
      const f = activations(parse(`CRON_TZ=${tz} 0 0 * * *`), Date.parse('2027-01-01T00:00:00Z'), Date.parse('2029-01-01T00:00:00Z'));
      expect(f.length, tz).toBeGreaterThanOrEqual(730);
      expect(f.length, tz).toBeLessThanOrEqual(732);
      expect(new Set(f.map((x) => x.localDate)).size, tz).toBe(f.length);
      expect(
        f.every((x) => x.localTime === '00:00'),
        tz,
      ).toBe(true);
    }
  });

  it('follows robfig quirks: empty list items, "*-5", a sign, TZ= without a schedule', () => {
    expect([...cal('0 0 1,,15, * *').dom.values]).toEqual([1, 15]);
    expect(cal('0 0 *-5 * *').dom.star).toBe(true);
    expect([...cal('0 0 +3 * *').dom.values]).toEqual([3]);
    expect(() => parse('CRON_TZ=Europe/Berlin')).toThrow(/without a schedule/);
    expect(() => parse('CRON_TZ=europe/berlin 0 0 * * *')).toThrow(/bad location/);
    expect((parse('CRON_TZ= 0 0 * * *') as CronSchedule).timeZone).toBe('UTC');
  });

  it('gives up after five years like robfig (February 30 never comes)', () => {
    expect(next(parse('0 0 30 2 *'), Date.parse('2027-01-01T00:00:00Z'))).toBeUndefined();
    expect(new Date(next(parse('0 0 29 2 *'), Date.parse('2027-01-01T00:00:00Z'))!).toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('understands descriptors and @every', () => {
    expect(days('@daily', '2026-12-30T00:00:00Z', '2027-01-02T00:00:00Z')).toEqual(['12-30', '12-31', '01-01']);
    expect(days('@weekly', '2026-12-01T00:00:00Z', '2026-12-15T00:00:00Z')).toEqual(['12-06', '12-13']);
    expect(days('@monthly', '2026-12-01T00:00:00Z', '2027-02-15T00:00:00Z')).toEqual(['12-01', '01-01', '02-01']);
    expect(activations(parse('@every 1h30m'), 0, 4 * 3_600_000).map((x) => x.at)).toEqual([5_400_000, 10_800_000]);
  });

  it('rejects what robfig rejects', () => {
    for (const bad of [
      '0 0 * *',
      '0 0 * * * *',
      '60 0 * * *',
      '0 24 * * *',
      '0 0 0 * *',
      '0 0 32 * *',
      '0 0 * 13 *',
      '0 0 * * 7',
      '0 0 5-1 * *',
      '0 0 */0 * *',
      'CRON_TZ=Mars/Base 0 0 * * *',
      '@fortnightly',
      '0 0 1-2-3 * *',
      'x 0 * * *',
    ]) {
      expect(() => parse(bad), bad).toThrow(CronParseError);
    }
  });

  it('parses Go durations as Velero ttl values', () => {
    expect(parseGoDuration('168h0m0s')).toBe(7 * 86_400_000);
    expect(parseGoDuration('336h')).toBe(14 * 86_400_000);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('-1.5h')).toBe(-5_400_000);
    expect(() => parseGoDuration('7d')).toThrow(/no "d"/);
    expect(() => parseGoDuration('')).toThrow(CronParseError);
    expect(formatGoDuration(14 * 86_400_000)).toBe('336h0m0s');
    expect(formatGoDuration(90_000)).toBe('1m30s');
  });

  it('shows durations as reviewers read them: largest units first, zero parts left out', () => {
    expect(humanDuration(parseGoDuration('168h0m0s'))).toBe('7d');
    expect(humanDuration(parseGoDuration('84h0m0s'))).toBe('3d 12h');
    expect(humanDuration(parseGoDuration('1h30m'))).toBe('1h 30m');
    expect(humanDuration(parseGoDuration('90m'))).toBe('1h 30m');
    expect(humanDuration(45_000)).toBe('45s');
    expect(humanDuration(1_500)).toBe('1s 500ms');
    expect(humanDuration(0)).toBe('0ms');
    // a fraction of a millisecond (Go's ns and µs units) rounds to whole milliseconds
    expect(humanDuration(parseGoDuration('1500us'))).toBe('2ms');
  });

  it('loads only files of the tz database by exact name, as Go does (ICU also accepts CST, PST, JST, IST)', () => {
    for (const z of ['Europe/Lisbon', 'Asia/Kolkata', 'UTC', 'EST', 'CST6CDT', 'Etc/GMT+5', 'Japan']) expect(isGoLocation(z), z).toBe(true);
    for (const z of ['CST', 'PST', 'JST', 'IST', 'europe/lisbon', 'Mars/Olympus', '../etc/passwd']) expect(isGoLocation(z), z).toBe(false);
    expect(() => parse('CRON_TZ=JST 0 0 * * *')).toThrow(CronParseError);
  });
});

describe('zone offsets', () => {
  // The offset from Intl's wall-clock reading of the instant (what the zone code used first).
  const wallClockOffset = (zone: string, ms: number): number => {
    const f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const p: Record<string, number> = {};
    for (const x of f.formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value);
    return (Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - ms) / 1000;
  };

  it('rawOffset reads the same offset as the wall clock: seconds-offset LMT, quarter hours, half-hour DST, zero', () => {
    const zones = [
      'Africa/Monrovia',
      'Europe/Amsterdam',
      'Asia/Kathmandu',
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'America/St_Johns',
      'Europe/Dublin',
      'UTC',
    ];
    let seconds = 0;
    for (const zone of zones)
      for (let year = 1900; year <= 2040; year += 4)
        for (let day = 0; day < 365; day += 29) {
          const ms = Date.UTC(year, 0, 1) + day * 86_400_000 + (day % 24) * 3_600_000;
          const want = wallClockOffset(zone, ms);
          if (want % 60 !== 0) seconds++;
          expect(rawOffset(zone, ms), `${zone} ${new Date(ms).toISOString()}`).toBe(want);
        }
    expect(seconds).toBeGreaterThan(0); // Monrovia's -0:44:30 and Amsterdam's +0:19:32 were reached
  });
});
