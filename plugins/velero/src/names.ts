export const LABEL_BACKUP_TYPE = 'topoforge.io/backup-type';
export const LABEL_BACKUP_DC = 'topoforge.io/backup-dc';
export const LABEL_INSTANCE = 'topoforge.io/database-instance';
export const LABEL_SOURCE_DC = 'topoforge.io/backup-source-dc';
export const LABEL_STANDBY = 'topoforge.io/standby';
/** On a drill's restored namespaces (the instance) and its Restore template (`true`); the drill script deletes by it. */
export const LABEL_RESTORE_DRILL = 'topoforge.io/restore-drill';
/** On a standby's Schedules: the DC whose loss they take over (the instance's primary DC). */
export const LABEL_STANDBY_FOR = 'topoforge.io/standby-for';
/** On a fallback Schedule: the storage DC whose days it takes when that DC is lost. */
export const LABEL_FALLBACK_FOR = 'topoforge.io/fallback-for';
/** On the template Schedule of an out-of-cycle full (`velero backup create --from-schedule`). */
export const LABEL_ON_DEMAND = 'topoforge.io/on-demand';
export const ANNOTATION_FULL_WEEKDAYS = 'topoforge.io/full-weekdays';
export const ANNOTATION_RULE = 'topoforge.io/backup-rule';
/** On every paused Schedule: what to run when a DC is lost (README: Losing a DC). */
export const ANNOTATION_ON_DC_LOSS = 'topoforge.io/on-dc-loss';
/** The pod volume that carries each backup's set (the only volume Velero ships). */
export const OUTBOX_VOLUME = 'backup-outbox';
