/**
 * The output's walk by GNU find, begun under the render's lock while it loads (Prescan): it lists
 * exactly what the walk in process lists, it is used only while the environment directory and
 * its index are the ones it walked, and a render through it finds hand edits and foreign files
 * as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePlugin, Type, type PluginDefinition } from '@topoforge/plugin-sdk';
import { parseFindOutput, Prescan, readFindOutput, walkTree, type OnDisk } from '../src/scan.js';
import { indexText, sha256 } from '../src/tree.js';
import { check, render, type WriteRequest } from '../src/index.js';
import { ENV as FIXTURE_ENV } from './fixtures.js';

const tmp: string[] = [];
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'topoforge-scan-'));
  tmp.push(d);
  return d;
};
afterEach(() => {
  delete process.env.TOPOFORGE_WALK;
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sorted = (m: Map<string, OnDisk> | undefined) => [...(m ?? new Map<string, OnDisk>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

async function walkedByFind(dir: string): Promise<Map<string, OnDisk> | undefined> {
  const scan = Prescan.start(dir);
  expect(scan, 'a directory with an index is walked').toBeDefined();
  await scan!.done();
  return scan!.take()?.disk;
}

/** GNU find (with -printf), which the walk needs; elsewhere the render walks in process. */
const gnuFind = spawnSync('find', ['.', '-maxdepth', '0', '-printf', '%y'], { encoding: 'utf8' }).stdout === 'd';
if (!gnuFind) console.warn('GNU find (findutils) is not installed: the walk by find is not tested here, and render walks in process');

describe.runIf(gnuFind)('the walk by find', () => {
  it('lists what the walk in process lists: odd names, links, special files, kept directories, the same sizes and mtimes', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'topoforge-index.json'), '{}');
    mkdirSync(join(dir, 'a/b/c'), { recursive: true });
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'a/node_modules/pkg'), { recursive: true });
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'node_modules/x.js'), 'kept, not listed');
    writeFileSync(join(dir, 'a/node_modules/pkg/index.js'), 'kept, not listed');
    writeFileSync(join(dir, 'a/b/c/deep.yaml'), 'kind: ConfigMap\n');
    writeFileSync(join(dir, 'with space.yaml'), 'x');
    writeFileSync(join(dir, 'new\nline'), 'a name with a newline');
    writeFileSync(join(dir, 'ünïcødé-名前.txt'), 'utf-8');
    writeFileSync(join(dir, '-dash'), 'looks like an option');
    writeFileSync(join(dir, 'a/b/node_modules'), 'a file called node_modules is listed');
    writeFileSync(join(dir, 'empty-file'), '');
    symlinkSync('a/b/c/deep.yaml', join(dir, 'link-to-file'));
    symlinkSync('a', join(dir, 'link-to-dir'));
    symlinkSync('nowhere', join(dir, 'dangling'));
    execFileSync('mkfifo', [join(dir, 'a/fifo')]);
    // mtimes with nanoseconds, in the past and the future.
    utimesSync(join(dir, 'with space.yaml'), 1_600_000_000.123456, 1_600_000_000.123456);
    utimesSync(join(dir, 'a/b/c/deep.yaml'), 4_102_444_800.987654, 4_102_444_800.987654);

    const inProcess = walkTree(dir);
    const byFind = await walkedByFind(dir);
    expect(byFind).toBeDefined();
    expect(sorted(byFind)).toEqual(sorted(inProcess));
    // What the comparison above covers, so that an empty walk on both sides cannot pass it.
    expect([...inProcess.keys()].sort()).toEqual(
      [
        '-dash',
        'a/b/c/deep.yaml',
        'a/b/node_modules',
        'a/fifo',
        'dangling',
        'empty-file',
        'link-to-dir',
        'link-to-file',
        'new\nline',
        'topoforge-index.json',
        'with space.yaml',
        'ünïcødé-名前.txt',
      ].sort(),
    );
    expect(inProcess.get('link-to-dir')!.file).toBe(false);
    expect(inProcess.get('a/fifo')!.file).toBe(false);
    expect(inProcess.get('a/b/c/deep.yaml')).toMatchObject({ file: true, size: 16 });
  });

  it('is used only while the index is the file it was when the walk began', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'topoforge-index.json'), '{"v":1}');
    writeFileSync(join(dir, 'a.yaml'), 'a');
    expect(await walkedByFind(dir)).toBeDefined();

    // Another render swapped in a new index after the walk began: what the walk saw is stale.
    const scan = Prescan.start(dir)!;
    await scan.done();
    writeFileSync(join(dir, 'next-index'), '{"v":1}');
    renameSync(join(dir, 'next-index'), join(dir, 'topoforge-index.json'));
    expect(scan.take()).toBeUndefined();

    // Taken once only; a cancelled walk gives nothing.
    const again = Prescan.start(dir)!;
    await again.done();
    expect(again.take()).toBeDefined();
    expect(again.take()).toBeUndefined();
    const cancelled = Prescan.start(dir)!;
    cancelled.cancel();
    await cancelled.done();
    expect(cancelled.take()).toBeUndefined();

    // The directory replaced by a link to a copy of it: not the directory walked.
    const moved = Prescan.start(dir)!;
    await moved.done();
    renameSync(dir, `${dir}-real`);
    tmp.push(`${dir}-real`);
    symlinkSync(`${dir}-real`, dir);
    expect(moved.take()).toBeUndefined();
    expect(Prescan.start(dir)).toBeUndefined();
    rmSync(dir);
    renameSync(`${dir}-real`, dir);

    // Nothing to walk ahead: no index, not a directory.
    rmSync(join(dir, 'topoforge-index.json'));
    expect(Prescan.start(dir)).toBeUndefined();
    expect(Prescan.start(join(dir, 'a.yaml'))).toBeUndefined();
    // A path lstat refuses (ENAMETOOLONG, e.g. from --env): no walk ahead, and no exception out of it.
    expect(Prescan.start(join(dir, 'x'.repeat(300)))).toBeUndefined();
  });

  it('reads the index while find walks, handed out only with the walk of that very index', async () => {
    const dir = scratch();
    const entries = ['a.yaml', 'b/c.yaml', 'ü.yaml'].map((path, i) => ({ path, sha256: sha256(path), plugin: i === 2 ? 'other' : 'files' }));
    const text = indexText('alpha', 'environments', entries);
    writeFileSync(join(dir, 'topoforge-index.json'), text);
    /** A walk by find, the index read meanwhile as `environment`'s, taken once done. */
    const walkReadingIndex = async (environment: string) => {
      const scan = Prescan.start(dir)!;
      scan.readIndex(environment);
      await scan.done();
      return scan.take();
    };
    const walk = await walkReadingIndex('alpha');
    expect(walk?.disk.has('topoforge-index.json')).toBe(true);
    expect(walk?.index?.canonical).toEqual({ environment: 'alpha', source: 'environments', listed: 3, sha: sha256(text) });
    expect(walk?.index?.paths).toEqual(entries.map((e) => e.path));
    expect(walk?.index?.shas).toEqual(entries.map((e) => e.sha256));
    expect(walk?.index?.plugins).toEqual(['files', 'files', 'other']);

    // Another environment's index, or one not as indexChunks writes it: read after the walk instead.
    const walkOnly = await walkReadingIndex('beta');
    expect(walkOnly?.disk.has('topoforge-index.json')).toBe(true);
    expect(walkOnly?.index).toBeUndefined();
    writeFileSync(join(dir, 'topoforge-index.json'), text.replace('  "files"', ' "files"'));
    const editedWalk = await walkReadingIndex('alpha');
    expect(editedWalk?.disk.has('topoforge-index.json')).toBe(true);
    expect(editedWalk?.index).toBeUndefined();

    // Read, and then another index swapped in before the walk is taken: neither is used.
    writeFileSync(join(dir, 'topoforge-index.json'), text);
    const swapped = Prescan.start(dir)!;
    swapped.readIndex('alpha');
    writeFileSync(join(dir, 'next-index'), indexText('alpha', 'environments', entries.slice(1)));
    renameSync(join(dir, 'next-index'), join(dir, 'topoforge-index.json'));
    await swapped.done();
    expect(swapped.take()).toBeUndefined();
  });

  it("reads find's output a chunk at a time: records across chunk boundaries, paths longer than a chunk", () => {
    const dir = scratch();
    const records = [
      'f 3 1600000000.1234567890 1600000000.1234567891 a.yaml',
      `f 70 1700000000.0000000010 1700000001.0000000010 ${'long/'.repeat(12)}x.yaml`,
      'l 7 1600000001.5000000000 1600000001.5000000000 link',
      'f 0 1.0000000000 2.0000000000 ü',
    ]
      .map((r) => r + '\0')
      .join('');
    // Written through the descriptor it is read from, as find writes through a copy of it: its
    // offset is at the end, and the output is read from the start all the same.
    const written = (name: string, text: string): number => {
      const fd = openSync(join(dir, name), 'wx+');
      fds.push(fd);
      writeSync(fd, text);
      return fd;
    };
    const fds: number[] = [];
    try {
      const walk = written('walk', records);
      const whole = parseFindOutput(Buffer.from(records, 'utf8'));
      expect(whole!.size).toBe(4);
      for (const chunk of [1, 2, 3, 7, 16, 31, 64, 1 << 20]) expect(sorted(readFindOutput(walk, chunk)), `chunk ${chunk}`).toEqual(sorted(whole));
      expect(readFindOutput(written('cut', records.slice(0, -1)), 16)).toBeUndefined();
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });

  it('leaves no name in TMPDIR while find walks, nor when the process walking is killed', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'topoforge-index.json'), '{"v":1}');
    for (let i = 0; i < 50; i++) writeFileSync(join(dir, `f${i}.yaml`), 'a');
    const temp = scratch();
    const before = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      const scan = Prescan.start(dir)!;
      expect(scan).toBeDefined();
      // find's output file has no name from the start: nothing to leave behind.
      expect(readdirSync(temp)).toEqual([]);
      await scan.done();
      expect(scan.take()?.disk.size).toBe(51);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    // A process killed with SIGKILL right after it began the walk (find still running, or just done).
    const many = scratch();
    writeFileSync(join(many, 'topoforge-index.json'), '{"v":1}');
    for (let i = 0; i < 2000; i++) writeFileSync(join(many, `f${i}.yaml`), 'a');
    const script = `import { Prescan } from ${JSON.stringify(new URL('../dist/scan.js', import.meta.url).href)};
      const scan = Prescan.start(${JSON.stringify(many)});
      if (!scan) process.exit(3);
      process.kill(process.pid, 'SIGKILL');`;
    const killed = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: temp }, encoding: 'utf8' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(readdirSync(temp)).toEqual([]);
  });

  it("refuses find's output when a record is cut short or out of range", () => {
    const rec = (s: string) => Buffer.from(s, 'utf8');
    expect(parseFindOutput(rec('f 3 1600000000.1234567890 1700000000.0000000020 a.yaml\0'))!.get('a.yaml')).toEqual({
      file: true,
      size: 3,
      mtimeMs: 1600000000 * 1e3 + 123456789 / 1e6,
      ctimeMs: 1700000000 * 1e3 + 2 / 1e6,
      sha: undefined,
      plugin: undefined,
    });
    expect(parseFindOutput(rec('f 3 1600000000.1234567890 1600000000.1234567890 a.yaml'))).toBeUndefined();
    expect(parseFindOutput(rec('f 3 a.yaml\0'))).toBeUndefined();
    // Without its ctime (find's output before it was asked for one).
    expect(parseFindOutput(rec('f 3 1600000000.1234567890 a.yaml\0'))).toBeUndefined();
    expect(parseFindOutput(rec('f 3 -1.5000000000 1.5000000000 old\0'))).toBeUndefined();
    expect(parseFindOutput(rec('f 3 1.5000000000 -1.5000000000 old\0'))).toBeUndefined();
    expect(parseFindOutput(rec('f x 1600000000.1 1600000000.1 a\0'))).toBeUndefined();
    expect(parseFindOutput(rec(''))!.size).toBe(0);
  });
});

describe.runIf(gnuFind)('a render through the walk by find', () => {
  const files = definePlugin({
    name: 'files',
    description: 'a few files',
    options: Type.Object({}),
    render(ctx) {
      for (const n of ['one', 'two', 'three']) ctx.file(`notes/${n}.txt`, `${n}\n`);
    },
  }) as PluginDefinition<never>;
  const ENV = FIXTURE_ENV('alpha', '  files: {}');

  for (const walk of ['find + index', 'process'] as const)
    it(`restores a hand-edited file and refuses a foreign one (walk ${walk === 'process' ? 'in process' : 'by find'})`, async () => {
      if (walk === 'process') process.env.TOPOFORGE_WALK = 'node';
      const cwd = scratch();
      mkdirSync(join(cwd, 'environments'));
      writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV);
      const walked: string[] = [];
      const req: WriteRequest = {
        environmentsDir: 'environments',
        out: 'out',
        cwd,
        builtins: [files],
        // By find, the index is read while find walks (Prescan.readIndex): what a render or check waited for find.
        write: { walked: (env, by, indexRead) => walked.push(`${env} ${by}${indexRead ? ' + index' : ''}`) },
      };
      expect((await render(req)).ok).toBe(true);
      // The first render finds no index to walk ahead.
      expect(walked).toEqual(['alpha process']);

      // The same size: only its mtime, newer than the render's record, says it changed.
      writeFileSync(join(cwd, 'out/alpha/notes/two.txt'), 'TWO\n');
      const checked = await check(req);
      expect(checked.ok && checked.value[0]).toMatchObject({ changed: ['notes/two.txt'], added: [], removed: [] });
      expect(walked.splice(1)).toEqual([`alpha ${walk}`]);
      const restored = await render(req);
      expect(restored.ok && restored.value.changes[0]!.changed).toEqual(['notes/two.txt']);
      expect(readFileSync(join(cwd, 'out/alpha/notes/two.txt'), 'utf8')).toBe('two\n');
      expect(walked[1]).toBe(`alpha ${walk}`);

      writeFileSync(join(cwd, 'out/alpha/notes/zz-foreign.txt'), 'mine\n');
      writeFileSync(join(cwd, 'out/alpha/notes/aa-foreign.txt'), 'mine\n');
      // A name that is not UTF-8 (0xff): listed decoded, as U+FFFD, by either walk.
      writeFileSync(Buffer.concat([Buffer.from(join(cwd, 'out/alpha/notes/m')), Buffer.from([0xff]), Buffer.from('.txt')]), 'mine\n');
      const foreign = await check(req);
      // Named in path order, whichever walk listed them.
      expect(foreign.ok && foreign.value[0]!.removed).toEqual(['notes/aa-foreign.txt', 'notes/m\uFFFD.txt', 'notes/zz-foreign.txt']);
      expect(walked.splice(2)).toEqual([`alpha ${walk}`]);
      const refused = await render(req);
      expect(refused.ok).toBe(false);
      expect(!refused.ok && refused.diagnostics[0]!.code).toBe('RENDER_FOREIGN_CONTENT');
      // Named in path order, whichever walk listed them.
      expect(!refused.ok && refused.diagnostics[0]!.message).toContain(
        '3 files topoforge did not write: notes/aa-foreign.txt, notes/m\uFFFD.txt, notes/zz-foreign.txt',
      );
      expect(readFileSync(join(cwd, 'out/alpha/notes/zz-foreign.txt'), 'utf8')).toBe('mine\n');
      expect(walked[2]).toBe(`alpha ${walk}`);
    });

  it('a render that fails leaves no walk behind: no output directory it made, no temp directory of find', async () => {
    const cwd = scratch();
    const temp = join(cwd, 'tmp');
    mkdirSync(temp);
    const before = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      mkdirSync(join(cwd, 'environments'));
      writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV);
      const req: WriteRequest = { environmentsDir: 'environments', out: 'out', cwd, builtins: [files] };
      expect((await render(req)).ok).toBe(true);
      // Bad input: the walk begun under the lock is stopped, its directory removed, the output unchanged.
      writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV.replace('stage: staging', 'stage: nowhere'));
      const outBefore = readdirSync(join(cwd, 'out/alpha/notes')).sort();
      const bad = await render(req);
      expect(bad.ok).toBe(false);
      expect(readdirSync(join(cwd, 'out/alpha/notes')).sort()).toEqual(outBefore);
      expect(readdirSync(join(cwd, 'out')).filter((n) => n.startsWith('.topoforge-lock'))).toEqual([]);
      // check too: its walk, begun while it loads, is stopped and its directory removed.
      expect((await check(req)).ok).toBe(false);
      // A new output directory is not left behind by a failed render either.
      const fresh = await render({ ...req, out: 'fresh/out' });
      expect(fresh.ok).toBe(false);
      expect(existsSync(join(cwd, 'fresh'))).toBe(false);
      // render() returns once each walk it began is stopped and its temp directory removed.
      expect(readdirSync(temp)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });
});
