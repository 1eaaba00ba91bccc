/**
 * The failback back-off, kept on the Gslbs so that it outlives the process: the next leader
 * (another replica, or this one restarted) reads it when it adopts the Gslbs. Written as one
 * annotation on each service's Gslb in every cluster, in the same merge patch as the weights,
 * so a cluster's weights and back-off never disagree. The record is the service's whole
 * back-off state at `at`; a DC absent from it is at 1 × with no restore on record.
 *
 * Times are the writer's clock (as the decider's): a restore time read on another machine is
 * off by the clocks' difference, seconds against back-offs of 15 min and more.
 */
import { MAX_BACKOFF } from './decider.js';

export const BACKOFF_ANNOTATION = 'failover.topoforge.io/backoff';
const VERSION = 1;
/** Written later than this ahead of our clock: edited, or from a clock too wrong to trust. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

export interface CellBackoff {
  /** `minDrainedSeconds` × this is how long the DC's current or next drain lasts at least. */
  readonly factor: number;
  /** When the DC was last restored (ms since the epoch). */
  readonly restoredAt?: number;
}

export interface BackoffRecord {
  /** When it was written: of several clusters' records, the latest is the current one. */
  readonly at: number;
  readonly dcs: Readonly<Record<string, CellBackoff>>;
}

export function encodeBackoff(r: BackoffRecord): string {
  const dcs = Object.fromEntries(
    Object.entries(r.dcs)
      .filter(([, c]) => c.factor !== 1 || c.restoredAt !== undefined)
      .map(([dc, c]) => [dc, { factor: c.factor, ...(c.restoredAt !== undefined ? { restoredAt: new Date(c.restoredAt).toISOString() } : {}) }]),
  );
  return JSON.stringify({ version: VERSION, at: new Date(r.at).toISOString(), dcs });
}

export type Decoded =
  /** `problems`: entries left out (their DC starts at 1 ×). */
  { readonly ok: true; readonly record: BackoffRecord; readonly problems: readonly string[] } | { readonly ok: false; readonly problem: string };

const isFactor = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= MAX_BACKOFF && (x & (x - 1)) === 0;
const time = (x: unknown): number | undefined => {
  const t = typeof x === 'string' ? Date.parse(x) : NaN;
  return Number.isNaN(t) ? undefined : t;
};

/** Never throws: whatever is stored (edited by hand, an older format) is checked field by field. */
export function decodeBackoff(text: string, dcs: readonly string[], now: number): Decoded {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const d = data as { version?: unknown; at?: unknown; dcs?: unknown };
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return { ok: false, problem: 'not a JSON object' };
  if (d.version !== VERSION) return { ok: false, problem: `version ${JSON.stringify(d.version)}, not ${VERSION}` };
  const at = time(d.at);
  if (at === undefined) return { ok: false, problem: '"at" is not a time' };
  if (at > now + FUTURE_TOLERANCE_MS) return { ok: false, problem: `written in the future (${new Date(at).toISOString()})` };
  if (typeof d.dcs !== 'object' || d.dcs === null || Array.isArray(d.dcs)) return { ok: false, problem: '"dcs" is not an object' };
  const problems: string[] = [];
  // No prototype: the reader looks DCs up by name, and `constructor` is a valid DC name.
  const out: Record<string, CellBackoff> = Object.create(null) as Record<string, CellBackoff>;
  for (const [dc, v] of Object.entries(d.dcs as Record<string, unknown>)) {
    if (!dcs.includes(dc)) {
      problems.push(`${dc}: not a DC of the service`);
      continue;
    }
    const c = v as { factor?: unknown; restoredAt?: unknown } | null;
    if (typeof c !== 'object' || c === null || !isFactor(c.factor)) {
      problems.push(`${dc}: factor is not 1, 2, 4 … ${MAX_BACKOFF}`);
      continue;
    }
    const restoredAt = c.restoredAt === undefined ? undefined : time(c.restoredAt);
    if (c.restoredAt !== undefined && restoredAt === undefined) {
      problems.push(`${dc}: restoredAt is not a time`);
      continue;
    }
    if (restoredAt !== undefined && restoredAt > at) {
      problems.push(`${dc}: restored after the record was written`);
      continue;
    }
    // A factor only grows on a drain soon after a restore.
    if (c.factor > 1 && restoredAt === undefined) {
      problems.push(`${dc}: factor ${c.factor} without a restore`);
      continue;
    }
    out[dc] = { factor: c.factor, ...(restoredAt !== undefined ? { restoredAt } : {}) };
  }
  return { ok: true, record: { at, dcs: out }, problems };
}
