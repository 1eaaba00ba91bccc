import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageOf, parseTraceGc, shortUrl, ticks, timeByPackage, topSelfFrames, type CpuProfile } from '../src/cpuprofile.js';
import { hasGnuTime, measure } from '../src/measure.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-cpuprofile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real profile of a script that spends its time in one function, `spin`, on line 2. */
function realProfile(): { profile: CpuProfile; script: string } {
  const script = join(dir, 'busy.mjs');
  writeFileSync(
    script,
    [
      'export function spin(ms) {',
      '  let x = 0; const end = Date.now() + ms; while (Date.now() < end) for (let i = 0; i < 1000; i++) x += Math.sqrt(i);',
      '  return x;',
      '}',
      'spin(400);',
      "import { writeFileSync } from 'node:fs';",
      'export function write(ms) { const end = Date.now() + ms; while (Date.now() < end) writeFileSync(process.argv[2], "x".repeat(4096)); }',
      'write(300);',
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', join(dir, 'prof'), script, join(dir, 'scratch.txt')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const file = readdirSync(join(dir, 'prof')).find((n) => n.endsWith('.cpuprofile'))!;
  return { profile: JSON.parse(readFileSync(join(dir, 'prof', file), 'utf8')) as CpuProfile, script };
}

describe('cpuprofile', () => {
  const { profile, script } = realProfile();

  it('gives every sample a time and a duration that add up to the profile', () => {
    const t = ticks(profile);
    expect(t).toHaveLength(profile.samples.length);
    const sum = t.reduce((n, x) => n + x.durationUs, 0);
    expect(sum).toBe(Math.max(profile.endTime, t[t.length - 1]!.us) - t[0]!.us);
    for (let i = 1; i < t.length; i++) expect(t[i]!.us).toBeGreaterThanOrEqual(t[i - 1]!.us);
  });

  it('names the function with the most self time, its file and 1-based line', () => {
    const top = topSelfFrames(profile, 10, dir);
    expect(top.length).toBeGreaterThan(0);
    expect(top.length).toBeLessThanOrEqual(10);
    expect(top[0]!.functionName).toBe('spin');
    expect(top[0]!.location).toBe('busy.mjs:1');
    expect(top[0]!.share).toBeGreaterThan(0.3);
    for (let i = 1; i < top.length; i++) expect(top[i]!.selfMs).toBeLessThanOrEqual(top[i - 1]!.selfMs);
    expect(script.endsWith('busy.mjs')).toBe(true);
  });

  it('counts a frame of Node itself per caller in a file', () => {
    const all = topSelfFrames(profile, 10_000, dir);
    const native = all.filter((f) => f.calledFrom !== undefined);
    expect(native.length).toBeGreaterThan(0);
    expect(native.some((f) => f.calledFrom === 'write busy.mjs:7')).toBe(true);
    expect(all.filter((f) => f.functionName === 'spin').every((f) => f.calledFrom === undefined)).toBe(true);
  });

  it('splits the time by package, with the RSS sampled while each was on top', () => {
    const first = ticks(profile)[0]!;
    const byPkg = timeByPackage(profile, { rss: [{ us: first.us, mb: 42 }], heap: [{ us: first.us, mb: 7 }] });
    const total = byPkg.reduce((n, x) => n + x.share, 0);
    expect(total).toBeCloseTo(1, 5);
    expect(byPkg.some((x) => x.peakRssMb === 42)).toBe(true);
    expect(byPkg.some((x) => x.peakHeapMb === 7)).toBe(true);
  });

  it('reads the live heap after each collection from a real --trace-gc', () => {
    const r = spawnSync(process.execPath, ['--trace-gc', '-e', 'const a = []; for (let i = 0; i < 300000; i++) a.push({ i }); console.log("done")'], {
      encoding: 'utf8',
    });
    const gc = parseTraceGc(r.stdout, 1_000_000);
    expect(gc.length).toBeGreaterThan(0);
    for (const x of gc) {
      expect(x.us).toBeGreaterThan(1_000_000);
      expect(x.mb).toBeGreaterThan(0);
    }
    expect(parseTraceGc('[1:0xab]  12.5 ms: Mark-Compact 40.1 (50.0) -> 30.2 (45.0) MB, 3.1 / 0.0 ms  (reason)\nother\n', 0)).toEqual([
      { us: 12_500, mb: 30.2 },
    ]);
  });

  it('knows packages by path', () => {
    expect(packageOf('file:///w/packages/engine/dist/tree.js')).toBe('engine');
    expect(packageOf('file:///w/plugins/velero/dist/index.js')).toBe('plugin-velero');
    expect(packageOf('file:///w/node_modules/.pnpm/yaml@2.9.1/node_modules/yaml/dist/index.js')).toBe('yaml');
    expect(packageOf('file:///w/node_modules/.pnpm/x/node_modules/@scope/pkg/lib/a.js')).toBe('@scope/pkg');
    expect(packageOf('node:internal/modules/esm/loader')).toBe('node (module loading)');
    expect(packageOf('node:fs')).toBeUndefined();
    expect(shortUrl('file:///w/packages/engine/dist/tree.js', '/w')).toBe('packages/engine/dist/tree.js');
    expect(shortUrl('file:///w/node_modules/.pnpm/yaml@2.9.1/node_modules/yaml/dist/a.js')).toBe('node_modules/yaml/dist/a.js');
  });
});

describe('measure', () => {
  const hold = ['-e', 'const b = Buffer.alloc(64 * 1024 * 1024, 1); setTimeout(() => process.exit(b[0] === 1 ? 3 : 0), 300);'];

  it.skipIf(!hasGnuTime())('reads the child’s CPU, peak RSS and exit code from GNU time', async () => {
    const m = await measure(process.execPath, hold);
    expect(m.method).toBe('gnu-time');
    expect(m.code).toBe(3);
    expect(m.maxRssMb).toBeGreaterThan(64);
    expect(m.userMs + m.sysMs).toBeGreaterThan(0);
  });

  it.skipIf(process.platform !== 'linux')('falls back to polling /proc, with an RSS timeline', async () => {
    const m = await measure(process.execPath, hold, { noGnuTime: true, timeline: true });
    expect(m.method).toBe('proc-poll');
    expect(m.code).toBe(3);
    expect(m.maxRssMb).toBeGreaterThan(64);
    expect(m.rss!.length).toBeGreaterThan(0);
  });
});
