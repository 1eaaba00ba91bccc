/**
 * Full versus differential is the database's own: a Velero pre-backup exec hook runs the
 * engine's native tool in the database pod, then Velero copies the pod's volumes (with
 * the tool's repository on them) to the day's storage location. Commands are JSON arrays
 * (no shell) unless the type depends on the weekday, which only a shell can read at run time.
 */
import type { Service } from '@topoforge/model';

export type BackupType = 'full' | 'differential';

const ISO_WEEKDAY: Record<string, number> = { monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6, sunday: 7 };

function tool(service: Service, type: BackupType): string[] | undefined {
  const db = service.database!;
  switch (db.engine) {
    case 'postgresql':
      // pgBackRest: a diff backup holds the changes since the last full.
      return ['pgbackrest', `--stanza=${db.name}`, `--type=${type === 'full' ? 'full' : 'diff'}`, 'backup'];
    case 'mysql':
      // Percona XtraBackup: a differential is an incremental based on the last full.
      return type === 'full'
        ? ['xtrabackup', '--backup', '--target-dir=/backup/full']
        : ['xtrabackup', '--backup', '--target-dir=/backup/differential', '--incremental-basedir=/backup/full'];
    case 'mongodb':
      // mongodump has no differential mode.
      return type === 'full' ? ['mongodump', `--db=${db.name}`, '--oplog', '--archive=/backup/full.archive'] : undefined;
  }
}

/** A fixed-type hook command, or undefined when the engine has no such backup. */
export function fixedCommand(service: Service, type: BackupType): string[] | undefined {
  return tool(service, type);
}

/**
 * Full on the given weekdays, differential otherwise, decided from the local weekday of the
 * region at run time (`date +%u`: 1 = Monday … 7 = Sunday).
 */
export function weekdayCommand(service: Service, fullWeekdays: readonly string[], timeZone: string): string[] | undefined {
  const full = tool(service, 'full');
  const diff = tool(service, 'differential');
  if (!full || !diff) return undefined;
  const days = fullWeekdays.map((d) => ISO_WEEKDAY[d]).sort().join('|');
  const q = (args: string[]) => args.map((a) => `'${a}'`).join(' ');
  return ['/bin/sh', '-c', `case "$(TZ=${timeZone} date +%u)" in ${days}) exec ${q(full)} ;; *) exec ${q(diff)} ;; esac`];
}

/** The weekday numbers (0 = Sunday, as cron) of a weekday list. */
export function weekdayNumbers(days: readonly string[]): number[] {
  return days.map((d) => ISO_WEEKDAY[d]! % 7).sort((a, b) => a - b);
}
