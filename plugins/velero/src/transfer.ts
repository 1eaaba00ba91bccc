/**
 * How many bytes a day the backups move, per instance, from the model's sizes
 * (`database.sizeGiB`, `database.changeGiBPerDay`). A full ships the database; a
 * differential ships what changed since its full (at most changeGiBPerDay × days since
 * the full: repeated changes to the same pages count once, so this is an upper bound).
 * For comparison: shipping the whole pgBackRest repository with every Backup, as before,
 * moved every set the repository keeps (the retention's fulls and differentials) each time.
 */
import type { Environment } from '@topoforge/model';
import { backupPolicyOf, type BackupPolicy } from './policy.js';
import { ISO_WEEKDAY } from './hooks.js';
import { runners } from './schedules.js';

export interface Transfer {
  readonly instance: string;
  readonly policy: string;
  readonly sizeGiB: number;
  readonly changeGiBPerDay: number;
  /** Average GiB shipped per day with per-set shipping. */
  readonly perDayGiB: number;
  /** Average GiB per day when every Backup carried the whole repository. */
  readonly wholeRepositoryPerDayGiB: number;
}

/** The sets of one 28-day cycle: the size of each day's set, or 0 on days without a backup. */
function cycle(policy: BackupPolicy, size: number, change: number): number[] {
  const days: number[] = [];
  if (policy.full.everyDays !== undefined) {
    for (let d = 0; d < 28; d++) days.push(d % policy.full.everyDays === 0 ? size : 0);
    return days;
  }
  const fullDays = new Set(policy.full.weekdays!.map((w) => ISO_WEEKDAY[w]!));
  let sinceFull = 0;
  // Start on a full day so the first differentials have their full.
  const first = Math.min(...fullDays);
  for (let d = 0; d < 28; d++) {
    const iso = ((first - 1 + d) % 7) + 1;
    if (fullDays.has(iso)) {
      sinceFull = 0;
      days.push(size);
    } else {
      sinceFull++;
      days.push(change * sinceFull);
    }
  }
  return days;
}

export function transferPerDay(env: Environment): Transfer[] {
  const out: Transfer[] = [];
  for (const r of runners(env)) {
    if (r.standby) continue;
    const db = r.service.database!;
    const policy = backupPolicyOf(r.service)!;
    if (db.sizeGiB === undefined) continue;
    const change = db.changeGiBPerDay ?? 0;
    const sets = cycle(policy, db.sizeGiB, change);
    const perDay = sets.reduce((a, b) => a + b, 0) / sets.length;
    // The repository on the day of each backup: every set of the last `retentionDays` days.
    let whole = 0;
    sets.forEach((set, d) => {
      if (set === 0) return;
      for (let k = 0; k < policy.retentionDays; k++) whole += sets[(d - k + 28 * 10) % 28]!;
    });
    out.push({
      instance: r.instance.name,
      policy: policy.name,
      sizeGiB: db.sizeGiB,
      changeGiBPerDay: change,
      perDayGiB: round(perDay),
      wholeRepositoryPerDayGiB: round(whole / sets.length),
    });
  }
  return out;
}

const round = (x: number): number => Math.round(x * 10) / 10;

export function formatTransfer(rows: readonly Transfer[]): string {
  if (rows.length === 0) return 'no database sizes in the model (database.sizeGiB)';
  const total = (k: 'perDayGiB' | 'wholeRepositoryPerDayGiB') => round(rows.reduce((a, r) => a + r[k], 0));
  const header = ['instance', 'policy', 'size GiB', 'changed GiB/day', 'shipped GiB/day', 'whole repository GiB/day'];
  const body = rows.map((r) => [r.instance, r.policy, String(r.sizeGiB), String(r.changeGiBPerDay), String(r.perDayGiB), String(r.wholeRepositoryPerDayGiB)]);
  body.push(['total', '', '', '', String(total('perDayGiB')), String(total('wholeRepositoryPerDayGiB'))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
