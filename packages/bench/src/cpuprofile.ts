/**
 * Reads a V8 CPU profile (`node --cpu-prof`): a tree of call frames (`nodes`, each with its
 * `children`), the sampled leaf node of every tick (`samples`) and the microseconds between
 * ticks (`timeDeltas`). A tick lasts until the next one (the last until `endTime`), as Chrome's
 * DevTools counts it.
 */
export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based, as V8 writes it. */
  readonly lineNumber: number;
  readonly columnNumber: number;
  readonly scriptId?: string | number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
  readonly hitCount?: number;
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Tick {
  /** Absolute, microseconds on the monotonic clock. */
  readonly us: number;
  readonly durationUs: number;
  readonly node: number;
}

/** Every tick with its time and duration. */
export function ticks(p: CpuProfile): Tick[] {
  const out: Tick[] = [];
  let t = p.startTime;
  const times: number[] = [];
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    times.push(t);
  }
  for (let i = 0; i < p.samples.length; i++) {
    const next = i + 1 < times.length ? times[i + 1]! : Math.max(p.endTime, times[i]!);
    out.push({ us: times[i]!, durationUs: Math.max(0, next - times[i]!), node: p.samples[i]! });
  }
  return out;
}

export interface Frame {
  readonly functionName: string;
  /** The script, shortened (a path relative to `root` when under it), and 1-based line of the function. */
  readonly location: string;
  /**
   * For a frame of Node or V8 itself (no file of its own: `writeFileUtf8`, `node:internal/…`),
   * the nearest caller on the stack that is in a file — whose call it is. Such frames are
   * counted per caller.
   */
  readonly calledFrom?: string;
  readonly selfMs: number;
  /** Share of all sampled time, idle excluded. */
  readonly share: number;
}

/** `file:///work/x/packages/engine/dist/tree.js` → `packages/engine/dist/tree.js` (under root). */
export function shortUrl(url: string, root?: string): string {
  let u = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  if (root) {
    const r = root.endsWith('/') ? root : `${root}/`;
    if (u.startsWith(r)) u = u.slice(r.length);
  }
  const nm = u.lastIndexOf('/node_modules/');
  return nm >= 0 ? u.slice(nm + 1) : u;
}

const label = (f: CallFrame, root?: string): string => (f.url ? `${shortUrl(f.url, root)}:${f.lineNumber + 1}` : '');
const IDLE = new Set(['(idle)']);
const inFile = (f: CallFrame | undefined): boolean => !!f && f.url.startsWith('file://');
const VM = new Set(['(garbage collector)', '(program)', '(root)', '(idle)']);

/** The `n` call frames with the most self time (one row per function, whichever tree nodes it appears in). */
export function topSelfFrames(p: CpuProfile, n = 10, root?: string): Frame[] {
  const byNode = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const callerOf = (id: number): CallFrame | undefined => {
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const f = byNode.get(cur)?.callFrame;
      if (inFile(f)) return f;
    }
    return undefined;
  };
  const self = new Map<string, { f: CallFrame; caller?: CallFrame; us: number }>();
  let total = 0;
  for (const t of ticks(p)) {
    const f = byNode.get(t.node)?.callFrame;
    if (!f || IDLE.has(f.functionName)) continue;
    total += t.durationUs;
    const caller = inFile(f) || VM.has(f.functionName) ? undefined : callerOf(t.node);
    const at = (c: CallFrame | undefined) => (c ? `${c.functionName}\u0000${c.url}\u0000${c.lineNumber}\u0000${c.columnNumber}` : '');
    const key = `${at(f)}\u0001${at(caller)}`;
    const e = self.get(key);
    if (e) e.us += t.durationUs;
    else self.set(key, { f, ...(caller ? { caller } : {}), us: t.durationUs });
  }
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map(({ f, caller, us }) => ({
      functionName: f.functionName || '(anonymous)',
      location: label(f, root),
      ...(caller ? { calledFrom: `${caller.functionName || '(anonymous)'} ${label(caller, root)}` } : {}),
      selfMs: us / 1000,
      share: total ? us / total : 0,
    }));
}

/**
 * Which package a frame's script belongs to: a workspace package (`packages/engine/…`,
 * `plugins/velero/…` → `engine`, `plugin-velero`), a dependency (`node_modules/yaml/…` →
 * `yaml`), Node itself (`node:`), or none.
 */
export function packageOf(url: string): string | undefined {
  if (!url) return undefined;
  if (url.startsWith('node:')) return url.startsWith('node:internal/modules') ? 'node (module loading)' : undefined;
  const u = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
  if (nm) return nm[1]!;
  const ws = /\/(packages|plugins)\/([^/]+)\/(?:dist|bin|src)\//.exec(u);
  if (ws) return ws[1] === 'plugins' ? `plugin-${ws[2]}` : ws[2]!;
  return undefined;
}

export interface PackageTime {
  readonly name: string;
  /** Time with this package the innermost known package on the stack (its own code and what it calls in Node). */
  readonly ms: number;
  readonly share: number;
  /** First and last tick, ms from the profile's start. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Highest sampled RSS while this package was on top (when RSS samples are given). */
  readonly peakRssMb?: number;
  /** Highest V8 heap in use after a collection that ran while this package was on top (when GC samples are given). */
  readonly peakHeapMb?: number;
}

/** Memory seen from outside the process while it ran, on the profile's clock. */
export interface MemorySamples {
  /** Resident set size, sampled from /proc. */
  readonly rss?: readonly { us: number; mb: number }[];
  /** V8 heap in use after each collection (`--trace-gc`). */
  readonly heap?: readonly { us: number; mb: number }[];
}

/**
 * `node --trace-gc` lines (`[pid:0x…]   123 ms: Scavenge 45.1 (60.0) -> 40.2 (62.0) MB, …`): the
 * heap in use after each collection, at `startUs` (the isolate's start on the monotonic clock,
 * e.g. when the process was spawned) plus the line's milliseconds.
 */
export function parseTraceGc(text: string, startUs: number): { us: number; mb: number }[] {
  const out: { us: number; mb: number }[] = [];
  for (const m of text.matchAll(/^\[\d+:0x[0-9a-f]+\]\s+(\d+(?:\.\d+)?) ms: [^\n]*?([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/gm))
    out.push({ us: startUs + Number(m[1]) * 1000, mb: Number(m[4]) });
  return out;
}

/**
 * Time by package: each tick goes to the innermost frame that belongs to a package (Node's fs
 * under engine counts as engine; engine calling yaml-emit counts as yaml-emit), or to
 * `(garbage collector)`, `(program)` (V8 outside JS) or `node` (Node internals with no package
 * above). With memory samples of the same process, the peak RSS and the peak V8 heap after a
 * collection while each package was on top (a sample taken during GC or V8's own work goes to
 * the package that ran before it): heap by phase, as far as it can be seen from outside.
 */
export function timeByPackage(p: CpuProfile, memory: MemorySamples = {}): PackageTime[] {
  const byNode = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const memo = new Map<number, string>();
  const nameOf = (id: number): string => {
    const hit = memo.get(id);
    if (hit !== undefined) return hit;
    let name = 'node';
    const leaf = byNode.get(id)?.callFrame.functionName ?? '';
    if (leaf === '(garbage collector)' || leaf === '(program)' || leaf === '(idle)') name = leaf;
    else
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const pkg = packageOf(byNode.get(cur)?.callFrame.url ?? '');
        if (pkg) {
          name = pkg;
          break;
        }
      }
    memo.set(id, name);
    return name;
  };
  const all = ticks(p);
  const agg = new Map<string, { us: number; from: number; to: number; rss?: number; heap?: number }>();
  let total = 0;
  for (const t of all) {
    const name = nameOf(t.node);
    if (name === '(idle)') continue;
    total += t.durationUs;
    const e = agg.get(name);
    if (e) {
      e.us += t.durationUs;
      e.to = t.us + t.durationUs;
    } else agg.set(name, { us: t.durationUs, from: t.us, to: t.us + t.durationUs });
  }
  // The package each tick counts for in memory: GC and V8's own ticks go to the package before them.
  const owner: string[] = [];
  let lastPkg: string | undefined;
  for (const t of all) {
    const name = nameOf(t.node);
    if (!name.startsWith('(')) lastPkg = name;
    owner.push(name.startsWith('(') && lastPkg ? lastPkg : name);
  }
  const attribute = (samples: readonly { us: number; mb: number }[] | undefined, key: 'rss' | 'heap') => {
    let i = 0;
    for (const s of [...(samples ?? [])].sort((a, b) => a.us - b.us)) {
      while (i + 1 < all.length && all[i + 1]!.us <= s.us) i++;
      const t = all[i];
      if (!t || s.us < t.us - 50_000 || s.us > t.us + t.durationUs + 50_000) continue;
      const e = agg.get(owner[i]!);
      if (e) e[key] = Math.max(e[key] ?? 0, s.mb);
    }
  };
  attribute(memory.rss, 'rss');
  attribute(memory.heap, 'heap');
  return [...agg.entries()]
    .map(([name, e]) => ({
      name,
      ms: e.us / 1000,
      share: total ? e.us / total : 0,
      fromMs: (e.from - p.startTime) / 1000,
      toMs: (e.to - p.startTime) / 1000,
      ...(e.rss !== undefined ? { peakRssMb: e.rss } : {}),
      ...(e.heap !== undefined ? { peakHeapMb: e.heap } : {}),
    }))
    .sort((a, b) => b.ms - a.ms);
}
