const PROM_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/**
 * Prometheus' model.ParseDuration (rule `for`): integer+unit groups in decreasing order
 * (`1h30m`, `2d`, `500ms`), or `0`. Milliseconds, or undefined when the text is not a
 * duration (the rule then reports a change without a direction).
 */
export function parsePromDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * PROM_UNITS[m[2]!]!;
  return total;
}
