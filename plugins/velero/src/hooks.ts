/**
 * Full versus differential is the database's own: a Velero pre-backup exec hook runs the
 * engine's native tool in the database pod, then Velero copies the pod's volumes (with the
 * tool's repository on them) to the day's storage location. A fixed type is a JSON-array
 * command (no shell) where the tool allows it; a weekday-dependent type needs a shell, the
 * only thing that can read the local weekday at run time.
 */
import type { Service } from '@topoforge/model';

export type BackupType = 'full' | 'differential';

const ISO_WEEKDAY: Record<string, number> = { monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6, sunday: 7 };

/** The engine's backup of one type, as argv; undefined when the engine has no such backup. */
function tool(service: Service, type: BackupType): string[] | undefined {
  const db = service.database!;
  switch (db.engine) {
    case 'postgresql':
      // pgBackRest: a diff backup holds every change since the last full.
      return ['pgbackrest', `--stanza=${db.name}`, `--type=${type === 'full' ? 'full' : 'diff'}`, 'backup'];
    case 'mysql':
      // Percona XtraBackup: an incremental based on the last full is a differential.
      return type === 'full'
        ? ['xtrabackup', '--backup', '--target-dir=/backup/full']
        : ['xtrabackup', '--backup', '--target-dir=/backup/differential', '--incremental-basedir=/backup/full'];
    case 'mongodb':
      // mongodump has no differential mode.
      return type === 'full' ? ['mongodump', `--db=${db.name}`, '--oplog', '--archive=/backup/full.archive'] : undefined;
  }
}

const quote = (args: readonly string[]) => args.map((a) => `'${a}'`).join(' ');

/** Shell text for one backup; XtraBackup needs an empty target directory each time. */
function script(service: Service, type: BackupType): string | undefined {
  const argv = tool(service, type);
  if (!argv) return undefined;
  const target = argv.find((a) => a.startsWith('--target-dir='))?.slice('--target-dir='.length);
  return target ? `rm -rf '${target}' && exec ${quote(argv)}` : `exec ${quote(argv)}`;
}

/** A fixed-type hook command, or undefined when the engine has no such backup. */
export function fixedCommand(service: Service, type: BackupType): string[] | undefined {
  const argv = tool(service, type);
  if (!argv) return undefined;
  return argv.some((a) => a.startsWith('--target-dir=')) ? ['/bin/sh', '-c', script(service, type)!] : argv;
}

/**
 * Full on the given weekdays, differential otherwise, decided from the weekday of the
 * region's wall clock when the hook runs (`date +%u`: 1 = Monday … 7 = Sunday). The
 * Schedule fires at the window start (00:00) and the hook runs minutes later on the same
 * local date. Without time-zone data in the container `TZ=Zone date` silently prints UTC,
 * which is the previous day at local midnight east of Greenwich in summer and all year in
 * Kolkata or Tokyo; the hook refuses to guess and fails the backup instead.
 */
export function weekdayCommand(service: Service, fullWeekdays: readonly string[], timeZone: string): string[] | undefined {
  const full = script(service, 'full');
  const diff = script(service, 'differential');
  if (!full || !diff) return undefined;
  const days = fullWeekdays
    .map((d) => ISO_WEEKDAY[d]!)
    .sort((a, b) => a - b)
    .join('|');
  return [
    '/bin/sh',
    '-c',
    `zone=${timeZone}; [ -f "/usr/share/zoneinfo/$zone" ] || { echo "no time-zone data for $zone in this container: cannot tell a full from a differential day" >&2; exit 1; }; ` +
      `case "$(TZ=$zone date +%u)" in ${days}) ${full} ;; *) ${diff} ;; esac`,
  ];
}

/** What a tool invocation does, read from its own arguments. */
export function typeOfInvocation(text: string): BackupType | undefined {
  if (/\bpgbackrest\b/.test(text)) return /--type='?full\b/.test(text) ? 'full' : /--type='?(diff|incr)\b/.test(text) ? 'differential' : undefined;
  if (/\bxtrabackup\b/.test(text)) return text.includes('--incremental-basedir') ? 'differential' : 'full';
  if (/\bmongodump\b/.test(text)) return 'full';
  return undefined;
}

/** How an emitted hook command decides the type: fixed, or by local weekday (ISO 1–7). */
export type HookRule =
  | { readonly kind: 'fixed'; readonly type: BackupType }
  | { readonly kind: 'weekday'; readonly timeZone: string; readonly isoDays: readonly number[]; readonly onDays: BackupType; readonly otherwise: BackupType };

/** Reads an emitted pre-hook command back (the calendar uses what will run, not the policy). */
export function readHookCommand(command: readonly string[]): HookRule | undefined {
  const text = command.join(' ');
  const m = /zone=(\S+?);.*case "\$\(TZ=\$zone date \+%u\)" in ([\d|]+)\) (.*?) ;; \*\) (.*?) ;; esac/.exec(text);
  if (m) {
    const onDays = typeOfInvocation(m[3]!);
    const otherwise = typeOfInvocation(m[4]!);
    if (!onDays || !otherwise) return undefined;
    return { kind: 'weekday', timeZone: m[1]!, isoDays: m[2]!.split('|').map(Number), onDays, otherwise };
  }
  const type = typeOfInvocation(text);
  return type ? { kind: 'fixed', type } : undefined;
}
