/**
 * The `backup` policy group belongs to this plugin (contract v2), as `sessionCache` belongs
 * to plugins/session-cache: its schema and its rules across fields live here, not in the
 * model. The model resolves `services.<name>.policies.backup: <policy>`; the host validates
 * every `policies.backup.<name>` against this schema, with positions, before any hook runs;
 * `check` below adds the rules one field alone cannot say (cadence against retention…).
 */
import { CRONJOB_NAME_MAX, LABEL_VALUE_MAX, Type, type CheckContext, type DerivedName, type Static } from '@topoforge/plugin-sdk';
import { checkSchema, type Environment, type Named, type Service } from '@topoforge/model';

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export const Weekday = Type.Union(WEEKDAYS.map((d) => Type.Literal(d)));
export type Weekday = Static<typeof Weekday>;

const Clock = (description: string) => Type.String({ description, pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });
const Obj = <T extends Parameters<typeof Type.Object>[0]>(props: T, description: string) => Type.Object(props, { additionalProperties: false, description });

export const BackupPolicySchema = Obj(
  {
    full: Obj(
      {
        everyDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 31, description: 'a full backup every N days' })),
        weekdays: Type.Optional(Type.Array(Weekday, { minItems: 1, uniqueItems: true, description: 'full backups on these weekdays' })),
      },
      'when full backups run: exactly one of everyDays or weekdays',
    ),
    differential: Type.Optional(
      Obj({ everyDays: Type.Literal(1, { description: 'differential every day that has no full backup' }) }, 'differential backups between fulls'),
    ),
    window: Obj({ start: Clock('window start, local time of the DC region'), end: Clock('window end, local time') }, 'the backup window'),
    retentionDays: Type.Integer({ minimum: 1, maximum: 3650, description: 'how long each backup is kept' }),
  },
  'a database backup policy',
);
export type BackupPolicyInput = Static<typeof BackupPolicySchema>;
export type BackupPolicy = Named & BackupPolicyInput;

export const policies = { backup: BackupPolicySchema };

/*
 * Typed reads of the group. The model holds every group as `Named` (it does not know their
 * shapes); the host has validated each `policies.backup.<name>` against BackupPolicySchema
 * before any hook runs (and the test harness does the same), so the cast states what that
 * validation established. Code outside this plugin reads backup policies through these.
 */
/** The backup policy a service names, if any. */
export const backupPolicyOf = (s: Service): BackupPolicy | undefined => s.policies.backup as BackupPolicy | undefined;
/** Every backup policy of the environment, by name. */
export const backupPolicies = (env: Environment): readonly BackupPolicy[] => (env.policies.backup ?? []) as readonly BackupPolicy[];

/** Largest number of days between consecutive full backups for a weekday set. */
export function maxWeekdayGap(days: readonly string[]): number {
  const idx = days.map((d) => WEEKDAYS.indexOf(d as Weekday)).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 0; i < idx.length; i++) {
    const next = i + 1 < idx.length ? idx[i + 1]! : idx[0]! + 7;
    gap = Math.max(gap, next - idx[i]!);
  }
  return gap;
}

/**
 * Whether a policy has the schema's shape. The host reports a policy that does not, with
 * positions, and still runs every check (one render lists all problems): the rules across
 * fields must skip it rather than read fields that are not there (a policy without `window`
 * made this check throw, a PLUGIN_THREW on top of the missing field).
 */
function hasSchemaShape(policy: BackupPolicy): boolean {
  const { name: _name, ...data } = policy;
  return checkSchema(BackupPolicySchema, data, new Map()).length === 0;
}

/** Rules across fields of one policy, at the field to change, with the code the model reported them under. */
export function checkBackup(ctx: CheckContext<unknown>): void {
  const invalid = (field: string, message: string, hint: string) => ctx.error(message, { field, hint, code: 'TOPOLOGY_INVALID_VALUE' });
  for (const b of backupPolicies(ctx.env).filter(hasSchemaShape)) {
    const p = `policies.backup.${b.name}`;
    const hasEvery = b.full.everyDays !== undefined;
    const hasWeekdays = b.full.weekdays !== undefined;
    if (hasEvery === hasWeekdays)
      invalid(`${p}.full`, 'full needs exactly one of everyDays or weekdays', 'e.g. full: {everyDays: 1} or full: {weekdays: [tuesday, friday]}');
    const cadence = hasEvery ? b.full.everyDays! : hasWeekdays ? maxWeekdayGap(b.full.weekdays!) : 1;
    if (b.retentionDays < cadence)
      invalid(
        `${p}.retentionDays`,
        `retention of ${b.retentionDays} days is shorter than the ${cadence}-day gap between full backups`,
        `keep backups at least ${cadence} days so a restorable full always exists`,
      );
    if (b.window.end < b.window.start)
      invalid(`${p}.window`, `window ends (${b.window.end}) before it starts (${b.window.start})`, 'the window is within one day, local time');
    if (b.differential && hasEvery && b.full.everyDays === 1)
      invalid(`${p}.differential`, 'a daily full backup leaves no day for a differential', 'remove differential, or make full backups less frequent');
  }
}

/**
 * Names this plugin derives from a service that backs up, against Kubernetes' limits (the host
 * reports them with checkDerivedNames): Velero labels every Backup with its Schedule's name,
 * and on a test stand with restore drills each service gets a CronJob.
 */
export function* backupNames(env: Environment, options: { readonly restoreDrill: { readonly fromEnvironment: string } }): Generator<DerivedName> {
  const drills = env.stage === 'staging' && options.restoreDrill.fromEnvironment !== '';
  for (const s of env.services) {
    if (!backupPolicyOf(s)) continue;
    const field = `services.${s.name}`;
    for (const dc of env.dataCenters)
      yield {
        name: `${s.name}-${dc.name}`,
        limit: LABEL_VALUE_MAX,
        usedAs: `Velero Schedule name and velero.io/schedule-name label in ${dc.name} (plugins/velero)`,
        field,
      };
    if (drills) yield { name: `restore-drill-${s.name}`, limit: CRONJOB_NAME_MAX, usedAs: 'restore-drill CronJob (plugins/velero)', field };
  }
}
