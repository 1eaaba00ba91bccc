/**
 * `render` streams, so the CLI tunes the process's heap for it (V8's heap growing, see io.ts);
 * `check` and `diff` hold rendered objects, where that would cost CPU, so they do not.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/index.js';
import { processIo, type Io } from '../src/io.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'topoforge-streaming-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('heap tuning for streaming', () => {
  it('render asks its io to tune the heap; check and diff do not; only the real process io does it', async () => {
    cpSync(join(repo, 'environments'), join(work, 'environments'), { recursive: true });
    let calls = 0;
    const io: Io = { out: () => {}, err: () => {}, cwd: repo, streaming: () => void calls++ };
    const envs = ['--environments', join(work, 'environments')];
    expect(await main(['render', ...envs, '--out', join(work, 'out')], io)).toBe(0);
    expect(calls).toBe(1);
    expect(await main(['check', ...envs, '--out', join(work, 'out')], io)).toBe(0);
    expect(await main(['diff', ...envs, '--against', join(work, 'out')], io)).toBe(0);
    expect(calls).toBe(1);
    expect(typeof processIo().streaming).toBe('function');
  }, 60_000);
});
