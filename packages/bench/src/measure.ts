/**
 * Runs a child process and measures what its user waits for: wall time, user and system CPU,
 * and peak RSS. With GNU time (`/usr/bin/time`, Debian package `time`) the kernel's own
 * accounting of the child (wait4 rusage) is read; without it, /proc/<pid> is polled (CPU and
 * peak RSS as last seen before the exit, a little low). Optionally samples the child's RSS
 * every few milliseconds with timestamps on the monotonic clock V8's CPU profiles use.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface RssSample {
  /** Monotonic clock, microseconds (the clock of a .cpuprofile's timestamps). */
  readonly us: number;
  readonly mb: number;
}

export interface Measured {
  readonly wallMs: number;
  readonly userMs: number;
  readonly sysMs: number;
  readonly maxRssMb: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly method: 'gnu-time' | 'proc-poll';
  readonly rss?: readonly RssSample[];
  /** When the child was spawned, microseconds on the monotonic clock. */
  readonly spawnUs: number;
}

export interface MeasureOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Sample RSS every `sampleMs` (default 20) into `rss`. */
  readonly timeline?: boolean;
  readonly sampleMs?: number;
  readonly timeoutMs?: number;
  /** Force /proc polling even where GNU time exists (tests of the fallback). */
  readonly noGnuTime?: boolean;
}

let gnuTime: boolean | undefined;
/** GNU time, not another `time`: it must understand -f and -o. */
export function hasGnuTime(): boolean {
  if (gnuTime === undefined) gnuTime = existsSync(GNU_TIME) && process.platform === 'linux';
  return gnuTime;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const TICK_MS = 10; // USER_HZ is 100 on Linux

function readProc(pid: number): { rssKb: number; hwmKb: number; userMs: number; sysMs: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    // A zombie (exited, not yet reaped) has no memory lines left: keep what was seen before.
    if (!/^VmHWM:/m.test(status)) return undefined;
    // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), userMs: Number(rest[11]) * TICK_MS, sysMs: Number(rest[12]) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** The process to watch: the child, or under GNU time the child's own child. */
function watched(pid: number, viaTime: boolean): number | undefined {
  if (!viaTime) return pid;
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

export function measure(cmd: string, args: readonly string[], opts: MeasureOptions = {}): Promise<Measured> {
  const viaTime = !opts.noGnuTime && hasGnuTime();
  const scratch = viaTime ? mkdtempSync(join(tmpdir(), 'topoforge-measure-')) : '';
  const timeFile = join(scratch, 'time');
  const [file, argv] = viaTime ? [GNU_TIME, ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const spawnUs = Number(t0 / 1000n);
    const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const rss: RssSample[] = [];
    let last: ReturnType<typeof readProc>;
    let hwmKb = 0;
    const poll = () => {
      const pid = child.pid === undefined ? undefined : watched(child.pid, viaTime);
      if (pid === undefined) return;
      const p = readProc(pid);
      if (!p) return;
      last = p;
      hwmKb = Math.max(hwmKb, p.hwmKb);
      if (opts.timeline) rss.push({ us: nowUs(), mb: p.rssKb / 1024 });
    };
    const polling = opts.timeline || !viaTime;
    const timer = polling ? setInterval(poll, opts.sampleMs ?? 20) : undefined;
    const killer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => {
      if (timer) clearInterval(timer);
      if (killer) clearTimeout(killer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (timer) clearInterval(timer);
      if (killer) clearTimeout(killer);
      const stdout = Buffer.concat(out).toString('utf8');
      let stderr = Buffer.concat(err).toString('utf8');
      let userMs = last?.userMs ?? 0;
      let sysMs = last?.sysMs ?? 0;
      let maxRssMb = hwmKb / 1024;
      if (viaTime) {
        // GNU time writes "Command exited with non-zero status N" before the numbers.
        const lines = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n') : [];
        const nums = (lines[lines.length - 1] ?? '').split(' ').map(Number);
        if (nums.length === 4 && nums.every((n) => Number.isFinite(n))) {
          userMs = nums[1]! * 1000;
          sysMs = nums[2]! * 1000;
          maxRssMb = nums[3]! / 1024;
        } else stderr += `\n(bench: no GNU time output: ${lines.join(' / ')})`;
        const sig = lines.find((l) => l.startsWith('Command terminated by signal'));
        if (sig) stderr += `\n(bench: ${sig})`;
        rmSync(scratch, { recursive: true, force: true });
      }
      resolvePromise({
        wallMs,
        userMs,
        sysMs,
        maxRssMb,
        code,
        signal,
        stdout,
        stderr,
        method: viaTime ? 'gnu-time' : 'proc-poll',
        spawnUs,
        ...(opts.timeline ? { rss } : {}),
      });
    });
  });
}
