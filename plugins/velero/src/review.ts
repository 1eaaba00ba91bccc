/**
 * Velero's risk rules for `topoforge diff`: the plugin that writes Schedules and
 * BackupStorageLocations knows what a shorter `ttl`, a removed Schedule or a storage location
 * left out of the rotation means, so the rules live here rather than in the core.
 */
import type { EnvironmentRiskRuleDefinition, KubeObject, ReviewRule, RiskRuleDefinition } from '@topoforge/plugin-sdk';
import { isObject as isObj } from '@topoforge/model';
import { humanDuration, parseGoDuration } from '@topoforge/robfig-cron';

/** Velero's server default when a Schedule sets no ttl (`--default-backup-ttl`, 720h). */
const VELERO_DEFAULT_TTL = 720 * 3_600_000;

const ttlOf = (o: Readonly<KubeObject>): unknown => ((o.spec as { template?: { ttl?: unknown } } | undefined)?.template ?? {}).ttl;

/** Milliseconds, or undefined when the text is not a Go duration (then the rule asks a human to check). */
function duration(ttl: unknown): number | undefined {
  if (ttl === undefined) return VELERO_DEFAULT_TTL;
  if (typeof ttl !== 'string') return undefined;
  try {
    return parseGoDuration(ttl);
  } catch {
    return undefined;
  }
}

export const retentionReduced: RiskRuleDefinition = {
  id: 'backup-retention-reduced',
  title: 'Backup retention reduced',
  kinds: [{ group: 'velero.io', kind: 'Schedule' }],
  severity: 'medium',
  why: 'older backups expire sooner: damage found late can no longer be restored from before it began',
  compare(before, after) {
    if (!before || !after) return [];
    const ta = ttlOf(before);
    const tb = ttlOf(after);
    const da = duration(ta);
    const db = duration(tb);
    const shown = (t: unknown) => (t === undefined ? '(default 720h)' : String(t));
    if (da !== undefined && db !== undefined)
      return db < da ? [`spec.template.ttl ${shown(ta)} → ${shown(tb)} (${humanDuration(da)} → ${humanDuration(db)})`] : [];
    return JSON.stringify(ta) !== JSON.stringify(tb) ? [`spec.template.ttl ${shown(ta)} → ${shown(tb)} is not a Go duration; check the retention`] : [];
  },
};

const SCHEDULE = { group: 'velero.io', kind: 'Schedule' } as const;
const LOCATION = { group: 'velero.io', kind: 'BackupStorageLocation' } as const;

/** A field of an object read without trusting its shape (a tree read from disk may hold anything). */
const field = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((cur, p) => (isObj(cur) ? cur[p] : undefined), v);

export const scheduleRemoved: RiskRuleDefinition = {
  id: 'backup-schedule-removed',
  title: 'Backup schedule removed',
  kinds: [SCHEDULE],
  severity: 'high',
  why: 'no new backups from this schedule: a restore goes back to the last one taken',
  compare(before, after) {
    return before && !after ? [`schedule ${JSON.stringify(field(before, 'spec', 'schedule') ?? '')} no longer exists`] : [];
  },
};

const DROPPED_WHY = 'backups no longer land in this storage: the rotation shrinks and restores from there find only old backups';

/** A BackupStorageLocation that is no longer rendered: backups cannot be written to it there. */
export const locationRemoved: RiskRuleDefinition = {
  id: 'backup-location-dropped',
  title: 'DC dropped from the backup rotation',
  kinds: [LOCATION],
  severity: 'high',
  why: DROPPED_WHY,
  compare(before, after) {
    return before && !after ? [`BackupStorageLocation removed (bucket ${JSON.stringify(field(before, 'spec', 'objectStorage', 'bucket') ?? '?')})`] : [];
  },
};

/** A storage location no Schedule writes to any more: seen only across every Schedule of the environment. */
export const locationUnused: EnvironmentRiskRuleDefinition = {
  id: 'backup-location-dropped',
  title: 'DC dropped from the backup rotation',
  kinds: [SCHEDULE],
  severity: 'high',
  why: DROPPED_WHY,
  compareAll(before, after) {
    const locations = (schedules: typeof before) => {
      const m = new Map<string, Set<string>>();
      for (const s of schedules) {
        const loc = field(s.object, 'spec', 'template', 'storageLocation');
        const name = typeof loc === 'string' && loc !== '' ? loc : '(default location)';
        m.set(name, (m.get(name) ?? new Set()).add(s.where));
      }
      return m;
    };
    const now = locations(after);
    return [...locations(before)]
      .filter(([loc]) => !now.has(loc))
      .map(([loc, scopes]) => ({
        subject: `storage location ${loc}`,
        detail: `no Schedule writes to ${loc} any more (it was used by Schedules in ${[...scopes].sort().join(', ')})`,
      }));
  },
};

export const review: readonly ReviewRule[] = [retentionReduced, scheduleRemoved, locationRemoved, locationUnused];
