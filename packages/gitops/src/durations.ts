/**
 * Duration parsers for the two syntaxes the risk rules compare: Go's time.ParseDuration
 * (Velero `ttl`, e.g. `168h0m0s`) and Prometheus' model.ParseDuration (rule `for`, e.g.
 * `5m`, `1h30m`, `2d`). Both return milliseconds, or undefined when the text is not a
 * valid duration in that syntax (the caller then reports "changed" without a direction).
 */

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or a bare `0`. */
export function parseGoDuration(text: string): number | undefined {
  let s = text.trim();
  if (s === '0' || s === '+0' || s === '-0') return 0;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '') return undefined;
  const part = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || m[1] === '' || m[1] === '.') return undefined;
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

const PROM_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** Prometheus durations: integer+unit groups in decreasing order (`1h30m`, `2d`, `500ms`), or `0`. */
export function parsePromDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * PROM_UNITS[m[2]!]!;
  return total;
}

/** Human form for reports: `7d`, `3d 12h`, `90m`, `45s`. */
export function humanDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join(' ');
}
