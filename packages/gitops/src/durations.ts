/**
 * Duration parsers for the two syntaxes the risk rules compare: Go's time.ParseDuration
 * (Velero `ttl`, e.g. `168h0m0s`) and Prometheus' model.ParseDuration (rule `for`, e.g.
 * `5m`, `1h30m`, `2d`). Both return milliseconds, or undefined when the text is not a
 * valid duration in that syntax (the caller then reports "changed" without a direction).
 */
import { CronParseError, parseGoDuration as goDuration } from '@topoforge/robfig-cron';

/**
 * Go's time.ParseDuration, through the one port in @topoforge/robfig-cron (which throws, as
 * the renderer wants); the risk rules want undefined for "not a duration" instead, to report
 * a change without a direction.
 */
export function parseGoDuration(text: string): number | undefined {
  try {
    return goDuration(text.trim());
  } catch (e) {
    if (e instanceof CronParseError) return undefined;
    throw e;
  }
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

// One human form for durations in every report: Velero's review rule uses the same helper.
export { humanDuration } from '@topoforge/robfig-cron';
