/**
 * The real processes of a drill, each on 127.0.0.1 on a free port, started with argv
 * vectors (no shell) and stopped by PID: Alertmanager (Debian's `prometheus-alertmanager`
 * or `alertmanager`) and the failover orchestrator (node + its dist/main.js).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A port free on 127.0.0.1 right now; it can be taken before the server binds it (see `onFreePort`). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function which(names: readonly string[]): string | undefined {
  for (const n of names) {
    const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', n], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

export interface Proc {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}: ${output().slice(-2000)}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready after ${timeoutMs} ms: ${url}\n${output().slice(-2000)}`);
}

function startProcess(cmd: string, args: readonly string[], readyUrl: string, url: string): Promise<Proc> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-100_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-100_000)));
  const proc: Proc = {
    url,
    child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.pid === undefined) return resolve();
        child.once('exit', () => resolve());
        process.kill(child.pid, 'SIGTERM');
        setTimeout(() => {
          if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
        }, 5000).unref();
      }),
  };
  return waitReady(readyUrl, child, proc.output).then(
    () => proc,
    async (err: unknown) => {
      await proc.stop();
      throw err;
    },
  );
}

/** Chooses the port for a server; tests hand out a taken one. */
export type ChoosePort = () => Promise<number>;

/** What Go's net.Listen (Alertmanager) and Node's `listen` (the orchestrator) say when a port is taken. */
const PORT_TAKEN = 'address already in use';
const START_ATTEMPTS = 5;

/**
 * Starts a server on a port chosen just before, and again on a new one when the port was taken
 * in between: the servers take the port as a flag, so another process (another drill, an
 * outgoing connection given that ephemeral port) can bind it after it was chosen. Only that
 * failure is retried.
 */
async function onFreePort(choose: ChoosePort, startOn: (port: number) => Promise<Proc>): Promise<Proc> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(await choose());
    } catch (e) {
      if (attempt >= START_ATTEMPTS || !(e instanceof Error) || !e.message.includes(PORT_TAKEN)) throw e;
    }
  }
}

export const ALERTMANAGER_BINARIES = ['alertmanager', 'prometheus-alertmanager'];

export async function startAlertmanager(configFile: string, storageDir: string, choose: ChoosePort = freePort): Promise<Proc> {
  const bin = which(ALERTMANAGER_BINARIES);
  if (!bin) throw new Error('DRILL_TOOL_MISSING: no alertmanager binary (Debian package prometheus-alertmanager; `pnpm run setup:tools`)');
  return onFreePort(choose, (port) => {
    const url = `http://127.0.0.1:${port}`;
    return startProcess(
      bin,
      [
        `--config.file=${configFile}`,
        `--storage.path=${storageDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      `${url}/-/ready`,
      url,
    );
  });
}

/** Path of the orchestrator's entry point, from the installed workspace package. */
export function orchestratorMain(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@topoforge/failover-orchestrator')), 'main.js');
}

export interface OrchestratorOptions {
  readonly drillClock: string;
  readonly auditLog: string;
  readonly kubeconfig?: string;
  /** `--webhook-token-file`: POST /alerts and /v1/clock then need `Authorization: Bearer <token>`. */
  readonly webhookTokenFile?: string;
}

export async function startOrchestrator(configFile: string, opts: OrchestratorOptions, choose: ChoosePort = freePort): Promise<Proc> {
  return onFreePort(choose, (port) => orchestratorOn(port, configFile, opts));
}

function orchestratorOn(port: number, configFile: string, opts: OrchestratorOptions): Promise<Proc> {
  const url = `http://127.0.0.1:${port}`;
  const args = [
    orchestratorMain(),
    '--config',
    configFile,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--drill-clock',
    opts.drillClock,
    '--audit-log',
    opts.auditLog,
  ];
  args.push(...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : ['--dry-run']));
  if (opts.webhookTokenFile) args.push('--webhook-token-file', opts.webhookTokenFile);
  return startProcess(process.execPath, args, `${url}/readyz`, url);
}
