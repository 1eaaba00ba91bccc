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

// Prometheus durations are read by the PrometheusRule review rules, which live with them.
export { parsePromDuration } from '@topoforge/review-prometheus';

// One human form for durations in every report: Velero's review rule uses the same helper.
export { humanDuration } from '@topoforge/robfig-cron';
