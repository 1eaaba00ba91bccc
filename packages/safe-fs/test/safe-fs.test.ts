import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, firstInvalidUtf8, LockTimeoutError, readBoundedFile, readLockOwner, withLock, writeFileAtomic } from '../src/index.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'topoforge-safe-fs-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('acquireLock', () => {
  it('is exclusive: a second taker waits for a live owner and gives up with the owner named', () => {
    const lock = join(tmp(), 'lock');
    const release = acquireLock(lock, { purpose: 'render' });
    expect(readLockOwner(lock)).toMatchObject({ pid: process.pid, host: hostname(), purpose: 'render' });
    let waitedFor: number | undefined;
    const t0 = Date.now();
    expect(() => acquireLock(lock, { timeoutMs: 300, onWait: (o) => (waitedFor = o?.pid) })).toThrow(LockTimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(waitedFor).toBe(process.pid);
    release();
    expect(existsSync(lock)).toBe(false);
    withLock(lock, () => expect(existsSync(lock)).toBe(true));
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over the lock of a process that died, and never one of a live process', () => {
    const dir = tmp();
    const lock = join(dir, 'lock');
    // a real process that held the lock and is gone
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00Z' }));
    const release = acquireLock(lock, { timeoutMs: 1000 });
    expect(readLockOwner(lock)?.pid).toBe(process.pid);
    release();
    // a live one (another host is never presumed dead)
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', since: '2026-01-01T00:00:00Z' }));
    expect(() => acquireLock(lock, { timeoutMs: 100 })).toThrow(/process 1 on elsewhere/);
    expect(readdirSync(dir)).toEqual(['lock']);
  });

  it('serializes read-modify-write across processes (no lost update)', async () => {
    const dir = tmp();
    const counter = join(dir, 'n');
    writeFileSync(counter, '0');
    const url = new URL('../dist/index.js', import.meta.url).href;
    const script = `import { withLock, writeFileAtomic } from ${JSON.stringify(url)}; import { readFileSync } from 'node:fs';
      for (let i = 0; i < 40; i++) withLock(${JSON.stringify(join(dir, 'lock'))}, () => { const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8')); writeFileAtomic(${JSON.stringify(counter)}, String(n + 1)); });`;
    const run = () =>
      new Promise<number>((res) => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' }).on('exit', (c) => res(c ?? 1)));
    expect(await Promise.all([run(), run(), run()])).toEqual([0, 0, 0]);
    expect(readFileSync(counter, 'utf8')).toBe('120');
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary file', () => {
    const dir = tmp();
    writeFileAtomic(join(dir, 'a.yaml'), 'one\n');
    writeFileAtomic(join(dir, 'a.yaml'), 'two\n');
    expect(readFileSync(join(dir, 'a.yaml'), 'utf8')).toBe('two\n');
    expect(readdirSync(dir)).toEqual(['a.yaml']);
  });
});

describe('writeFileAtomic in pieces', () => {
  it('writes the pieces as they come; a piece that fails leaves the old file and no temporary one', () => {
    const dir = tmp();
    const file = join(dir, 'record.json');
    writeFileAtomic(file, ['{"a":', '"é"', '}\n']);
    expect(readFileSync(file, 'utf8')).toBe('{"a":"é"}\n');
    function* failing(): Generator<string> {
      yield 'half';
      throw new Error('no more');
    }
    expect(() => writeFileAtomic(file, failing())).toThrow('no more');
    expect(readFileSync(file, 'utf8')).toBe('{"a":"é"}\n');
    expect(readdirSync(dir)).toEqual(['record.json']);
  });
});

describe('readBoundedFile', () => {
  it('strictUtf8: bytes that are not UTF-8 are not-utf8 at their line and column; without it they are U+FFFD as before', () => {
    const f = join(tmp(), 'a.yaml');
    writeFileSync(f, Buffer.concat([Buffer.from('a: 1\nb: "é'), Buffer.from([0xff]), Buffer.from('"\n')]));
    expect(readBoundedFile(f, 100, { strictUtf8: true })).toEqual({
      ok: false,
      problem: 'not-utf8',
      detail: 'byte 0xff at line 2, column 6 is not UTF-8',
      at: { line: 2, column: 6 },
    });
    expect(readBoundedFile(f, 100)).toEqual({ ok: true, text: 'a: 1\nb: "é\ufffd"\n' });
    writeFileSync(f, '\ufeffa: "€ \u{1F600}"\n');
    expect(readBoundedFile(f, 100, { strictUtf8: true })).toEqual(readBoundedFile(f, 100));
  });

  it('firstInvalidUtf8 finds the first malformed sequence as the Unicode standard defines it', () => {
    const at = (...b: number[]) => firstInvalidUtf8(Uint8Array.from(b));
    expect(at(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80)).toBe(-1);
    expect(at(0x61, 0x80)).toBe(1); // a lone continuation byte
    expect(at(0xc0, 0xaf)).toBe(0); // an overlong "/"
    expect(at(0xe0, 0x80, 0xaf)).toBe(0); // an overlong "/" in three bytes
    expect(at(0xed, 0xa0, 0x80)).toBe(0); // a surrogate
    expect(at(0xf4, 0x90, 0x80, 0x80)).toBe(0); // past U+10FFFF
    expect(at(0x61, 0xe2, 0x82)).toBe(1); // truncated at the end
    expect(at(0xe2, 0x82, 0x61)).toBe(0); // truncated before an ASCII byte
  });
  it("firstInvalidUtf8 agrees with the platform's strict decoder on random bytes: -1 exactly when it decodes, else the bytes before are UTF-8 and those from it are not", () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const decodes = (b: Uint8Array): boolean => {
      try {
        strict.decode(b);
        return true;
      } catch {
        return false;
      }
    };
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    // Mostly well-formed text (ASCII and multi-byte characters) with a damaged byte now and then.
    const pieces = [[0x61], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xed, 0x9f, 0xbf], [0xf4, 0x8f, 0xbf, 0xbf]];
    let invalid = 0;
    for (let n = 0; n < 3000; n++) {
      const bytes: number[] = [];
      for (let k = next() % 12; k >= 0; k--) bytes.push(...pieces[next() % pieces.length]!);
      if (next() % 2 === 0 && bytes.length > 0) bytes[next() % bytes.length] = next();
      const b = Uint8Array.from(bytes);
      const i = firstInvalidUtf8(b);
      expect(i === -1, JSON.stringify(bytes)).toBe(decodes(b));
      if (i === -1) continue;
      invalid++;
      expect(decodes(b.subarray(0, i)), JSON.stringify(bytes)).toBe(true);
      expect(decodes(b.subarray(i)), JSON.stringify(bytes)).toBe(false);
    }
    expect(invalid).toBeGreaterThan(500);
  });

  it('reads a small regular file', () => {
    const f = join(tmp(), 'x.yaml');
    writeFileSync(f, 'a: 1\n');
    expect(readBoundedFile(f, 100)).toEqual({ ok: true, text: 'a: 1\n' });
  });
  it('refuses /dev/zero, a FIFO (without blocking), a directory, a large file and a missing one', () => {
    const dir = tmp();
    expect(readBoundedFile('/dev/zero', 1000)).toMatchObject({ ok: false, problem: 'not-a-file', detail: 'a device' });
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(readBoundedFile(join(dir, 'fifo'), 1000)).toMatchObject({ ok: false, problem: 'not-a-file', detail: 'a FIFO' });
    expect(readBoundedFile(dir, 1000)).toMatchObject({ ok: false, problem: 'not-a-file' });
    writeFileSync(join(dir, 'big'), 'x'.repeat(2000));
    expect(readBoundedFile(join(dir, 'big'), 1000)).toMatchObject({ ok: false, problem: 'too-large' });
    expect(readBoundedFile(join(dir, 'none'), 1000)).toMatchObject({ ok: false, problem: 'unreadable', detail: 'ENOENT' });
  });
  it('with noFollow, refuses a link to a file instead of reading the file it names', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'target.yaml'), 'a: 1\n');
    symlinkSync(join(dir, 'target.yaml'), join(dir, 'link.yaml'));
    expect(readBoundedFile(join(dir, 'link.yaml'), 100)).toEqual({ ok: true, text: 'a: 1\n' });
    expect(readBoundedFile(join(dir, 'link.yaml'), 100, { noFollow: true })).toMatchObject({ ok: false, problem: 'not-a-file', detail: 'a symbolic link' });
    expect(readBoundedFile(join(dir, 'target.yaml'), 100, { noFollow: true })).toEqual({ ok: true, text: 'a: 1\n' });
  });
});
