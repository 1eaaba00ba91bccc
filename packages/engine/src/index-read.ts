/**
 * Reads an environment's index file as `indexChunks` writes it, a line at a time from a small
 * buffer, without holding its text or a parsed copy of its file list: at 100k files the text
 * is ~23 MB and JSON.parse's objects for it as much again, all of it garbage a moment later
 * (at a million files, hundreds of MB at the render's start). Any text that is not exactly
 * what `indexChunks` writes (a hand edit, other spacing, other key order, a line longer than
 * the buffer) is answered `undefined`, and the caller parses it as JSON as before.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

export interface CanonicalIndex {
  readonly environment: string;
  readonly source?: string;
  /** How many files it lists. */
  readonly listed: number;
  /** The sha256 of its bytes. */
  readonly sha: string;
}

const BUFFER = 1 << 20;
const NL = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
const OPEN = bytes('{');
const GENERATOR = bytes('  "generator": "topoforge",');
const ENVIRONMENT = bytes('  "environment": ');
const SOURCE = bytes('  "source": ');
const FILES_EMPTY = bytes('  "files": []');
const FILES = bytes('  "files": [');
const ENTRY_OPEN = bytes('    {');
const PATH = bytes('      "path": ');
const SHA = bytes('      "sha256": ');
const PLUGIN = bytes('      "plugin": ');
const ENTRY_MORE = bytes('    },');
const ENTRY_LAST = bytes('    }');
const FILES_CLOSE = bytes('  ]');
const CLOSE = bytes('}');

/*
 * An entry in its usual form is read in one pass rather than line by line (see fastEntry): the
 * bytes around its three strings, which are printable ASCII without `"` or `\`, the hash 64
 * lower-case hex digits. At 112k files the line-by-line reader took ~2 µs an entry, most of
 * it in Buffer calls (a search for each line's end, a compare for each prefix, a string for
 * each value): ~0.25 s of a render's thread, on the way to every render, check and diff.
 */
const ENTRY_HEAD = bytes('    {\n      "path": "');
const AFTER_PATH = bytes('",\n      "sha256": "');
const AFTER_SHA = bytes('",\n      "plugin": "');
const AFTER_PLUGIN = bytes('"\n    }');
const SHA_HEX = 64;

/** Whether bytes [at, at + want.length) of `buf` are `want`, all before `end`. */
function has(buf: Buffer, at: number, end: number, want: Buffer): boolean {
  if (at + want.length > end) return false;
  for (let i = 0; i < want.length; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}

/** Where the string whose bytes start at `at` ends (its closing quote) if they are printable ASCII but `"` and `\`; -1 otherwise, or when `end` comes first. */
function plainEnd(buf: Buffer, at: number, end: number): number {
  for (let i = at; i < end; i++) {
    const b = buf[i]!;
    if (b === QUOTE) return i;
    if (b < 0x20 || b > 0x7e || b === BACKSLASH) return -1;
  }
  return -1;
}

/** What fastEntry read (module-level: no object per entry). */
let fastPath = '';
let fastSha = '';
let fastPlugin = '';
let fastLast = false;

/**
 * One entry at `at`, in its usual form, read in one pass: sets fastPath, fastSha, fastPlugin
 * and fastLast (no comma after it: the list's last) and returns where the next line starts.
 * -1 for anything else, or an entry the buffer's `end` cuts: the line-by-line reader takes
 * it then, and decides exactly as for any entry. `plugin`: the last entry's plugin, whose
 * string is reused when the bytes are its (a few plugins write every file).
 */
function fastEntry(buf: Buffer, at: number, end: number, plugin: string): number {
  if (!has(buf, at, end, ENTRY_HEAD)) return -1;
  const pathFrom = at + ENTRY_HEAD.length;
  const pathTo = plainEnd(buf, pathFrom, end);
  if (pathTo === -1 || !has(buf, pathTo, end, AFTER_PATH)) return -1;
  const shaFrom = pathTo + AFTER_PATH.length;
  if (shaFrom + SHA_HEX > end) return -1;
  for (let i = shaFrom; i < shaFrom + SHA_HEX; i++) {
    const b = buf[i]!;
    if (!((b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66))) return -1;
  }
  if (!has(buf, shaFrom + SHA_HEX, end, AFTER_SHA)) return -1;
  const pluginFrom = shaFrom + SHA_HEX + AFTER_SHA.length;
  const pluginTo = plainEnd(buf, pluginFrom, end);
  if (pluginTo === -1 || !has(buf, pluginTo, end, AFTER_PLUGIN)) return -1;
  let next = pluginTo + AFTER_PLUGIN.length;
  if (next < end && buf[next] === 0x2c) {
    fastLast = false;
    next++;
  } else fastLast = true;
  if (next >= end || buf[next] !== NL) return -1;
  let same = pluginTo - pluginFrom === plugin.length;
  for (let i = 0; same && i < plugin.length; i++) same = buf[pluginFrom + i] === plugin.charCodeAt(i);
  fastPlugin = same ? plugin : buf.toString('latin1', pluginFrom, pluginTo);
  fastPath = buf.toString('latin1', pathFrom, pathTo);
  fastSha = buf.toString('latin1', shaFrom, shaFrom + SHA_HEX);
  return next + 1;
}

/** Whether bytes [start, end) of `buf` are exactly `want`. */
function is(buf: Buffer, start: number, end: number, want: Buffer): boolean {
  return end - start === want.length && buf.compare(want, 0, want.length, start, end) === 0;
}

/**
 * The JSON string that bytes [start, end) of `buf` are after `prefix` (and before a `,` when
 * `comma`), as a string of its own (not a slice of a larger one); undefined when they are not.
 */
function stringAfter(buf: Buffer, start: number, end: number, prefix: Buffer, comma: boolean): string | undefined {
  if (end - start < prefix.length || buf.compare(prefix, 0, prefix.length, start, start + prefix.length) !== 0) return undefined;
  const from = start + prefix.length;
  const to = comma ? end - 1 : end;
  if (comma && buf[end - 1] !== 0x2c) return undefined;
  if (to - from < 2 || buf[from] !== QUOTE || buf[to - 1] !== QUOTE) return undefined;
  let plain = true;
  for (let i = from + 1; i < to - 1; i++) {
    const b = buf[i]!;
    if (b === QUOTE || b < 0x20) return undefined;
    if (b === BACKSLASH) {
      plain = false;
      break;
    }
  }
  if (plain) return buf.toString('utf8', from + 1, to - 1);
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', from, to));
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

type State = 'open' | 'generator' | 'environment' | 'files' | 'close' | 'end' | 'entry' | 'path' | 'sha' | 'plugin' | 'next' | 'filesClose';

/** The lines that are always the same: what each state expects, and the state after it. */
const FIXED: Partial<Record<State, readonly [Buffer, State]>> = {
  open: [OPEN, 'generator'],
  generator: [GENERATOR, 'environment'],
  entry: [ENTRY_OPEN, 'path'],
  filesClose: [FILES_CLOSE, 'close'],
  close: [CLOSE, 'end'],
};
/** An entry's `"path": …,` and `"sha256": …,` lines (its `"plugin"` line has no comma and ends the entry). */
const FIELD: Partial<Record<State, readonly [Buffer, State]>> = { path: [PATH, 'sha'], sha: [SHA, 'plugin'] };

/**
 * Reads `file` as described above, calling `entry` for each file it lists, in order. Undefined
 * when the text is not what indexChunks writes for `environment` — `entry` may have been called
 * for some files by then, which the caller undoes.
 */
export function readCanonicalIndex(file: string, environment: string, entry: (path: string, sha: string, plugin: string) => void): CanonicalIndex | undefined {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(BUFFER);
    let state = 'open' as State; // (not narrowed: the loops below change it)
    let source: string | undefined;
    let listed = 0;
    let path = '';
    let sha = '';
    let plugin = '';
    let kept = 0; // bytes of an unfinished line carried over to the front of the buffer
    for (;;) {
      const n = readSync(fd, buf, kept, BUFFER - kept, null);
      if (n === 0) break;
      hash.update(buf.subarray(kept, kept + n));
      const filled = kept + n;
      let start = 0;
      for (;;) {
        // Entries in their usual form, one pass each (see fastEntry).
        if (state === 'entry') {
          const next = fastEntry(buf, start, filled, plugin);
          if (next !== -1) {
            entry(fastPath, fastSha, fastPlugin);
            plugin = fastPlugin;
            listed++;
            state = fastLast ? 'filesClose' : 'entry';
            start = next;
            continue;
          }
        }
        const nl = buf.indexOf(NL, start);
        if (nl === -1 || nl >= filled) break;
        const end = nl;
        const fixed: readonly [Buffer, State] | undefined = FIXED[state];
        const field: readonly [Buffer, State] | undefined = FIELD[state];
        if (fixed) {
          if (!is(buf, start, end, fixed[0])) return undefined;
          state = fixed[1];
        } else if (field) {
          const v = stringAfter(buf, start, end, field[0], true);
          if (v === undefined) return undefined;
          if (state === 'path') path = v;
          else sha = v;
          state = field[1];
        } else
          switch (state) {
            case 'environment':
              if (stringAfter(buf, start, end, ENVIRONMENT, true) !== environment) return undefined;
              state = 'files';
              break;
            case 'files':
              if (is(buf, start, end, FILES_EMPTY)) state = 'close';
              else if (is(buf, start, end, FILES)) state = 'entry';
              else if (source === undefined && (source = stringAfter(buf, start, end, SOURCE, true)) !== undefined) state = 'files';
              else return undefined;
              break;
            case 'plugin': {
              const v = stringAfter(buf, start, end, PLUGIN, false);
              if (v === undefined) return undefined;
              plugin = v;
              entry(path, sha, v);
              listed++;
              state = 'next';
              break;
            }
            case 'next':
              if (is(buf, start, end, ENTRY_MORE)) state = 'entry';
              else if (is(buf, start, end, ENTRY_LAST)) state = 'filesClose';
              else return undefined;
              break;
            case 'end':
              return undefined; // anything after the closing brace
          }
        start = nl + 1;
      }
      kept = filled - start;
      // A line longer than the buffer is not one indexChunks writes.
      if (kept === BUFFER) return undefined;
      buf.copy(buf, 0, start, filled);
    }
    if (state !== 'end' || kept !== 0) return undefined;
    return { environment, ...(source !== undefined ? { source } : {}), listed, sha: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}
