/**
 * Full versus differential is the database's own: a Velero pre-backup exec hook runs the
 * engine's native tool in the database's primary pod, then copies ONLY the backup set it
 * just took into the pod's "outbox" volume, the one volume Velero ships (fs-backup). So a
 * full ships the full, a differential ships the changes since its full, and the tool's
 * working repository (on another volume) never leaves the pod.
 *
 * Security: the scripts below are CONSTANTS. Every value from the model (stanza, zone,
 * weekdays, paths) reaches them as a positional parameter of `sh -c SCRIPT NAME ARGS…`
 * and is only ever expanded inside double quotes, so a value like `'; rm -rf / #`,
 * `$(reboot)` or a newline is an argument, never shell code.
 */
import type { Service } from '@topoforge/model';

export type BackupType = 'full' | 'differential';

/**
 * What one Schedule's hook does. `full` / `differential`: always that type (fixed
 * policies). `weekday-full` / `weekday-diff`: the two halves of "full on these weekdays,
 * differential on the others" — each Schedule of the pair takes its type on its days and
 * ships nothing on the others, so that fulls and differentials can have different ttls
 * (a full must outlive the differentials taken on it; see README).
 */
export type HookMode = 'full' | 'differential' | 'weekday-full' | 'weekday-diff';

export const ISO_WEEKDAY: Readonly<Record<string, number>> = { monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6, sunday: 7 };

/**
 * Weekday names in ISO order (Monday first), the order the hook reads them in: a policy's
 * `weekdays` is a set, and the order it was written in must not reach any Schedule.
 */
export const inIsoOrder = (days: readonly string[]): string[] => [...days].sort((a, b) => ISO_WEEKDAY[a]! - ISO_WEEKDAY[b]!);

export interface HookPaths {
  /** The tool's working repository in the pod (pgBackRest repo1-path, XtraBackup base). */
  readonly repository: string;
  /** The volume Velero ships: emptied, then filled with this backup's set only. */
  readonly outbox: string;
}

/**
 * Decides the type. `$1` mode, `$2` zone, `$3` ISO weekdays of fulls (space-separated).
 * Sets `type` to full, diff or empty (nothing to do today). Without time-zone data in the
 * container `TZ=Zone date` silently answers in UTC — the previous day at local midnight
 * in Kolkata or Tokyo — so the hook refuses to guess and fails the backup.
 */
const DECIDE = `set -eu
mode=$1 zone=$2 fulldays=$3
case "$mode" in
  full) type=full ;;
  differential) type=diff ;;
  weekday-full|weekday-diff)
    if [ ! -f "/usr/share/zoneinfo/$zone" ]; then
      echo "no time-zone data for $zone in this container: cannot tell a full from a differential day" >&2
      exit 1
    fi
    weekday=$(TZ="$zone" date +%u)
    case " $fulldays " in *" $weekday "*) today=full ;; *) today=diff ;; esac
    if [ "$mode" = "weekday-$today" ]; then type=$today; else type=; fi ;;
  *) echo "unknown backup mode: $mode" >&2; exit 2 ;;
esac
`;

/** Empties the outbox; on a day without work leaves a note and stops. `$4` repository, `$5` outbox. */
const OUTBOX = `repo=$4 outbox=$5
if [ ! -d "$outbox" ]; then echo "the outbox volume $outbox is not mounted" >&2; exit 1; fi
find "$outbox" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
if [ -z "$type" ]; then
  printf '%s\\n' "$mode: not a day of this schedule in $zone; nothing shipped" > "$outbox/TOPOFORGE_SKIPPED"
  exit 0
fi
`;

/**
 * pgBackRest (`$6` stanza): back up into the pod's repository (which keeps the last two
 * fulls and their differentials: pgBackRest expires a differential with its full), then
 * copy the new set with backup.info and archive.info into the outbox. `--archive-copy`
 * puts the WAL that makes the set consistent inside the set, so it restores on its own
 * (a differential together with its full).
 */
export const POSTGRESQL_SCRIPT = `${DECIDE}${OUTBOX}stanza=$6
pgbackrest --stanza="$stanza" --repo1-path="$repo" --repo1-retention-full-type=count --repo1-retention-full=2 --archive-copy --type="$type" backup
set=$(ls -1 "$repo/backup/$stanza" | grep -E '^[0-9]{8}-[0-9]{6}F(_[0-9]{8}-[0-9]{6}D)?$' | sort | tail -n 1)
if [ -z "$set" ]; then echo "pgbackrest made no backup set" >&2; exit 1; fi
mkdir -p "$outbox/backup/$stanza" "$outbox/archive/$stanza"
cp -a "$repo/backup/$stanza/$set" "$outbox/backup/$stanza/"
cp "$repo/backup/$stanza/backup.info" "$repo/backup/$stanza/backup.info.copy" "$outbox/backup/$stanza/"
cp "$repo/archive/$stanza/archive.info" "$repo/archive/$stanza/archive.info.copy" "$outbox/archive/$stanza/"
case "$set" in *D) shipped=differential ;; *) shipped=full ;; esac
printf '%s\\n' "$set" > "$outbox/TOPOFORGE_SET"
printf '%s\\n' "$shipped" > "$outbox/TOPOFORGE_TYPE"
echo "shipped $shipped backup set $set"
`;

/**
 * Percona XtraBackup: a full goes to the repository (kept for the next differentials) and
 * is copied to the outbox; a differential is an incremental on that full, written straight
 * to the outbox.
 */
export const MYSQL_SCRIPT = `${DECIDE}${OUTBOX}if [ "$type" = full ]; then
  rm -rf "$repo/full"
  xtrabackup --backup --target-dir="$repo/full"
  cp -a "$repo/full" "$outbox/full"
else
  if [ ! -d "$repo/full" ]; then echo "no full backup in $repo to base a differential on" >&2; exit 1; fi
  xtrabackup --backup --target-dir="$outbox/differential" --incremental-basedir="$repo/full"
fi
printf '%s\\n' "$type" > "$outbox/TOPOFORGE_TYPE"
`;

/**
 * mongodump: full only. `--oplog` (a consistent point in time) only works for a dump of
 * the whole instance, so there is no `--db`: mongodump refuses the combination.
 */
export const MONGODB_SCRIPT = `${DECIDE}${OUTBOX}mongodump --oplog --gzip --archive="$outbox/full.archive.gz"
printf '%s\\n' full > "$outbox/TOPOFORGE_TYPE"
`;

const SCRIPTS = { postgresql: POSTGRESQL_SCRIPT, mysql: MYSQL_SCRIPT, mongodb: MONGODB_SCRIPT } as const;
type Engine = keyof typeof SCRIPTS;

/**
 * The hook command of one Schedule, as argv; undefined when the engine has no such backup
 * (MongoDB has no differential).
 */
export function hookCommand(service: Service, mode: HookMode, timeZone: string, fullWeekdays: readonly string[], paths: HookPaths): string[] | undefined {
  const db = service.database!;
  if (db.engine === 'mongodb' && mode !== 'full') return undefined;
  const days = fullWeekdays
    .map((d) => ISO_WEEKDAY[d]!)
    .sort((a, b) => a - b)
    .join(' ');
  const extra = db.engine === 'postgresql' ? [db.name] : [];
  return ['/bin/sh', '-c', SCRIPTS[db.engine], `topoforge-${db.engine}-backup`, mode, timeZone, days, paths.repository, paths.outbox, ...extra];
}

/** How an emitted hook command decides the type: fixed, or by local weekday (ISO 1–7). */
export type HookRule =
  | { readonly kind: 'fixed'; readonly type: BackupType }
  | {
      readonly kind: 'weekday';
      readonly timeZone: string;
      readonly isoDays: readonly number[];
      readonly onDays: BackupType | 'none';
      readonly otherwise: BackupType | 'none';
    };

/**
 * Reads an emitted pre-hook command back (the calendar uses what will run, not the
 * policy): the script must be one of ours, the mode and zone are its arguments.
 */
export function readHookCommand(command: readonly string[]): HookRule | undefined {
  const [sh, c, script, name, mode, zone, days] = command;
  if (sh !== '/bin/sh' || c !== '-c' || zone === undefined || days === undefined) return undefined;
  const engine = /^topoforge-(postgresql|mysql|mongodb)-backup$/.exec(name ?? '')?.[1] as Engine | undefined;
  if (!engine || SCRIPTS[engine] !== script) return undefined;
  const isoDays = days === '' ? [] : days.split(' ').map(Number);
  switch (mode) {
    case 'full':
      return { kind: 'fixed', type: 'full' };
    case 'differential':
      return { kind: 'fixed', type: 'differential' };
    case 'weekday-full':
      return { kind: 'weekday', timeZone: zone, isoDays, onDays: 'full', otherwise: 'none' };
    case 'weekday-diff':
      return { kind: 'weekday', timeZone: zone, isoDays, onDays: 'none', otherwise: 'differential' };
    default:
      return undefined;
  }
}
