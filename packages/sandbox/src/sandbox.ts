/**
 * A sandbox: on loopback only, one etcd and, per DC, one real kube-apiserver (its own
 * `--etcd-prefix`, so DCs never see each other's objects) plus a kube-controller-manager running
 * only the namespace and garbage-collector controllers (so a deleted Namespace finishes
 * terminating, as on a real cluster). Token auth, a generated CA, and a kubeconfig with one
 * context per DC named exactly as the DC's `cluster.context`. Everything it starts is recorded
 * in `DIR/sandbox.json` by PID; `stopSandbox` stops exactly those and removes the state.
 */
import { spawn, spawnSync } from 'node:child_process';
import { byName as byNameOrder } from '@topoforge/model';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { loadAll, YAMLException } from 'js-yaml';
import { stringify } from 'yaml';
import { makeCerts } from './certs.js';
import { SandboxError } from './errors.js';
import { requireTool, toolsPathDir } from './tools.js';

export interface SandboxClusterSpec {
  /** The DC name (used for directories, logs and the etcd prefix). */
  readonly name: string;
  /** The kubeconfig context, exactly the DC's `cluster.context`. */
  readonly context: string;
}

export interface SandboxOptions {
  readonly dir: string;
  readonly clusters: readonly SandboxClusterSpec[];
  /** Directories (searched recursively) or files with CustomResourceDefinitions to install. */
  readonly crdDirs?: readonly string[];
  /**
   * Namespaces to create in every cluster after the CRDs: what the operators' own installs
   * create on a real cluster (default: PREREQUISITE_NAMESPACES).
   */
  readonly namespaces?: readonly string[];
  /** Progress lines (what was started); default: silent. */
  readonly log?: (line: string) => void;
  /** How long to wait for each server to become ready; default 180 s (a loaded 2-core machine). */
  readonly readyTimeoutMs?: number;
  /**
   * Chooses a free loopback port for the named listener (`etcd client`, `etcd peer`,
   * `kube-apiserver of <DC>`); default: one the kernel hands out. Tests use it to hand out a
   * port that is already taken.
   */
  readonly choosePort?: (listener: string) => Promise<number>;
}

export interface SandboxProcess {
  readonly pid: number;
  readonly bin: string;
  readonly log: string;
}

export interface SandboxCluster extends SandboxClusterSpec {
  readonly server: string;
  readonly apiserver: SandboxProcess;
  readonly controllerManager: SandboxProcess;
}

export interface SandboxState {
  readonly version: 1;
  readonly dir: string;
  readonly kubeconfig: string;
  readonly caCert: string;
  readonly etcd: SandboxProcess & { readonly url: string };
  readonly clusters: readonly SandboxCluster[];
  readonly crds: readonly string[];
  /** Directory holding kube-apiserver, kubectl (and pulumi with its plugins when built by setup:tools). */
  readonly binDir: string;
  readonly startedAt: string;
}

const STATE = 'sandbox.json';

/**
 * Namespaces topoforge's manifests use but do not create, because on a real cluster they come
 * with the installs of the platform components, like those components' CRDs: Velero (`velero`),
 * Flagger (`flagger-system`), the Prometheus operator stack (`monitoring`), and the platform
 * team's shared namespace (`platform`, Flagger's promotion gate). `sandbox up` creates them;
 * the README's apply steps list them. A test checks that no rendered object needs another.
 */
export const PREREQUISITE_NAMESPACES: readonly string[] = ['flagger-system', 'monitoring', 'platform', 'velero'];
/** Only the bearer token file's readers: the API servers and the kubeconfig's owner. */
const PRIVATE = 0o600;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A PID is ours only while it still runs the binary we started (PIDs are reused). */
const runs = (p: SandboxProcess): boolean => {
  if (!alive(p.pid)) return false;
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0] === p.bin;
  } catch {
    return true; // no /proc: trust the PID
  }
};

export function readState(dir: string): SandboxState | undefined {
  const f = join(resolve(dir), STATE);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as SandboxState;
}

const processes = (s: SandboxState): SandboxProcess[] => [...s.clusters.flatMap((c) => [c.controllerManager, c.apiserver]), s.etcd];

/** The processes of the sandbox in DIR that are still running. */
export function liveProcesses(dir: string): SandboxProcess[] {
  const s = readState(dir);
  return s ? processes(s).filter(runs) : [];
}

/** A port free on 127.0.0.1 right now (it can be taken again before a server binds it: see `startListening`). */
async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

function start(bin: string, args: readonly string[], log: string): SandboxProcess {
  const fd = openSync(log, 'a');
  // Detached: the servers outlive `topoforge sandbox up`; `down` stops them by PID.
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new SandboxError('SANDBOX_START_FAILED', `could not start ${bin}`);
  return { pid: child.pid, bin, log };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What etcd and kube-apiserver (Go's net.Listen) log when a port they were given is taken. */
const PORT_TAKEN = 'bind: address already in use';
const START_ATTEMPTS = 5;

const sizeOf = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
const readFrom = (file: string, offset: number): string => {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
};

/**
 * Starts a server on ports chosen just before, and starts it again on new ones when one of them
 * was taken in between. The servers take their ports as flags, so a port is chosen, released and
 * then bound by another process: anything on the host (another sandbox, an outgoing connection
 * given that ephemeral port) can bind it in that gap. Seen when two test runs shared a machine.
 * Only an exit whose log (this attempt's part of it) says the address was in use is retried; any
 * other failure is the caller's error as before.
 */
async function startListening(
  what: string,
  logFile: string,
  listeners: readonly string[],
  choose: (listener: string) => Promise<number>,
  launch: (ports: readonly number[]) => SandboxProcess,
  ready: (proc: SandboxProcess, ports: readonly number[]) => Promise<void>,
  log: (line: string) => void,
  beforeRetry: () => void = () => undefined,
): Promise<{ proc: SandboxProcess; ports: readonly number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (const l of listeners) ports.push(await choose(l));
    const offset = sizeOf(logFile);
    const proc = launch(ports);
    try {
      await ready(proc, ports);
      return { proc, ports };
    } catch (e) {
      if (attempt >= START_ATTEMPTS || alive(proc.pid) || !readFrom(logFile, offset).includes(PORT_TAKEN)) throw e;
      log(`${what}: one of its ports (${ports.join(', ')}) was taken before it could bind; starting it again on new ports`);
      beforeRetry();
    }
  }
}

function get(url: string, opts: { ca?: string; token?: string }): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const u = new URL(url);
    const fn = u.protocol === 'https:' ? request : httpRequest;
    const req = fn(
      url,
      {
        method: 'GET',
        timeout: 5000,
        ...(opts.ca ? { ca: opts.ca } : {}),
        headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
      },
      (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end();
  });
}

async function waitReady(what: string, url: string, proc: SandboxProcess, timeoutMs: number, opts: { ca?: string; token?: string }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!alive(proc.pid)) {
      throw new SandboxError('SANDBOX_START_FAILED', `${what} exited during start-up; last lines of ${proc.log}:\n${tail(proc.log)}`);
    }
    try {
      const r = await get(url, opts);
      if (r.status === 200) return;
      last = `HTTP ${r.status} ${r.body.slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(500);
  }
  throw new SandboxError(
    'SANDBOX_START_FAILED',
    `${what} not ready after ${Math.round(timeoutMs / 1000)} s (${last}); last lines of ${proc.log}:\n${tail(proc.log)}`,
  );
}

const tail = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
};

/** A DNS-1123-ish path segment for a DC name (directories, etcd prefix). */
const segment = (name: string): string => {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new SandboxError('SANDBOX_BAD_INPUT', `DC name "${name}" is not a DNS label`);
  return name;
};

interface CrdDoc {
  readonly name: string;
  readonly source: string;
  readonly object: Record<string, unknown>;
}

const yamlFiles = (p: string): string[] => {
  if (!existsSync(p)) throw new SandboxError('SANDBOX_BAD_INPUT', `CRD path ${p} does not exist`);
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p)
    .sort()
    .flatMap((n) => {
      const q = join(p, n);
      if (statSync(q).isDirectory()) return yamlFiles(q);
      return /\.(ya?ml|json)$/.test(n) ? [q] : [];
    });
};

/**
 * Every CustomResourceDefinition in the given paths (also inside `kind: List`, as
 * `kubectl get crd -o yaml` prints them), stripped of server-set fields. Later files win on a
 * duplicate name. Bad YAML is an error naming file and line.
 */
export function collectCrds(paths: readonly string[]): CrdDoc[] {
  const byName = new Map<string, CrdDoc>();
  for (const file of paths.flatMap(yamlFiles)) {
    const text = readFileSync(file, 'utf8');
    // js-yaml, not `yaml`: upstream CRDs (Flagger's among them) continue quoted descriptions at
    // the key's own indentation, which Kubernetes' go-yaml and js-yaml read as one string but the
    // stricter `yaml` reports as a missing quote. What kubectl accepts, the sandbox must accept.
    let docs: unknown[];
    try {
      docs = loadAll(text, undefined, { filename: file });
    } catch (e) {
      if (!(e instanceof YAMLException)) throw e;
      throw new SandboxError('SANDBOX_CRD_INVALID', `${file}:${e.mark.line + 1}: ${e.reason}`);
    }
    for (const doc of docs) {
      const o = doc as Record<string, unknown> | null;
      if (!o || typeof o !== 'object') continue;
      const items = o.kind === 'List' && Array.isArray(o.items) ? (o.items as Record<string, unknown>[]) : [o];
      for (const item of items) {
        if (item?.kind !== 'CustomResourceDefinition') continue;
        const meta = (item.metadata ?? {}) as Record<string, unknown>;
        const name = meta.name;
        if (typeof name !== 'string') throw new SandboxError('SANDBOX_CRD_INVALID', `${file}: a CustomResourceDefinition without metadata.name`);
        const { status: _status, ...rest } = item;
        const cleanMeta: Record<string, unknown> = { name };
        if (meta.labels) cleanMeta.labels = meta.labels;
        if (meta.annotations) {
          const ann = { ...(meta.annotations as Record<string, string>) };
          delete ann['kubectl.kubernetes.io/last-applied-configuration'];
          if (Object.keys(ann).length > 0) cleanMeta.annotations = ann;
        }
        byName.set(name, { name, source: file, object: { ...rest, metadata: cleanMeta } });
      }
    }
  }
  return [...byName.values()].sort(byNameOrder);
}

function kubectl(kubeconfig: string, context: string, args: readonly string[]): Promise<{ code: number; out: string }> {
  const bin = requireTool('kubectl');
  return new Promise((res) => {
    const child = spawn(bin, ['--kubeconfig', kubeconfig, '--context', context, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => res({ code: code ?? 1, out }));
  });
}

/** Starts the sandbox; a second call on a live DIR is refused with SANDBOX_RUNNING. */
export async function startSandbox(opts: SandboxOptions): Promise<SandboxState> {
  const dir = resolve(opts.dir);
  const log = opts.log ?? (() => undefined);
  const timeout = opts.readyTimeoutMs ?? 180_000;
  const choose = opts.choosePort ?? freePort;
  if (opts.clusters.length === 0) throw new SandboxError('SANDBOX_BAD_INPUT', 'no clusters to start');
  const contexts = new Set<string>();
  for (const c of opts.clusters) {
    segment(c.name);
    if (contexts.has(c.context)) throw new SandboxError('SANDBOX_BAD_INPUT', `two DCs use kube context "${c.context}"`);
    contexts.add(c.context);
  }
  const live = liveProcesses(dir);
  if (live.length > 0) {
    throw new SandboxError(
      'SANDBOX_RUNNING',
      `a sandbox is already running in ${dir} (PIDs ${live.map((p) => p.pid).join(', ')})`,
      `use it (topoforge sandbox env --dir ${dir}), or stop it first: topoforge sandbox down --dir ${dir}`,
    );
  }
  if (readState(dir)) cleanState(dir); // a stale state whose processes are gone
  const crds = collectCrds(opts.crdDirs ?? []);
  const etcdBin = requireTool('etcd');
  const apiserverBin = requireTool('kube-apiserver');
  const kcmBin = requireTool('kube-controller-manager');
  requireTool('kubectl');

  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const certs = makeCerts(join(dir, 'pki'));
  const token = randomBytes(24).toString('hex');
  const tokens = join(dir, 'pki', 'tokens.csv');
  writeFileSync(tokens, `${token},topoforge-sandbox-admin,topoforge-sandbox-admin,"system:masters"\n`, { mode: PRIVATE });

  const started: SandboxProcess[] = [];
  const fail = (e: unknown): never => {
    for (const p of started.reverse()) if (runs(p)) process.kill(p.pid, 'SIGKILL');
    throw e;
  };
  try {
    const etcdLog = join(dir, 'logs', 'etcd.log');
    const etcdUp = await startListening(
      'etcd',
      etcdLog,
      ['etcd client', 'etcd peer'],
      choose,
      ([clientPort, peerPort]) => {
        const url = `http://127.0.0.1:${clientPort}`;
        const peer = `http://127.0.0.1:${peerPort}`;
        const p = start(
          etcdBin,
          [
            '--name',
            'sandbox',
            '--data-dir',
            join(dir, 'etcd'),
            '--listen-client-urls',
            url,
            '--advertise-client-urls',
            url,
            '--listen-peer-urls',
            peer,
            '--initial-advertise-peer-urls',
            peer,
            '--initial-cluster',
            `sandbox=${peer}`,
            '--listen-metrics-urls',
            '',
            '--log-level',
            'warn',
            '--quota-backend-bytes',
            String(2 * 1024 ** 3),
          ],
          etcdLog,
        );
        started.push(p);
        return p;
      },
      (p, [clientPort]) => waitReady('etcd', `http://127.0.0.1:${clientPort}/health`, p, timeout, {}),
      log,
      // A data directory from the failed attempt would pin the old peer URL.
      () => rmSync(join(dir, 'etcd'), { recursive: true, force: true }),
    );
    const etcd = etcdUp.proc;
    const etcdUrl = `http://127.0.0.1:${etcdUp.ports[0]}`;
    log(`etcd          pid ${etcd.pid}  ${etcdUrl}`);

    const ca = readFileSync(certs.caCert, 'utf8');
    // The DCs start side by side; each one's API server is retried on its own. All settle before
    // a failure is thrown, so `fail` stops everything any of them started.
    const settled = await Promise.allSettled(
      opts.clusters.map(async (spec): Promise<SandboxCluster> => {
        const cdir = join(dir, 'clusters', spec.name);
        mkdirSync(cdir, { recursive: true });
        const apiserverLog = join(dir, 'logs', `${spec.name}-kube-apiserver.log`);
        const serverOf = (port: number | undefined) => `https://127.0.0.1:${port}`;
        const up = await startListening(
          `kube-apiserver of ${spec.name}`,
          apiserverLog,
          [`kube-apiserver of ${spec.name}`],
          choose,
          ([port]) => {
            const server = serverOf(port);
            const p = start(
              apiserverBin,
              [
                `--etcd-servers=${etcdUrl}`,
                `--etcd-prefix=/topoforge-sandbox/${spec.name}`,
                '--bind-address=127.0.0.1',
                '--advertise-address=127.0.0.1',
                `--secure-port=${port}`,
                `--cert-dir=${cdir}`,
                `--tls-cert-file=${certs.servingCert}`,
                `--tls-private-key-file=${certs.servingKey}`,
                `--client-ca-file=${certs.caCert}`,
                `--token-auth-file=${tokens}`,
                '--authorization-mode=RBAC',
                `--service-account-issuer=${server}`,
                `--service-account-key-file=${certs.saPub}`,
                `--service-account-signing-key-file=${certs.saKey}`,
                '--service-cluster-ip-range=10.96.0.0/24',
                '--allow-privileged=true',
                // Less work on a small machine; none of this changes what objects are accepted.
                '--enable-priority-and-fairness=false',
                '--endpoint-reconciler-type=none',
                '--profiling=false',
                '--v=0',
              ],
              apiserverLog,
            );
            started.push(p);
            return p;
          },
          (p, [port]) => waitReady(`kube-apiserver of ${spec.name}`, `${serverOf(port)}/readyz`, p, timeout, { ca, token }),
          log,
        );
        const apiserver = up.proc;
        const server = serverOf(up.ports[0]);
        const kubeconfig = join(cdir, 'controller.kubeconfig');
        writeFileSync(kubeconfig, kubeconfigYaml([{ context: 'sandbox', server }], ca, token), { mode: PRIVATE });
        const controllerManager = start(
          kcmBin,
          [
            `--kubeconfig=${kubeconfig}`,
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            '--controllers=namespace,garbagecollector',
            '--leader-elect=false',
            '--bind-address=127.0.0.1',
            '--secure-port=0',
            '--v=0',
          ],
          join(dir, 'logs', `${spec.name}-kube-controller-manager.log`),
        );
        started.push(controllerManager);
        log(`${spec.context.padEnd(13)} pid ${apiserver.pid}  ${server}  (kube-controller-manager pid ${controllerManager.pid})`);
        return { ...spec, server, apiserver, controllerManager };
      }),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const clusters = settled.map((r) => (r as PromiseFulfilledResult<SandboxCluster>).value);

    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(clusters, ca, token), { mode: PRIVATE });
    const state: SandboxState = {
      version: 1,
      dir,
      kubeconfig,
      caCert: certs.caCert,
      etcd: { ...etcd, url: etcdUrl },
      clusters,
      crds: crds.map((c) => c.name),
      binDir: toolsPathDir(),
      startedAt: new Date().toISOString(),
    };
    writeFileSync(join(dir, STATE), `${JSON.stringify(state, null, 2)}\n`);

    if (crds.length > 0) {
      const file = join(dir, 'crds.yaml');
      writeFileSync(file, crds.map((c) => stringify(c.object)).join('---\n'));
      await Promise.all(clusters.map((c) => installCrds(kubeconfig, c.context, file, crds.length)));
      log(`installed ${crds.length} CustomResourceDefinitions in each cluster (Established)`);
    }
    const namespaces = opts.namespaces ?? PREREQUISITE_NAMESPACES;
    if (namespaces.length > 0) {
      const file = join(dir, 'namespaces.yaml');
      writeFileSync(
        file,
        namespaces
          .map((n) =>
            stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: segment(n), labels: { 'topoforge.io/sandbox-prerequisite': 'true' } } }),
          )
          .join('---\n'),
      );
      await Promise.all(
        clusters.map(async (c) => {
          const r = await kubectl(kubeconfig, c.context, ['apply', '--server-side', '--field-manager=topoforge-sandbox', '-f', file]);
          if (r.code !== 0) throw new SandboxError('SANDBOX_START_FAILED', `creating namespaces in ${c.context} failed:\n${r.out.trim()}`);
        }),
      );
      log(`created namespaces ${namespaces.join(', ')} in each cluster (prerequisites: what the operators' installs create)`);
    }
    return state;
  } catch (e) {
    return fail(e);
  }
}

async function installCrds(kubeconfig: string, context: string, file: string, count: number): Promise<void> {
  const applied = await kubectl(kubeconfig, context, ['apply', '--server-side', '--force-conflicts', '--field-manager=topoforge-sandbox', '-f', file]);
  if (applied.code !== 0) throw new SandboxError('SANDBOX_CRD_FAILED', `installing CRDs in ${context} failed:\n${applied.out.trim()}`);
  // A CRD the API server has just stored may not have a status yet: kubectl wait then fails at once with
  // ".status.conditions accessor error: <nil> is of the type <nil>" instead of waiting (seen in CI on a
  // loaded machine). Only that error is retried, within the same 180 s.
  const until = Date.now() + 180_000;
  let waited = await kubectl(kubeconfig, context, ['wait', '--for=condition=Established', '--timeout=180s', 'customresourcedefinitions', '--all']);
  while (waited.code !== 0 && /status\.conditions accessor error/.test(waited.out) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    const left = Math.max(1, Math.round((until - Date.now()) / 1000));
    waited = await kubectl(kubeconfig, context, ['wait', '--for=condition=Established', `--timeout=${left}s`, 'customresourcedefinitions', '--all']);
  }
  if (waited.code !== 0) throw new SandboxError('SANDBOX_CRD_FAILED', `CRDs in ${context} did not become Established:\n${waited.out.trim()}`);
  const n = waited.out.split('\n').filter((l) => l.includes('condition met')).length;
  if (n < count) throw new SandboxError('SANDBOX_CRD_FAILED', `only ${n} of ${count} CRDs Established in ${context}`);
}

function kubeconfigYaml(clusters: readonly { context: string; server: string }[], ca: string, token: string): string {
  const caData = Buffer.from(ca).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: clusters.map((c) => ({ name: c.context, cluster: { server: c.server, 'certificate-authority-data': caData } })),
    users: [{ name: 'topoforge-sandbox-admin', user: { token } }],
    contexts: clusters.map((c) => ({ name: c.context, context: { cluster: c.context, user: 'topoforge-sandbox-admin' } })),
    'current-context': clusters[0]?.context ?? '',
  });
}

function cleanState(dir: string): void {
  for (const n of [STATE, 'kubeconfig', 'crds.yaml', 'namespaces.yaml', 'pki', 'etcd', 'clusters', 'logs'])
    rmSync(join(dir, n), { recursive: true, force: true });
  try {
    if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
  } catch {
    // already gone
  }
}

/** Stops exactly the processes recorded in DIR (controllers, API servers, then etcd) and removes the state. */
export async function stopSandbox(dir: string): Promise<{ stopped: number[] }> {
  const abs = resolve(dir);
  const s = readState(abs);
  if (!s) throw new SandboxError('SANDBOX_NOT_RUNNING', `no sandbox in ${abs} (no ${STATE})`);
  const stopped: number[] = [];
  for (const group of [s.clusters.map((c) => c.controllerManager), s.clusters.map((c) => c.apiserver), [s.etcd]]) {
    const mine = group.filter((p) => p.pid > 0 && runs(p));
    for (const p of mine) process.kill(p.pid, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (mine.some((p) => alive(p.pid)) && Date.now() < deadline) await sleep(100);
    for (const p of mine) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
    stopped.push(...mine.map((p) => p.pid));
  }
  cleanState(abs);
  return { stopped };
}

/**
 * `export KUBECONFIG=…` quoted for sh, and TOPOFORGE_SKIP_AWAIT=true: the sandbox runs no nodes,
 * so the emitted Pulumi program must not wait for workloads to become ready.
 */
export function envExports(dir: string): string {
  const s = readState(dir);
  if (!s) throw new SandboxError('SANDBOX_NOT_RUNNING', `no sandbox in ${resolve(dir)}`);
  return `export KUBECONFIG=${shQuote(s.kubeconfig)}\nexport TOPOFORGE_SKIP_AWAIT=true\n`;
}

export const shQuote = (s: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Whether the kube-apiserver etc. can be found (for tests that want to say why they cannot run). */
export function toolsAvailable(): boolean {
  try {
    for (const t of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'] as const) requireTool(t);
    return true;
  } catch {
    return false;
  }
}

/** Runs kubectl against one DC of a running sandbox (argv, no shell). */
export function kubectlSync(state: SandboxState, context: string, args: readonly string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(requireTool('kubectl'), ['--kubeconfig', state.kubeconfig, '--context', context, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    ...(input !== undefined ? { input } : {}),
  });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}
