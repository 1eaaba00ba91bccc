/** Starts a real redis-server on 127.0.0.1 on a free port for a test, and stops it. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
export const REDIS_MISSING = 'redis-server is not installed: run `pnpm run setup:tools` (Debian package redis-server)';

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningRedis {
  readonly port: number;
  stop(): Promise<void>;
}

/** What redis-server (and redis-sentinel) logs when the port it was given is taken. */
export const PORT_TAKEN = /address already in use/i;

/**
 * `args` are extra redis-server arguments (e.g. a config file first). The port is chosen, released
 * and then bound by redis-server, so another process (another test run, an outgoing connection
 * given that ephemeral port) can take it in between: then it starts again on a new port, up to 5
 * times. `choosePort` lets a test hand out a taken port.
 */
export async function startRedis(args: string[] = [], choosePort: () => Promise<number> = freePort): Promise<RunningRedis> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisOn(await choosePort(), args);
    } catch (e) {
      if (attempt >= 5 || !(e instanceof Error) || !PORT_TAKEN.test(e.message)) throw e;
    }
  }
}

async function startRedisOn(port: number, args: string[]): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'topoforge-redis-'));
  const child: ChildProcess = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
      const check = (): void => {
        if (log.includes('Ready to accept connections')) {
          clearTimeout(t);
          resolve();
        } else if (child.exitCode !== null) {
          clearTimeout(t);
          reject(new Error(`redis-server exited ${child.exitCode}:\n${log}`));
        } else setTimeout(check, 20);
      };
      check();
    });
  } catch (e) {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
