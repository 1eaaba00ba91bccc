/** Test helpers: the gate as a real process, and the HTTP side of an API server for it to read. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';

export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A kubeconfig for `server`, with a bearer token (the ServiceAccount's, against a real API server). */
export function kubeconfig(file: string, server: string, token: string, ca?: string): string {
  const cluster: Record<string, unknown> = { server };
  if (ca) cluster['certificate-authority'] = ca;
  // The client library refuses plain HTTP unless told the server is not verified.
  if (server.startsWith('http:')) cluster['insecure-skip-tls-verify'] = true;
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  return file;
}

/** A Flagger-shaped payload (CanaryWebhookPayload: name, namespace, phase, checksum, metadata). */
export function payload(namespace: string, name: string, phase: string, metadata: Record<string, string> = {}): Record<string, unknown> {
  return { name, namespace, phase, checksum: createHash('sha256').update(`${namespace}/${name}/${phase}`).digest('hex').slice(0, 16), metadata };
}

export interface RunningGate {
  readonly url: string;
  readonly logs: string[];
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node dist/main.js …args` on 127.0.0.1 with a free port; resolves once it listens. */
export async function startGate(args: readonly string[]): Promise<RunningGate> {
  const proc = spawn(process.execPath, [MAIN, '--host=127.0.0.1', '--port=0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  let buf = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gate did not start: ${logs.join('\n')}`)), 90_000);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        logs.push(line);
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg === 'listening' && j.port) {
            clearTimeout(timer);
            resolve(j.port);
          }
        } catch {
          /* not JSON: kept in logs, asserted by the tests */
        }
      }
    });
    proc.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gate exited with ${code}: ${logs.join('\n')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    proc,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

export async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; body: { allowed: boolean; code: string; reason: string; version?: string; image?: string }; ms: number }> {
  const t = Date.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as never, ms: Date.now() - t };
}

/** The read side of an API server for Deployments (what the gate calls), over real HTTP. */
export async function deploymentApi(deployments: Map<string, unknown>): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    const m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/?]+)/.exec(req.url ?? '');
    const d = m ? deployments.get(`${m[1]}/${m[2]}`) : undefined;
    res.writeHead(d ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(d ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, server, requests };
}

/** An address that accepts connections and never answers: an API server that hangs. */
export async function blackHole(): Promise<{ url: string; server: TcpServer; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createTcpServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, sockets };
}

export function deployment(namespace: string, name: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image }] } } },
  };
}
