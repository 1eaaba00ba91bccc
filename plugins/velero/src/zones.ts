/**
 * Time zones Velero can use in `CRON_TZ=`: Go's time.LoadLocation reads a file of the tz
 * database, so a name must be exactly such a file. ICU (and so Node's Intl, which the
 * model's loader uses) also accepts abbreviations such as CST, PST, JST or IST that are
 * no file: Velero would reject every Schedule (FailedValidation). Abbreviations that DO
 * load (EST, MST, HST, CST6CDT, …) are fixed offsets or POSIX rules, not the region's
 * civil time, and CST or IST mean several zones: refused too.
 */
import { isGoLocation } from '@topoforge/robfig-cron';

export function zoneProblem(zone: string): string | undefined {
  if (/^[A-Z]{2,5}$/.test(zone) && zone !== 'UTC')
    return `"${zone}" is an abbreviation, not a time zone: Go's time.LoadLocation (Velero's CRON_TZ) ${isGoLocation(zone) ? "reads it as a fixed offset without the region's daylight saving" : 'cannot load it and Velero rejects the Schedule'}`;
  if (/^[A-Z]{3}\d+[A-Z]{3}$/.test(zone)) return `"${zone}" is a POSIX-style rule, not the region's time zone`;
  if (!isGoLocation(zone)) return `time zone "${zone}" is unknown to Velero's CRON_TZ (Go time.LoadLocation reads files of the tz database by exact name)`;
  return undefined;
}
