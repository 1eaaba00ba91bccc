/**
 * The second thread that writes staged files (WriteBehind): what it writes is byte for byte
 * what writeFileSync would have, in any order of wrap-arounds and waits; a failed write comes
 * back as writeFileSync's error; a stop returns only when nothing more is written; and a
 * render through it (writeTree, every file on the second thread) gives the same tree.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RenderResult } from '@topoforge/plugin-sdk';
import { WriteBehind, writeStamped } from '../src/write-behind.js';
import { listTree, readIndex, writeTree } from '../src/index.js';

const dirs: string[] = [];
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tf-write-behind-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Deterministic text of `n` characters with multi-byte characters in it (é: 2 bytes, ✓: 3, 𝄞: 4). */
function text(seed: number, n: number): string {
  const alphabet = ['a', 'b', 'é', '✓', '𝄞', '\n', ' ', 'z'];
  let s = '';
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += alphabet[x % alphabet.length];
  }
  return s;
}

describe('WriteBehind', () => {
  it('dates every file it writes when given a time, through the ring and past it (a file too large for the ring)', () => {
    const d = scratch();
    // A time in the past, to the microsecond (what the file system keeps of it here).
    const mtime = Math.floor(Date.now() / 1000) - 3600 + 0.123456;
    const w = new WriteBehind({ ringBytes: 256, mtime });
    w.write(join(d, 'small'), 'fits the ring');
    w.write(join(d, 'large'), 'x'.repeat(1000));
    w.stop(true);
    for (const f of ['small', 'large']) expect(statSync(join(d, f)).mtimeMs, f).toBeCloseTo(mtime * 1000, 2);
    expect(readFileSync(join(d, 'large'), 'utf8')).toBe('x'.repeat(1000));
    writeStamped(join(d, 'here'), 'on this thread', mtime);
    expect(statSync(join(d, 'here')).mtimeMs).toBeCloseTo(mtime * 1000, 2);
    // Without a time: written now.
    writeStamped(join(d, 'now'), 'now', undefined);
    expect(Math.abs(statSync(join(d, 'now')).mtimeMs - Date.now())).toBeLessThan(60_000);
  });

  it('removes a directory of files in queue order with writes; one it cannot remove is left, and it goes on', () => {
    const d = scratch();
    for (const n of ['full', 'nested', 'nested/sub']) mkdirSync(join(d, n));
    for (let i = 0; i < 20; i++) writeFileSync(join(d, 'full', `f${i}`), String(i));
    writeFileSync(join(d, 'nested/sub/x'), 'x');
    const w = new WriteBehind({ ringBytes: 256 });
    w.removeDirectory(join(d, 'full'));
    // A directory in it: rmdir fails, best effort (what is left goes with the trash it is in).
    w.removeDirectory(join(d, 'nested'));
    w.write(join(d, 'after'), 'still writing');
    w.removeDirectory(join(d, 'missing'));
    // A link to a directory: neither it nor what it points to is touched.
    mkdirSync(join(d, 'target'));
    writeFileSync(join(d, 'target/kept'), 'kept');
    symlinkSync(join(d, 'target'), join(d, 'link'));
    w.removeDirectory(join(d, 'link'));
    w.stop(true);
    expect(readdirSync(d).sort()).toEqual(['after', 'link', 'nested', 'target']);
    expect(readFileSync(join(d, 'link/kept'), 'utf8')).toBe('kept');
    expect(readdirSync(join(d, 'nested/sub'))).toEqual(['x']);
    expect(readFileSync(join(d, 'after'), 'utf8')).toBe('still writing');
  });

  it('a drain removes queued directories too, from the back, each once; claim words are not reused; past them the worker removes alone', () => {
    const d = scratch();
    const dirs = (prefix: string, n: number, files: number): string[] =>
      Array.from({ length: n }, (_, i) => {
        const dir = join(d, `${prefix}${i}`);
        mkdirSync(dir);
        for (let f = 0; f < files; f++) writeFileSync(join(dir, `f${f}`), '');
        return dir;
      });
    const first = dirs('a', 300, 30);
    let up = false;
    const w = new WriteBehind({ started: () => (up = true) });
    expect(up).toBe(true);
    for (const dir of first) w.removeDirectory(dir);
    // ~9,000 unlinks queued: ahead of anything queued now.
    expect(w.removing).toBe(true);
    // The drain takes the back of the queue while the worker takes the front.
    w.drain();
    expect(w.removing).toBe(false);
    expect(w.removedHere).toBeGreaterThan(0);
    expect(w.removedHere).toBeLessThanOrEqual(300);
    expect(readdirSync(d)).toEqual([]);
    // After a drain, new removals get new claim words (a reused one is already taken: nobody would remove it).
    const second = dirs('b', 5, 2);
    for (const dir of second) w.removeDirectory(dir);
    // Without a drain too, `removing` turns false once the worker is past them (and they are gone).
    for (const until = Date.now() + 10_000; w.removing && Date.now() < until;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    expect(w.removing).toBe(false);
    expect(readdirSync(d)).toEqual([]);
    w.drain();
    // More removals than claim words (16,384): the rest are the worker's alone, and all go.
    const many = dirs('c', 16_400, 0);
    for (const dir of many) w.removeDirectory(dir);
    w.stop(true);
    expect(readdirSync(d)).toEqual([]);
  });

  it('writes every file as writeFileSync would, through a small ring (wrap-arounds, waits, files larger than the ring)', () => {
    const d = scratch();
    mkdirSync(join(d, 'a'));
    // 4 KB: the ring wraps every few files and the producer waits for the worker all the time.
    const w = new WriteBehind({ ringBytes: 4096 });
    const expected = new Map<string, string>();
    for (let i = 0; i < 1500; i++) {
      const size = i % 97 === 0 ? 5000 : (i * 37) % 700; // some over half the ring: written in place
      const file = join(d, 'a', `f-${i}-✓.txt`);
      const content = text(i, size);
      w.write(file, content);
      expected.set(file, content);
    }
    // The same path again, small after large and large after small: the last write wins.
    const again = join(d, 'a', 'f-97-✓.txt');
    w.write(again, 'small');
    expected.set(again, 'small');
    const again2 = join(d, 'a', 'f-1-✓.txt');
    w.write(again2, text(1, 5000));
    expected.set(again2, text(1, 5000));
    w.stop(true);
    expect(readdirSync(join(d, 'a'))).toHaveLength(1500);
    for (const [file, content] of expected) expect(readFileSync(file).equals(Buffer.from(content, 'utf8'))).toBe(true);
  });

  it('gives back the error of a failed write, as writeFileSync throws it, and writes nothing after it', () => {
    const d = scratch();
    const w = new WriteBehind({ ringBytes: 4096 });
    let sync: NodeJS.ErrnoException | undefined;
    try {
      writeFileSync(join(d, 'missing', 'x.yaml'), 'x');
    } catch (err) {
      sync = err as NodeJS.ErrnoException;
    }
    w.write(join(d, 'missing', 'x.yaml'), 'x');
    let thrown: NodeJS.ErrnoException | undefined;
    try {
      for (let i = 0; i < 200; i++) w.write(join(d, `after-${i}.yaml`), text(i, 300));
      w.drain();
    } catch (err) {
      thrown = err as NodeJS.ErrnoException;
    }
    expect(thrown?.code).toBe('ENOENT');
    expect(thrown?.code).toBe(sync?.code);
    expect(thrown?.message).toBe(sync?.message);
    expect(thrown?.path).toBe(sync?.path);
    expect(() => w.drain()).toThrow(/ENOENT/);
    w.stop(false);
    expect(readdirSync(d).filter((n) => n.startsWith('after-'))).toEqual([]);
  });

  it('stops at once on an abort: when stop returns, nothing more appears', async () => {
    const d = scratch();
    const w = new WriteBehind({ ringBytes: 1024 * 1024 });
    for (let i = 0; i < 3000; i++) w.write(join(d, `f-${i}.yaml`), text(i, 300));
    w.stop(false);
    const now = readdirSync(d).length;
    await new Promise((r) => setTimeout(r, 200));
    expect(readdirSync(d).length).toBe(now);
    expect(() => w.write(join(d, 'late.yaml'), 'x')).toThrow(/stopped/);
    expect(existsSync(join(d, 'late.yaml'))).toBe(false);
  });

  it('renames in queue order with the writes, and gives back a failed rename as renameSync throws it', () => {
    const d = scratch();
    mkdirSync(join(d, 'staged'));
    mkdirSync(join(d, 'place'));
    writeFileSync(join(d, 'place', 'old.yaml'), 'old');
    const w = new WriteBehind({ ringBytes: 4096 });
    for (let i = 0; i < 300; i++) {
      // Written, then renamed over an older file or into place: the rename comes after its write.
      w.write(join(d, 'staged', `f-${i}.yaml`), text(i, 200));
      w.rename(join(d, 'staged', `f-${i}.yaml`), join(d, 'place', i === 0 ? 'old.yaml' : `f-${i}.yaml`));
    }
    w.drain();
    expect(readdirSync(join(d, 'staged'))).toEqual([]);
    expect(readFileSync(join(d, 'place', 'old.yaml'), 'utf8')).toBe(text(0, 200));
    for (let i = 1; i < 300; i++) expect(readFileSync(join(d, 'place', `f-${i}.yaml`), 'utf8')).toBe(text(i, 200));
    let sync: NodeJS.ErrnoException | undefined;
    try {
      renameSync(join(d, 'staged', 'missing.yaml'), join(d, 'place', 'x.yaml'));
    } catch (err) {
      sync = err as NodeJS.ErrnoException;
    }
    w.rename(join(d, 'staged', 'missing.yaml'), join(d, 'place', 'x.yaml'));
    let thrown: NodeJS.ErrnoException | undefined;
    try {
      w.drain();
    } catch (err) {
      thrown = err as NodeJS.ErrnoException;
    }
    expect(thrown?.code).toBe('ENOENT');
    expect(thrown?.message).toBe(sync?.message);
    w.stop(false);
  });

  it('calls started once, on the producer thread, when the worker is up', () => {
    const d = scratch();
    let calls = 0;
    const w = new WriteBehind({ ringBytes: 4096, started: () => calls++ });
    for (let i = 0; i < 400; i++) w.write(join(d, `f-${i}.yaml`), text(i, 200));
    w.stop(true);
    expect(calls).toBe(1);
  });
});

function result(environment: string, files: Record<string, string>): RenderResult {
  return {
    environment,
    emitted: [],
    logs: [],
    files: new Map(Object.entries(files).map(([p, c]) => [p, { content: c, plugin: 'p' }])),
  };
}

describe('writeTree through the second thread', () => {
  const files = (tag: string): Record<string, string> =>
    Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`clusters/dc${i % 7}/svc-${i}.yaml`, `${tag}: ${text(i, 100 + (i % 50))}\n`]));

  it('gives the tree and the index a render on one thread gives, rendering anew and in place', () => {
    const one = join(scratch(), 'out');
    const two = join(scratch(), 'out');
    const first = files('a');
    const second = { ...files('a'), ...Object.fromEntries(Object.entries(files('b')).filter((_, i) => i % 3 === 0)) };
    delete second['clusters/dc1/svc-1.yaml'];
    for (const f of [first, second]) {
      const a = writeTree(one, [result('env', f)], { writeBehindAfter: Infinity });
      const b = writeTree(two, [result('env', f)], { writeBehindAfter: 0 });
      expect(b).toEqual(a);
      const paths = listTree(join(one, 'env'));
      expect(listTree(join(two, 'env'))).toEqual(paths);
      for (const p of paths) expect(readFileSync(join(two, 'env', p), 'utf8')).toBe(readFileSync(join(one, 'env', p), 'utf8'));
    }
    expect(readIndex(join(two, 'env'), 'env')?.files).toHaveLength(Object.keys(second).length);
  });

  it('fails all or nothing when the second thread cannot write: the error, the old tree, no staging', () => {
    const out = join(scratch(), 'out');
    writeTree(out, [result('env', files('a'))]);
    const before = listTree(join(out, 'env')).map((p) => [p, readFileSync(join(out, 'env', p), 'utf8')]);
    // A name over the file system's limit: the directory is made, the file's open fails (ENAMETOOLONG).
    const bad = { ...files('b'), [`clusters/dc0/${'x'.repeat(300)}.yaml`]: 'x: 1\n' };
    expect(() => writeTree(out, [result('env', bad)], { writeBehindAfter: 0 })).toThrow(/ENAMETOOLONG/);
    expect(listTree(join(out, 'env')).map((p) => [p, readFileSync(join(out, 'env', p), 'utf8')])).toEqual(before);
    expect(readdirSync(out).filter((n) => n !== 'env' && !n.startsWith('.topoforge-lock') && n !== '.topoforge-state')).toEqual([]);
  });
});
