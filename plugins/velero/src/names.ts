export const LABEL_BACKUP_TYPE = 'topoforge.io/backup-type';
export const LABEL_BACKUP_DC = 'topoforge.io/backup-dc';
export const ANNOTATION_FULL_WEEKDAYS = 'topoforge.io/full-weekdays';
export const ANNOTATION_RULE = 'topoforge.io/backup-rule';
