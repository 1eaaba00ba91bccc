/**
 * The swap of a directory whose every file a render replaces: it goes in whole (two renames,
 * its old files emptied out of the trash on both threads), and only when nothing else lives in
 * the old one — a local install, a file the render keeps or does not write, a subdirectory —
 * which the swap file by file keeps. A kill between its two renames is completed by recovery.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RenderResult } from '@topoforge/plugin-sdk';
import { listTree, readIndex, recover, sha256, writeTree } from '../src/index.js';
import { WHOLE_DIRECTORY_FILES } from '../src/tree.js';

const dirs: string[] = [];
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tf-whole-'));
  dirs.push(d);
  return join(d, 'out');
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function result(files: Record<string, string>): RenderResult {
  return { environment: 'env', emitted: [], logs: [], files: new Map(Object.entries(files).map(([p, c]) => [p, { content: c, plugin: 'p' }])) };
}

/** `n` files in `dir`, their content tagged. */
const many = (dir: string, tag: string, n = WHOLE_DIRECTORY_FILES + 2): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${dir}/f${i}.yaml`, `${tag}: ${i}\n`]));

const inode = (p: string): number => lstatSync(p).ino;

/** The environment holds exactly what its index lists, with those hashes, and the output nothing but it and the state. */
function rendered(out: string, files: Record<string, string>): void {
  const idx = readIndex(join(out, 'env'), 'env');
  expect(idx?.files.map((f) => f.path)).toEqual(Object.keys(files).sort());
  expect(listTree(join(out, 'env')).filter((p) => !p.includes('node_modules'))).toEqual([...Object.keys(files), 'topoforge-index.json'].sort());
  for (const [p, c] of Object.entries(files)) expect(readFileSync(join(out, 'env', p), 'utf8'), p).toBe(c);
  for (const f of idx!.files) expect(sha256(files[f.path]!)).toBe(f.sha256);
  expect(readdirSync(out).sort()).toEqual(['.topoforge-state', 'env']);
}

for (const thread of ['one thread', 'the second thread'] as const)
  describe(`a directory whose every file changes (${thread})`, () => {
    const opts = thread === 'the second thread' ? { writeBehindAfter: 0 } : { writeBehindAfter: Infinity };

    it('goes in whole; one with a file the render keeps is updated file by file; the old files are gone', () => {
      const out = scratch();
      const first: Record<string, string> = { ...many('a/x', 'one'), ...many('a/y', 'one'), ...many('b', 'one'), 'top.yaml': 'top: 1\n' };
      writeTree(out, [result(first)], opts);
      const before = { x: inode(join(out, 'env/a/x')), y: inode(join(out, 'env/a/y')), b: inode(join(out, 'env/b')) };
      // a/x: every file changes and one is no longer rendered; a/y: all but one change; b: all change and one is added.
      const second: Record<string, string> = {
        ...many('a/x', 'two'),
        ...many('a/y', 'two'),
        ...many('b', 'two', WHOLE_DIRECTORY_FILES + 3),
        'top.yaml': 'top: 1\n',
      };
      delete second['a/x/f0.yaml'];
      second['a/y/f1.yaml'] = first['a/y/f1.yaml']!;
      const change = writeTree(out, [result(second)], opts)[0]!;
      expect(change.removed).toEqual(['a/x/f0.yaml']);
      expect(change.added).toEqual([`b/f${WHOLE_DIRECTORY_FILES + 2}.yaml`]);
      rendered(out, second);
      expect(inode(join(out, 'env/a/x')), 'a/x swapped whole').not.toBe(before.x);
      expect(inode(join(out, 'env/b')), 'b swapped whole').not.toBe(before.b);
      expect(inode(join(out, 'env/a/y')), 'a/y updated in place').toBe(before.y);
    });

    it('a directory named like the start of one swapped whole (a/b, then a/bc) is updated as itself', () => {
      const out = scratch();
      const first: Record<string, string> = { ...many('a/b', 'one'), 'a/bc/x.yaml': 'x: 1\n', 'a/bcd.yaml': 'y: 1\n' };
      writeTree(out, [result(first)], opts);
      // Every file of a/b changes (whole); the files after it, in a/bc and in a, are renamed one by one.
      const second: Record<string, string> = { ...many('a/b', 'two'), 'a/bc/x.yaml': 'x: 2\n', 'a/bc/new.yaml': 'n: 1\n', 'a/bcd.yaml': 'y: 2\n' };
      const change = writeTree(out, [result(second)], opts)[0]!;
      expect(change.added).toEqual(['a/bc/new.yaml']);
      rendered(out, second);
    });

    it('two environments: the second is updated file by file while the old directories of the first are emptied', () => {
      const out = scratch();
      const two = (env: string, files: Record<string, string>): RenderResult => ({ ...result(files), environment: env });
      // Ten files per directory in `small`, one of them changing: file by file. Every file of `a` and `b` in `big` changes: whole.
      const small = (tag: string): Record<string, string> => ({ ...many('s', 'same'), 's/f3.yaml': `${tag}\n`, ...many('t', 'same'), 't/f5.yaml': `${tag}\n` });
      writeTree(out, [two('big', { ...many('a', 'one'), ...many('b', 'one') }), two('small', small('one'))], opts);
      const before = { a: inode(join(out, 'big/a')), s: inode(join(out, 'small/s')), kept: inode(join(out, 'small/s/f0.yaml')) };
      const changes = writeTree(out, [two('big', { ...many('a', 'two'), ...many('b', 'two') }), two('small', small('two'))], opts);
      // The index is counted as a changed file too.
      expect(changes.map((c) => [c.environment, c.changed.length])).toEqual([
        ['big', 2 * (WHOLE_DIRECTORY_FILES + 2) + 1],
        ['small', 3],
      ]);
      expect(changes[1]!.changed).toEqual(['s/f3.yaml', 't/f5.yaml', 'topoforge-index.json']);
      expect(inode(join(out, 'big/a')), 'swapped whole').not.toBe(before.a);
      expect(inode(join(out, 'small/s')), 'updated in place').toBe(before.s);
      expect(inode(join(out, 'small/s/f0.yaml')), 'an unchanged file is not rewritten').toBe(before.kept);
      for (const [p, c] of Object.entries(small('two'))) expect(readFileSync(join(out, 'small', p), 'utf8'), p).toBe(c);
      expect(readFileSync(join(out, 'big/b/f4.yaml'), 'utf8')).toBe('two: 4\n');
      expect(readdirSync(out).sort()).toEqual(['.topoforge-state', 'big', 'small']);
    });

    it('one holding a local install is updated file by file and keeps it; --adopt drops a file by hand, as file by file', () => {
      const out = scratch();
      writeTree(out, [result({ ...many('pulumi', 'one'), ...many('other', 'one') })], opts);
      mkdirSync(join(out, 'env/pulumi/node_modules/pkg'), { recursive: true });
      writeFileSync(join(out, 'env/pulumi/node_modules/pkg/index.js'), 'installed\n');
      writeFileSync(join(out, 'env/other/mine.txt'), 'by hand\n');
      const before = inode(join(out, 'env/pulumi'));
      const second = { ...many('pulumi', 'two'), ...many('other', 'two') };
      // A file deleted by hand while the render runs: the directory holds as many entries as the render replaces.
      const change = writeTree(out, [result(second)], { ...opts, adopt: true, beforeSwap: () => rmSync(join(out, 'env/pulumi/f0.yaml')) })[0]!;
      expect(readFileSync(join(out, 'env/pulumi/node_modules/pkg/index.js'), 'utf8')).toBe('installed\n');
      expect(inode(join(out, 'env/pulumi'))).toBe(before);
      expect(change.removed).toEqual(['other/mine.txt']);
      rendered(out, second);
    });

    it('one that is new, or where a file stood, is put in place', () => {
      const out = scratch();
      writeTree(out, [result({ 'a/x': 'a file\n', 'keep.yaml': 'k: 1\n' })], opts);
      // a/x was a file and is now a directory; c is new.
      const second = { ...many('a/x', 'two'), ...many('c/d', 'two'), 'keep.yaml': 'k: 1\n' };
      writeTree(out, [result(second)], opts);
      rendered(out, second);
    });

    it('one under a path that was a file is put in place', () => {
      const out = scratch();
      writeTree(out, [result({ a: 'a file\n', 'k.yaml': 'k: 1\n' })], opts);
      // a was a file; a/x is a new directory of files below it.
      const second = { ...many('a/x', 'two'), 'k.yaml': 'k: 1\n' };
      writeTree(out, [result(second)], opts);
      rendered(out, second);
    });

    it('edits made while the render runs do not make it take a file it keeps, or one made by hand, for one it replaces', () => {
      const out = scratch();
      const first = { ...many('d', 'one'), 'd/keep.yaml': 'keep\n' };
      writeTree(out, [result(first)], opts);
      // A replaced file deleted meanwhile: the directory holds as many entries as it did, one of them kept.
      const second = { ...many('d', 'two'), 'd/keep.yaml': 'keep\n' };
      writeTree(out, [result(second)], { ...opts, beforeSwap: () => rmSync(join(out, 'env/d/f0.yaml')) });
      rendered(out, second);
      // A replaced file deleted and one made by hand: the hand-made one stays (the next render refuses it).
      const third = many('d', 'three');
      writeTree(out, [result({ ...third, 'd/keep.yaml': 'keep\n' })], {
        ...opts,
        beforeSwap: () => {
          rmSync(join(out, 'env/d/f0.yaml'));
          rmSync(join(out, 'env/d/keep.yaml'));
          writeFileSync(join(out, 'env/d/mine.txt'), 'by hand\n');
        },
      });
      expect(readFileSync(join(out, 'env/d/mine.txt'), 'utf8')).toBe('by hand\n');
      for (const [p, c] of Object.entries(third)) expect(readFileSync(join(out, 'env', p), 'utf8'), p).toBe(c);
    });

    it('a link where it goes (--adopt) is replaced, never followed: what it points to is untouched', () => {
      const out = scratch();
      writeTree(out, [result({ ...many('d', 'one'), 'k.yaml': 'k: 1\n' })], opts);
      const outside = join(out, '..', 'outside');
      mkdirSync(outside);
      for (const [p, c] of Object.entries(many('d', 'precious'))) writeFileSync(join(outside, p.slice(2)), c);
      rmSync(join(out, 'env/d'), { recursive: true });
      symlinkSync(outside, join(out, 'env/d'));
      const second = { ...many('d', 'two'), 'k.yaml': 'k: 1\n' };
      writeTree(out, [result(second)], { ...opts, adopt: true });
      rendered(out, second);
      expect(lstatSync(join(out, 'env/d')).isDirectory()).toBe(true);
      for (const [p, c] of Object.entries(many('d', 'precious'))) expect(readFileSync(join(outside, p.slice(2)), 'utf8')).toBe(c);
    });

    it('a kill between its two renames leaves it missing; the recovery puts it in place, file by file', () => {
      const out = scratch();
      const first = { ...many('a', 'one'), ...many('b', 'one'), 'top.yaml': 'top: 1\n' };
      writeTree(out, [result(first)], opts);
      const second = { ...many('a', 'two'), ...many('b', 'two'), 'top.yaml': 'top: 2\n' };
      let missing: string[] = [];
      expect(() =>
        writeTree(out, [result(second)], {
          ...opts,
          duringSwap: () => {
            missing = ['a', 'b'].filter((d) => !existsSync(join(out, 'env', d)));
            throw new Error('killed');
          },
        }),
      ).toThrow('killed');
      // Half the files: the first directory is in the trash, the new one still staged.
      expect(missing).toHaveLength(1);
      expect(readdirSync(out).some((n) => n.startsWith('.topoforge-swap-'))).toBe(true);
      recover(out);
      rendered(out, second);
    });
  });
