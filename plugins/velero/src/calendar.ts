/**
 * The backup calendar as it will really happen, read from the EMITTED objects only: the
 * Schedules' cron expressions are simulated with robfig/cron v3 semantics
 * (@topoforge/robfig-cron, Next from each activation as Velero does), the storage DC is the
 * emitted BackupStorageLocation the Schedule names, the type is what the pre-backup hook
 * command runs (read back from its arguments; for weekday-dependent hooks, evaluated on the
 * hook's own zone at the activation), and the expiry is the activation plus the Go-duration
 * ttl. Nothing here looks at the backup policy.
 */
import { activations, civil, parse, parseGoDuration } from '@topoforge/robfig-cron';
import type { Emitted } from '@topoforge/plugin-sdk';
import { readHookCommand, type BackupType } from './hooks.js';
import { LABEL_BACKUP_DC, LABEL_INSTANCE } from './names.js';

export interface CalendarEntry {
  /** Local date in the schedule's zone, YYYY-MM-DD. */
  readonly date: string;
  /** Local time, HH:MM. */
  readonly time: string;
  readonly at: number;
  readonly service: string;
  /** The database instance backed up. */
  readonly instance: string;
  readonly type: BackupType;
  /** The DC whose object storage holds the backup. */
  readonly dc: string;
  readonly storageLocation: string;
  readonly expiresAt: number;
  readonly ttl: string;
  readonly schedule: string;
  /** The cluster (DC) the Schedule runs in. */
  readonly sourceDc: string;
  /** For a differential: the full it is based on (the instance's last full before it). */
  readonly basedOnFullAt?: number;
  readonly basedOnFullExpiresAt?: number;
  readonly basedOnFullDc?: string;
}

interface ScheduleObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    schedule: string;
    paused?: boolean;
    template: {
      ttl?: string;
      storageLocation?: string;
      hooks?: { resources?: { pre?: { exec?: { command?: string[] } }[] }[] };
    };
  };
}

const DAY = 86_400_000;
/** Velero's default backup ttl (30 days) when a Schedule sets none. */
const DEFAULT_TTL = '720h0m0s';

export interface CalendarOptions {
  /** Days simulated before the range (not returned) so that the first differentials know their full. */
  readonly lookbackDays?: number;
  /** Paused Schedules (standbys) take part when this says so, e.g. after their primary DC is lost. */
  readonly unpaused?: (instance: string, sourceDc: string) => boolean;
}

/** Activations in [fromMs, toMs) of every Schedule that is not paused. */
export function backupCalendar(emitted: readonly Emitted[], fromMs: number, toMs: number, options: CalendarOptions = {}): CalendarEntry[] {
  const lookbackDays = options.lookbackDays ?? 8;
  const locations = new Map<string, string>();
  for (const e of emitted) {
    if (e.type === 'object' && e.object.kind === 'BackupStorageLocation' && e.object.apiVersion.startsWith('velero.io/')) {
      locations.set(`${e.dc ?? ''}|${e.object.metadata.name}`, e.object.metadata.labels?.[LABEL_BACKUP_DC] ?? e.object.metadata.name);
    }
  }
  const rows: CalendarEntry[] = [];
  for (const e of emitted) {
    if (e.type !== 'object' || e.object.kind !== 'Schedule' || !e.object.apiVersion.startsWith('velero.io/')) continue;
    const s = e.object as unknown as ScheduleObject;
    const instance = s.metadata.labels?.[LABEL_INSTANCE] ?? e.service ?? s.metadata.name;
    if (s.spec.paused && !options.unpaused?.(instance, e.dc ?? '')) continue;
    const location = s.spec.template.storageLocation ?? 'default';
    const dc = locations.get(`${e.dc ?? ''}|${location}`);
    if (!dc) throw new Error(`Schedule ${s.metadata.name} stores in "${location}", which no BackupStorageLocation in ${e.dc ?? 'its cluster'} provides`);
    const command = s.spec.template.hooks?.resources?.[0]?.pre?.[0]?.exec?.command;
    const rule = command ? readHookCommand(command) : undefined;
    if (!rule) throw new Error(`Schedule ${s.metadata.name}: cannot tell from its pre-backup hook whether it takes a full or a differential backup`);
    const ttl = s.spec.template.ttl ?? DEFAULT_TTL;
    const ttlMs = parseGoDuration(ttl);
    for (const f of activations(parse(s.spec.schedule), fromMs - lookbackDays * DAY, toMs)) {
      let type: BackupType | 'none';
      if (rule.kind === 'fixed') type = rule.type;
      else {
        const wd = civil(rule.timeZone, f.at).weekday;
        type = rule.isoDays.includes(wd === 0 ? 7 : wd) ? rule.onDays : rule.otherwise;
      }
      if (type === 'none') continue; // the other Schedule of the weekday pair takes this day
      rows.push({
        date: f.localDate,
        time: f.localTime,
        at: f.at,
        service: e.service ?? s.metadata.name,
        instance,
        type,
        dc,
        storageLocation: location,
        expiresAt: f.at + ttlMs,
        ttl,
        schedule: s.metadata.name,
        sourceDc: e.dc ?? '',
      });
    }
  }
  rows.sort((a, b) => a.at - b.at || (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  const lastFull = new Map<string, CalendarEntry>();
  const out: CalendarEntry[] = [];
  for (const r of rows) {
    const based = r.type === 'differential' ? lastFull.get(r.instance) : undefined;
    if (r.type === 'full') lastFull.set(r.instance, r);
    if (r.at >= fromMs) out.push(based !== undefined ? { ...r, basedOnFullAt: based.at, basedOnFullExpiresAt: based.expiresAt, basedOnFullDc: based.dc } : r);
  }
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';

/** Per day and instance: which cluster backs it up, to which DC, what, until when. */
export function formatCalendar(rows: readonly CalendarEntry[]): string {
  const header = ['date (local)', 'instance', 'backed up by', 'type', 'stored in', 'local', 'runs at', 'expires', 'restore needs full of'];
  const body = rows.map((r) => [
    r.date,
    r.instance,
    r.sourceDc,
    r.type,
    r.dc,
    r.time,
    iso(r.at),
    iso(r.expiresAt),
    r.type === 'full'
      ? '-'
      : r.basedOnFullAt !== undefined
        ? `${iso(r.basedOnFullAt)} in ${r.basedOnFullDc} (kept to ${iso(r.basedOnFullExpiresAt!)})`
        : '(before this range)',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
