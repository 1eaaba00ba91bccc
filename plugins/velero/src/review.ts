/**
 * Velero's risk rules for `topoforge diff`: the plugin that writes Schedules knows what a
 * shorter `ttl` means, so the rule lives here rather than in the core.
 */
import type { KubeObject, RiskRuleDefinition } from '@topoforge/plugin-sdk';
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
    if (da !== undefined && db !== undefined) return db < da ? [`spec.template.ttl ${shown(ta)} → ${shown(tb)} (${humanDuration(da)} → ${humanDuration(db)})`] : [];
    return JSON.stringify(ta) !== JSON.stringify(tb) ? [`spec.template.ttl ${shown(ta)} → ${shown(tb)} is not a Go duration; check the retention`] : [];
  },
};

export const review: readonly RiskRuleDefinition[] = [retentionReduced];
