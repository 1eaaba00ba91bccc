/**
 * Which days of the month each DC receives a service's backup. All rules are expressible
 * as a day-of-month list in robfig cron with day-of-week left at `*` (restricting both
 * would OR them).
 *
 * - Daily (full every day, or differential daily with weekday fulls): day d → DC
 *   ((d − 1) mod N) + 1 in rotation order; with 10 DCs the 11th goes to DC 1 again.
 * - Every E days (E > 1; the online store's 2): backups on days 1, 1+E, 1+2E, … of each
 *   month (`1-31/E`), and the j-th backup day of the month goes to DC ((j − 1) mod N) + 1.
 *   Plain day-of-month rotation would put odd days on odd DCs only (with 10 DCs, DCs 2, 4,
 *   … would never hold a store backup); counting backup days instead reaches every DC
 *   (with E = 2 and 10 DCs: DCs 1–6 twice a month, 7–10 once). Across a month end the gap
 *   can be shorter than E (31st → 1st) but never longer.
 */
export interface Slot {
  /** 1-based rotation position. */
  readonly position: number;
  readonly days: readonly number[];
}

export function dailySlots(dcCount: number): Slot[] {
  return Array.from({ length: dcCount }, (_, i) => ({ position: i + 1, days: range(1, 31).filter((d) => (d - 1) % dcCount === i) }));
}

export function everyNDaysSlots(dcCount: number, every: number): Slot[] {
  const backupDays = range(1, 31).filter((d) => (d - 1) % every === 0);
  return Array.from({ length: dcCount }, (_, i) => ({ position: i + 1, days: backupDays.filter((_d, j) => j % dcCount === i) }));
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** Compresses a day list for cron: `1,11,21,31`. */
export const cronDays = (days: readonly number[]): string => days.join(',');
