/**
 * The backup calendar as it will really happen: computed by simulating the emitted
 * Schedules' cron expressions with robfig/cron semantics, not from the policy.
 */
import { activations, parse, parseGoDuration } from '@topoforge/robfig-cron';
import type { Emitted } from '@topoforge/plugin-sdk';
import { LABEL_BACKUP_DC, LABEL_BACKUP_TYPE, ANNOTATION_FULL_WEEKDAYS } from './names.js';

export interface CalendarEntry {
  /** Local date in the schedule's zone, YYYY-MM-DD. */
  readonly date: string;
  readonly at: number;
  readonly service: string;
  readonly type: 'full' | 'differential';
  /** The DC whose storage holds the backup. */
  readonly dc: string;
  readonly expiresAt: number;
  readonly ttl: string;
  readonly schedule: string;
  /** The cluster (DC) the Schedule runs in. */
  readonly sourceDc: string;
}

interface ScheduleObject {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { schedule: string; template: { ttl?: string; storageLocation?: string; metadata?: { labels?: Record<string, string> } } };
}

const WEEKDAY_NUMBER: Record<string, number> = { sunday: 0, monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6 };

export function backupCalendar(emitted: readonly Emitted[], fromMs: number, toMs: number): CalendarEntry[] {
  const rows: CalendarEntry[] = [];
  for (const e of emitted) {
    if (e.type !== 'object' || e.object.kind !== 'Schedule' || !e.object.apiVersion.startsWith('velero.io/')) continue;
    const s = e.object as unknown as ScheduleObject;
    const labels = s.spec.template.metadata?.labels ?? {};
    const fixed = labels[LABEL_BACKUP_TYPE] as 'full' | 'differential' | undefined;
    const fullDays = (s.metadata.annotations?.[ANNOTATION_FULL_WEEKDAYS] ?? '').split(',').filter(Boolean).map((d) => WEEKDAY_NUMBER[d]);
    const ttl = s.spec.template.ttl ?? '720h0m0s'; // Velero's default ttl
    const ttlMs = parseGoDuration(ttl);
    for (const f of activations(parse(s.spec.schedule), fromMs, toMs)) {
      rows.push({
        date: f.localDate,
        at: f.at,
        service: e.service ?? labels['topoforge.io/service'] ?? s.metadata.name,
        type: fixed ?? (fullDays.includes(f.localWeekday) ? 'full' : 'differential'),
        dc: labels[LABEL_BACKUP_DC] ?? s.spec.template.storageLocation ?? 'default',
        expiresAt: f.at + ttlMs,
        ttl,
        schedule: s.metadata.name,
        sourceDc: e.dc ?? '',
      });
    }
  }
  return rows.sort((a, b) => a.at - b.at || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

export function formatCalendar(rows: readonly CalendarEntry[]): string {
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';
  const header = ['date (local)', 'service', 'type', 'stored in', 'runs at', 'expires'];
  const body = rows.map((r) => [r.date, r.service, r.type, r.dc, iso(r.at), iso(r.expiresAt)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
