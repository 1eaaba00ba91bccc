import { describe, expect, it } from 'vitest';
import { decodeBackoff, encodeBackoff, FUTURE_TOLERANCE_MS, MAX_BACKOFF } from '../src/index.js';

const DCS = ['a', 'b', 'c'];
const now = Date.parse('2026-11-25T12:00:00Z');
const at = (iso: string) => Date.parse(`2026-11-25T${iso}Z`);
const record = (dcs: Record<string, unknown>, written = '2026-11-25T11:00:00.000Z') => JSON.stringify({ version: 1, at: written, dcs });

describe('the back-off record kept on the Gslbs', () => {
  it('round-trips; DCs at 1 × with no restore are left out and read back as absent', () => {
    const text = encodeBackoff({
      at: at('11:00:00'),
      dcs: { a: { factor: 1 }, b: { factor: 4, restoredAt: at('10:30:00') }, c: { factor: 1, restoredAt: at('09:00:00') } },
    });
    expect(JSON.parse(text)).toEqual({
      version: 1,
      at: '2026-11-25T11:00:00.000Z',
      dcs: { b: { factor: 4, restoredAt: '2026-11-25T10:30:00.000Z' }, c: { factor: 1, restoredAt: '2026-11-25T09:00:00.000Z' } },
    });
    expect(decodeBackoff(text, DCS, now)).toEqual({
      ok: true,
      record: { at: at('11:00:00'), dcs: { b: { factor: 4, restoredAt: at('10:30:00') }, c: { factor: 1, restoredAt: at('09:00:00') } } },
      problems: [],
    });
  });

  it('refuses a record it cannot trust as a whole, without throwing', () => {
    const problem = (text: string) => {
      const d = decodeBackoff(text, DCS, now);
      return d.ok ? undefined : d.problem;
    };
    expect(problem('{not json')).toBe('not JSON');
    for (const t of ['null', '[]', '"x"', '7']) expect(problem(t)).toBe('not a JSON object');
    expect(problem(JSON.stringify({ version: 2, at: '2026-11-25T11:00:00Z', dcs: {} }))).toBe('version 2, not 1');
    expect(problem(JSON.stringify({ version: 1, at: 'yesterday', dcs: {} }))).toBe('"at" is not a time');
    expect(problem(JSON.stringify({ version: 1, at: '2026-11-25T11:00:00Z', dcs: [] }))).toBe('"dcs" is not an object');
    // Written ahead of our clock by more than the tolerance: a wrong clock or an edit.
    expect(problem(record({}, new Date(now + FUTURE_TOLERANCE_MS + 1000).toISOString()))).toMatch(/^written in the future/);
    expect(problem(record({}, new Date(now + FUTURE_TOLERANCE_MS - 1000).toISOString()))).toBeUndefined();
  });

  it('leaves out the entries it cannot use, each with the reason; the others stay', () => {
    const d = decodeBackoff(
      record({
        a: { factor: 3, restoredAt: '2026-11-25T10:00:00Z' },
        b: { factor: 2, restoredAt: '2026-11-25T10:00:00Z' },
        c: { factor: 2 },
        x: { factor: 1 },
      }),
      DCS,
      now,
    );
    expect(d).toEqual({
      ok: true,
      record: { at: at('11:00:00'), dcs: { b: { factor: 2, restoredAt: at('10:00:00') } } },
      problems: ['a: factor is not 1, 2, 4 … 8', 'c: factor 2 without a restore', 'x: not a DC of the service'],
    });
    const bad = (entry: unknown) => {
      const r = decodeBackoff(record({ a: entry }), DCS, now);
      return r.ok ? r.problems : [r.problem];
    };
    expect(bad(null)).toEqual([`a: factor is not 1, 2, 4 … ${MAX_BACKOFF}`]);
    expect(bad({ factor: MAX_BACKOFF * 2, restoredAt: '2026-11-25T10:00:00Z' })).toEqual([`a: factor is not 1, 2, 4 … ${MAX_BACKOFF}`]);
    expect(bad({ factor: '2', restoredAt: '2026-11-25T10:00:00Z' })).toEqual([`a: factor is not 1, 2, 4 … ${MAX_BACKOFF}`]);
    expect(bad({ factor: 1, restoredAt: 'soon' })).toEqual(['a: restoredAt is not a time']);
    expect(bad({ factor: 2, restoredAt: '2026-11-25T11:30:00Z' })).toEqual(['a: restored after the record was written']);
  });

  it('a DC absent from the record is absent, whatever its name: `constructor` is a DNS label too', () => {
    const d = decodeBackoff(record({}), ['constructor', 'b'], now);
    expect(d.ok && d.record.dcs['constructor']).toBeUndefined();
  });
});
