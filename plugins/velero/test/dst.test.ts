import { describe, expect, it } from 'vitest';
import { dstProblems, dstScan } from '../src/index.js';

// The fast scan checks only days near an offset change; it must find exactly what checking every
// day finds. Zones: whole-hour DST north and south, a 30-minute DST (Lord Howe), a zone whose DST
// ends at midnight (Havana), one that leaves DST for Ramadan each year (Casablanca), one without DST
// since 2019 (Sao Paulo), one that never had it (UTC).
const zones = ['Europe/Berlin', 'America/Havana', 'Australia/Lord_Howe', 'America/Sao_Paulo', 'Pacific/Auckland', 'Africa/Casablanca', 'UTC'];
const times: [number, number][] = [
  [0, 0],
  [0, 30],
  [1, 30],
  [2, 0],
  [2, 30],
  [3, 0],
];

describe('DST check of a backup window start', () => {
  it('the scan near offset changes finds what checking every day finds (2026–2029)', () => {
    let problems = 0;
    for (const zone of zones) {
      for (const [hh, mm] of times) {
        const full = dstScan(zone, hh, mm, 2026, 2029, false);
        expect(dstScan(zone, hh, mm, 2026, 2029, true), `${zone} ${hh}:${mm}`).toEqual(full);
        problems += full.length;
      }
    }
    // Not vacuous: the reference finds skipped and repeated days in these zones.
    expect(problems).toBeGreaterThan(40);
  });

  it('answers from its cache with a copy the caller may change', () => {
    const a = dstProblems('Europe/Berlin', 2, 30);
    expect(a[0]).toBe('2026-03-29: skipped by DST');
    a.length = 0;
    expect(dstProblems('Europe/Berlin', 2, 30)[0]).toBe('2026-03-29: skipped by DST');
  });
});
