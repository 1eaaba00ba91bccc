/**
 * The whole-process bench: every producer and every topoforge command a child process, measured
 * as its user waits for it (see measure.ts), rounds of alternating runs, medians.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os, { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { stringify as yamlStringify } from 'yaml';
import jsYaml from 'js-yaml';
import { toYaml } from '@topoforge/yaml-emit';
import { STATE_DIR } from '@topoforge/engine';
import { scaleFor, serviceName, syntheticEnvironment } from './generate.js';
import { hasGnuTime, measure, type Measured } from './measure.js';
import { parseTraceGc, timeByPackage, topSelfFrames, type CpuProfile, type Frame, type PackageTime } from './cpuprofile.js';
import { objectCount, workloadFiles, workloadOf, type Workload } from './workload.js';

export const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(benchDir, '../..');

/** The real CLI's bin, as package.json names it. */
export function cliBin(): string {
  const entry = createRequire(import.meta.url).resolve('@topoforge/cli');
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(dir, pkg.bin.topoforge!);
}

export type RowId =
  | 'node-e-0'
  | 'help'
  | 'render-bundled'
  | 'check-bundled'
  | 'check-bundled-cold'
  | 'floor'
  | 'js-yaml'
  | 'cdk8s'
  | 'render-empty'
  | 'render-full'
  | 'render-none'
  | 'render-one'
  | 'check-one'
  | 'diff-one';

export const ROW_LABELS: Record<RowId, string> = {
  'node-e-0': '`node -e 0` (bare Node start-up)',
  help: '`topoforge --help` (start-up, module loading)',
  'render-bundled': '`topoforge render` of the bundled environments (existing tree, no change)',
  'check-bundled': '`topoforge check` of the bundled environments',
  'check-bundled-cold': '`topoforge check` of the bundled environments, without the render record (a fresh clone: renders and compares)',
  floor: 'floor: JSON.stringify + write into an empty directory, streaming',
  'js-yaml': 'js-yaml dump + write into an empty directory, streaming',
  cdk8s: 'cdk8s `App.synth()` into an empty directory (App per directory, ApiObject per object)',
  'render-empty': '`topoforge render` into an empty output',
  'render-full': '`topoforge render` into the existing tree, every object changed',
  'render-none': '`topoforge render` again, no change',
  'render-one': '`topoforge render` after a one-service change',
  'check-one': '`topoforge check` with a one-service change (drift, exit 1)',
  'diff-one': '`topoforge diff --against <tree>` with a one-service change',
};

export const STARTUP_ROWS: readonly RowId[] = ['node-e-0', 'help', 'render-bundled', 'check-bundled', 'check-bundled-cold'];
/** One round, producers alternating with topoforge's scenarios. */
export const SCALE_ROWS: readonly RowId[] = ['floor', 'render-empty', 'js-yaml', 'render-full', 'cdk8s', 'render-none', 'render-one', 'check-one', 'diff-one'];

export interface Stats {
  readonly wallMs: number;
  readonly userMs: number;
  readonly sysMs: number;
  readonly cpuMs: number;
  readonly maxRssMb: number;
}

export interface Row {
  readonly id: RowId;
  readonly label: string;
  readonly runs: Stats[];
  readonly codes: (number | null)[];
  /** Medians of each measure over the runs. */
  median?: Stats;
  /** Output files written (index excluded), counted after the first run. */
  files?: number;
  /** Why a run failed or was not made. */
  problem?: string;
  /** What the command said it changed or found (its first run): `0 added, 27 changed, 0 removed`, `27 files differ`. */
  summary?: string;
}

export interface ProfileReport {
  readonly row: RowId;
  readonly wallMs: number;
  readonly top: Frame[];
  readonly packages: PackageTime[];
  readonly rssSamples: number;
  readonly gcSamples: number;
}

export interface SerializerTime {
  readonly name: string;
  readonly ms: number;
}

export interface ScaleResult {
  readonly target: number;
  readonly objects: number;
  readonly shape: { dcs: number; services: number; perService: number };
  /** Objects of the one service whose version the one-service change changes. */
  readonly oneServiceObjects: number;
  readonly rows: Row[];
  profile?: ProfileReport;
  serializers?: SerializerTime[];
}

export interface BenchResult {
  readonly startedAt: string;
  readonly machine: {
    readonly platform: string;
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGb: number;
    readonly loadavgBefore: string;
    loadavgAfter?: string;
    readonly measuredWith: 'gnu-time' | 'proc-poll';
  };
  readonly runs: number;
  readonly startup: Row[];
  readonly scales: ScaleResult[];
  durationS?: number;
}

export interface BenchOptions {
  readonly scales: readonly number[];
  readonly runs: number;
  /** Profile `render-full` at scales of at least this many objects (Infinity: never). */
  readonly profileFrom?: number;
  /** A row whose first run took longer is not repeated. */
  readonly maxRunSeconds?: number;
  readonly skip?: readonly RowId[];
  readonly serializers?: boolean;
  /** Keep the scratch directory (its path is returned) instead of removing it. */
  readonly keep?: boolean;
  readonly scratch?: string;
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Where to copy each .cpuprofile (kept for a closer look). */
  readonly profilesDir?: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function medianStats(runs: readonly Stats[]): Stats {
  const m = (k: keyof Stats) => median(runs.map((r) => r[k]));
  return { wallMs: m('wallMs'), userMs: m('userMs'), sysMs: m('sysMs'), cpuMs: m('cpuMs'), maxRssMb: m('maxRssMb') };
}

const statsOf = (m: Measured): Stats => ({ wallMs: m.wallMs, userMs: m.userMs, sysMs: m.sysMs, cpuMs: m.userMs + m.sysMs, maxRssMb: m.maxRssMb });

/** Files under dir, as paths relative to it (topoforge's index and lock left out). */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (
    (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((d) => d.isFile() && d.name !== 'topoforge-index.json')
      .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
      // topoforge's own files beside the output (the lock, the state records in .topoforge-state/)
      .filter((p) => !p.startsWith('.topoforge'))
      .sort()
  );
}

const firstLine = (s: string): string =>
  s
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0) ?? '';

/** Children get the bench's environment without NODE_OPTIONS (a test runner's hooks would be measured too). */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.VITEST;
  return env;
}

interface Variant {
  readonly note: string;
  readonly one: boolean;
}
const ONE_SERVICE = serviceName(0);
const FULL_NOTE = ' (changed)';

export async function runBench(opts: BenchOptions): Promise<{ result: BenchResult; scratch: string }> {
  const log = opts.log ?? (() => {});
  const runs = Math.max(1, opts.runs);
  const maxRunMs = (opts.maxRunSeconds ?? 60) * 1000;
  const skip = new Set(opts.skip ?? []);
  const scratch = opts.scratch ?? mkdtempSync(join(tmpdir(), 'topoforge-bench-'));
  mkdirSync(scratch, { recursive: true });
  const bin = cliBin();
  const node = process.execPath;
  const env = childEnv();
  const t0 = performance.now();
  const result: BenchResult = {
    startedAt: new Date().toISOString(),
    machine: {
      platform: `${process.platform}/${process.arch}`,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? '',
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      loadavgBefore: loadavg(),
      measuredWith: hasGnuTime() ? 'gnu-time' : 'proc-poll',
    },
    runs,
    startup: [],
    scales: [],
  };
  const run = (args: readonly string[], cwd: string, extra: { timeline?: boolean } = {}) =>
    measure(node, args, { cwd, env, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...extra });

  /** Runs `rows` in rounds; `step` makes one run of a row (undefined: the row is skipped this round, with its problem set). */
  async function rounds(rows: Row[], step: (row: Row, round: number) => Promise<Measured | undefined>, expected: (id: RowId) => readonly number[]) {
    for (let round = 0; round < runs; round++) {
      for (const row of rows) {
        if (skip.has(row.id)) {
          row.problem ??= 'skipped (--skip)';
          continue;
        }
        if (round > 0 && (row.runs.length === 0 || row.runs[0]!.wallMs > maxRunMs || row.problem)) continue;
        const m = await step(row, round);
        if (!m) continue;
        row.codes.push(m.code);
        if (m.code === null || !expected(row.id).includes(m.code)) {
          row.problem = `exit ${m.code ?? m.signal}: ${firstLine(m.stderr) || firstLine(m.stdout)}`.slice(0, 300);
          log(`  ${row.id}: FAILED ${row.problem}`);
          continue;
        }
        row.runs.push(statsOf(m));
        row.summary ??= changeSummary(m.stdout);
        log(`  ${row.id}: ${(m.wallMs / 1000).toFixed(2)} s wall, ${((m.userMs + m.sysMs) / 1000).toFixed(2)} s CPU, ${Math.round(m.maxRssMb)} MB`);
      }
    }
    for (const row of rows) if (row.runs.length) row.median = medianStats(row.runs);
  }
  const newRows = (ids: readonly RowId[]): Row[] => ids.map((id) => ({ id, label: ROW_LABELS[id], runs: [], codes: [] }));

  // Start-up and the bundled environments: independent of scale, measured once.
  {
    log(`start-up and bundled environments (${runs} runs)`);
    const dir = join(scratch, 'bundled');
    mkdirSync(dir, { recursive: true });
    const envs = join(repoRoot, 'environments');
    const seeded = await run([bin, 'render', '--environments', envs, '--out', 'out'], dir);
    // The same tree without the render's local record, as a clone of the GitOps repository has it.
    const clone = join(dir, 'clone');
    if (seeded.code === 0) {
      rmSync(clone, { recursive: true, force: true });
      cpSync(join(dir, 'out'), clone, { recursive: true, filter: (src) => !src.split(sep).includes(STATE_DIR) });
    }
    const rows = newRows(STARTUP_ROWS);
    await rounds(
      rows,
      async (row) => {
        if ((row.id === 'render-bundled' || row.id === 'check-bundled' || row.id === 'check-bundled-cold') && seeded.code !== 0) {
          row.problem = `the first render of the bundled environments failed: exit ${seeded.code}: ${firstLine(seeded.stderr)}`;
          return undefined;
        }
        switch (row.id) {
          case 'node-e-0':
            return run(['-e', '0'], dir);
          case 'help':
            return run([bin, '--help'], dir);
          case 'render-bundled':
            return run([bin, 'render', '--environments', envs, '--out', 'out'], dir);
          case 'check-bundled-cold':
            return run([bin, 'check', '--environments', envs, '--out', 'clone'], dir);
          default:
            return run([bin, 'check', '--environments', envs, '--out', 'out'], dir);
        }
      },
      () => [0],
    );
    const bundledFiles = listFiles(join(dir, 'out')).length;
    for (const r of rows) if (r.id === 'render-bundled') r.files = bundledFiles;
    result.startup.push(...rows);
  }

  for (const target of opts.scales) {
    const shape = scaleFor(target);
    const dir = join(scratch, `s${target}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'envs'), { recursive: true });
    const pluginPath = join(benchDir, 'dist', 'synthetic-plugin.js');
    const text = (v: Variant) =>
      syntheticEnvironment(shape, {
        plugin: { package: pluginPath, perService: shape.perService, note: v.note },
        versions: v.one ? { [ONE_SERVICE]: '9.9.9' } : {},
      });
    const workloads: Workload[] = ['', FULL_NOTE].map((note) => workloadOf(text({ note, one: false }), shape.perService, note));
    const workloadFile = (i: number) => join(dir, `workload-${i}.json`);
    workloads.forEach((w, i) => writeFileSync(workloadFile(i), JSON.stringify(w)));
    const objects = objectCount(workloads[0]!);
    log(`${objects} objects (${shape.dcs} DCs × ${shape.services} services × ${shape.perService} per service, where placed)`);
    const sr: ScaleResult = {
      target,
      objects,
      shape: { dcs: shape.dcs, services: shape.services, perService: shape.perService },
      oneServiceObjects: workloads[0]!.placements.filter((p) => p.service === ONE_SERVICE).length * shape.perService,
      rows: newRows(SCALE_ROWS),
    };
    result.scales.push(sr);

    // topoforge's tree and which variant of the environment it holds (undefined: none yet).
    let tree: Variant | undefined;
    const envFile = join(dir, 'envs', 'synthetic.yaml');
    const topo = (...args: string[]) => [bin, ...args, '--environments', 'envs'];
    const renderArgs = () => topo('render', '--out', 'out');
    const setEnv = (v: Variant) => writeFileSync(envFile, text(v));
    const ensureTree = async (row: Row): Promise<Variant | undefined> => {
      if (tree) return tree;
      const v = { note: '', one: false };
      setEnv(v);
      const m = await run(renderArgs(), dir);
      if (m.code !== 0) {
        row.problem = `no tree to start from: render failed, exit ${m.code ?? m.signal}: ${firstLine(m.stderr)}`.slice(0, 300);
        return undefined;
      }
      return (tree = v);
    };
    // The producers other than topoforge write into an empty directory of their own (its removal
    // not timed): the floor is the least a writer of these files can cost.
    const producerDir = (id: RowId) => join(dir, id);
    const counted = new Set<RowId>();

    await rounds(
      sr.rows,
      async (row, round) => {
        let m: Measured | undefined;
        switch (row.id) {
          case 'floor':
          case 'js-yaml':
          case 'cdk8s':
            // Every run's objects differ from the last run's (the note alternates), as render-full's do.
            rmSync(producerDir(row.id), { recursive: true, force: true });
            m = await run([join(benchDir, 'dist', 'producers', `${row.id}.js`), workloadFile((round + 1) % 2), producerDir(row.id)], dir);
            if (!counted.has(row.id)) row.files = listFiles(producerDir(row.id)).length;
            break;
          case 'render-empty': {
            rmSync(join(dir, 'out'), { recursive: true, force: true });
            const v = tree ?? { note: '', one: false };
            tree = undefined;
            setEnv(v);
            m = await run(renderArgs(), dir);
            if (m.code === 0) tree = v;
            if (!counted.has(row.id)) row.files = listFiles(join(dir, 'out')).length;
            break;
          }
          case 'render-full':
          case 'render-none':
          case 'render-one': {
            const from = await ensureTree(row);
            if (!from) return undefined;
            const v = row.id === 'render-full' ? { ...from, note: from.note ? '' : FULL_NOTE } : row.id === 'render-one' ? { ...from, one: !from.one } : from;
            setEnv(v);
            m = await run(renderArgs(), dir);
            if (m.code === 0) tree = v;
            break;
          }
          case 'check-one':
          case 'diff-one': {
            const from = await ensureTree(row);
            if (!from) return undefined;
            setEnv({ ...from, one: !from.one });
            m = await run(row.id === 'check-one' ? topo('check', '--out', 'out') : topo('diff', '--against', 'out'), dir);
            break;
          }
          default:
            return undefined;
        }
        counted.add(row.id);
        return m;
      },
      (id) => (id === 'check-one' ? [1] : id === 'diff-one' ? [1, 3] : [0]),
    );

    if (target >= (opts.profileFrom ?? 10_000) && !skip.has('render-full')) {
      log('  profiling render-full (--cpu-prof, RSS sampled)');
      const from = await ensureTree(sr.rows.find((r) => r.id === 'render-full')!);
      if (from) {
        const v = { ...from, note: from.note ? '' : FULL_NOTE };
        setEnv(v);
        const profDir = join(dir, 'prof');
        rmSync(profDir, { recursive: true, force: true });
        const m = await run(['--cpu-prof', '--cpu-prof-dir', profDir, '--trace-gc', ...renderArgs()], dir, { timeline: true });
        const file = existsSync(profDir) ? readdirSync(profDir).find((n) => n.endsWith('.cpuprofile')) : undefined;
        if (m.code === 0 && file) {
          tree = v;
          const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
          const heap = parseTraceGc(m.stdout, m.spawnUs);
          if (opts.profilesDir) {
            mkdirSync(opts.profilesDir, { recursive: true });
            cpSync(join(profDir, file), join(opts.profilesDir, `render-full-${target}.cpuprofile`));
          }
          sr.profile = {
            row: 'render-full',
            wallMs: m.wallMs,
            top: topSelfFrames(profile, 10, repoRoot),
            packages: timeByPackage(profile, { rss: m.rss ?? [], heap: heap }),
            rssSamples: m.rss?.length ?? 0,
            gcSamples: heap.length,
          };
        } else log(`  profile failed: exit ${m.code}: ${firstLine(m.stderr)}`);
        rmSync(profDir, { recursive: true, force: true });
      }
    }
    if (opts.serializers !== false) sr.serializers = serializerTimes(workloads[0]!);
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
  result.machine.loadavgAfter = loadavg();
  result.durationS = Math.round((performance.now() - t0) / 1000);
  if (!opts.keep) rmSync(opts.scratch ? join(scratch, 'bundled') : scratch, { recursive: true, force: true });
  return { result, scratch };
}

/** The change a render reports (`N added, N changed, N removed`, summed over environments) or the files a check lists as differing. */
export function changeSummary(stdout: string): string | undefined {
  const sums = [0, 0, 0];
  let seen = false;
  for (const m of stdout.matchAll(/(\d+) added, (\d+) changed, (\d+) removed/g)) {
    seen = true;
    for (let i = 0; i < 3; i++) sums[i]! += Number(m[i + 1]);
  }
  if (seen) return `${sums[0]} added, ${sums[1]} changed, ${sums[2]} removed`;
  const listed = stdout.split('\n').filter((l) => /^[~+-] \S+ \(/.test(l)).length;
  return listed ? `${listed} files differ` : undefined;
}

export function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');
  } catch {
    return os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  }
}

/** Serializers alone, in this process, on (a sample of up to 20k of) the same objects, scaled to all of them. */
export function serializerTimes(w: Workload): SerializerTime[] {
  const sample: unknown[] = [];
  const total = objectCount(w);
  for (const f of workloadFiles(w)) {
    sample.push(f.object);
    if (sample.length >= 20_000) break;
  }
  const scale = total / sample.length;
  return (
    [
      ['JSON.stringify', (o: unknown) => JSON.stringify(o)],
      ['topoforge yaml-emit', (o: unknown) => toYaml(o)],
      ['js-yaml dump', (o: unknown) => jsYaml.dump(o, { lineWidth: -1, noRefs: true })],
      ['yaml stringify (sortMapEntries)', (o: unknown) => yamlStringify(o, { sortMapEntries: true, lineWidth: 0 })],
    ] as const
  ).map(([name, fn]) => {
    const t = performance.now();
    for (const o of sample) fn(o);
    return { name, ms: (performance.now() - t) * scale };
  });
}
