export const LABEL_BACKUP_TYPE = 'topoforge.io/backup-type';
export const LABEL_BACKUP_DC = 'topoforge.io/backup-dc';
export const LABEL_INSTANCE = 'topoforge.io/database-instance';
export const LABEL_SOURCE_DC = 'topoforge.io/backup-source-dc';
export const LABEL_STANDBY = 'topoforge.io/standby';
export const ANNOTATION_FULL_WEEKDAYS = 'topoforge.io/full-weekdays';
export const ANNOTATION_RULE = 'topoforge.io/backup-rule';
export const ANNOTATION_STANDBY = 'topoforge.io/standby-for';
/** The pod volume that carries each backup's set (the only volume Velero ships). */
export const OUTBOX_VOLUME = 'backup-outbox';
