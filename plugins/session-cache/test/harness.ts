/**
 * Runs the EMITTED cache on 127.0.0.1 the way a kubelet would run it: for each pod of an
 * emitted StatefulSet, its volumes become temp dirs (the ConfigMap's files, the users
 * Secret's keys with test passwords, empty scratch dirs), its env is resolved ($(POD_NAME),
 * fieldRef, secretKeyRef) and its command — the emitted start script — runs with the real
 * redis-server / redis-sentinel. What changes for loopback: each pod's DNS name and port
 * become 127.0.0.1 and a free port (in every file and env value), `bind` becomes 127.0.0.1,
 * and `overrides` replaces config lines (the tests shorten Sentinel's timers).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '@topoforge/plugin-sdk';
import { freePort, PORT_TAKEN } from '@topoforge/session-cache/testing';
import { environmentFromYaml } from '@topoforge/plugin-sdk/testing';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}
interface Container {
  command: string[];
  env: EnvVar[];
  volumeMounts: { name: string; mountPath: string }[];
  readinessProbe: { exec: { command: string[] } };
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  emptyDir?: object;
}
interface StatefulSetSpec {
  replicas: number;
  serviceName: string;
  template: { spec: { containers: Container[]; volumes: Volume[] } };
}

export const spec = (o: KubeObject): StatefulSetSpec => o.spec as StatefulSetSpec;

export interface Cluster {
  /** Rewrites DNS names and ports of the emitted text to the loopback ones. */
  rewrite(text: string): string;
  pods: Map<string, Pod>;
  /** Loopback address (127.0.0.1:port) of a pod by name. */
  address(pod: string): string;
  stopAll(): Promise<void>;
}

export interface Pod {
  readonly name: string;
  readonly port: number;
  readonly env: Readonly<Record<string, string>>;
  /** Starts the container (again): fresh scratch dirs, as a recreated pod; `env` overrides variables. */
  start(env?: Readonly<Record<string, string>>): void;
  /** Resolves when the emitted readiness probe passes. */
  ready(timeoutMs?: number): Promise<void>;
  /** Output of the current (last started) container. */
  log(): string;
  kill9(): void;
  stop(): Promise<void>;
  running(): boolean;
}

export interface ClusterInput {
  readonly statefulSets: readonly KubeObject[];
  readonly configMaps: readonly KubeObject[];
  /** Test passwords by Secret key (= user name). */
  readonly passwords: Readonly<Record<string, string>>;
  /** Whole config lines to replace, by their first two words (e.g. `sentinel down-after-milliseconds`). */
  readonly overrides?: readonly string[];
  /** Where each pod's loopback port comes from (a test hands out a taken one); a free port by default. */
  readonly choosePort?: () => Promise<number>;
}

export async function emulate(input: ClusterInput): Promise<Cluster> {
  const root = mkdtempSync(join(tmpdir(), 'topoforge-sc-pods-'));
  // Every pod's DNS name and port → 127.0.0.1 and a free port.
  const addresses = new Map<string, { fqdn: string; port: number; test: number }>();
  const taken = new Set<number>();
  const uniquePort = async (): Promise<number> => {
    for (;;) {
      const p = await (input.choosePort ?? freePort)();
      if (!taken.has(p)) return (taken.add(p), p);
    }
  };
  for (const sts of input.statefulSets) {
    const s = spec(sts);
    const port = Number((s.template.spec.containers[0] as unknown as { ports: { containerPort: number }[] }).ports[0]!.containerPort);
    for (let i = 0; i < s.replicas; i++) {
      const pod = `${sts.metadata.name}-${i}`;
      addresses.set(pod, { fqdn: `${pod}.${s.serviceName}.${sts.metadata.namespace}.svc.cluster.local`, port, test: await uniquePort() });
    }
  }
  const rewrite = (text: string): string => {
    let t = text;
    for (const a of addresses.values()) t = t.replaceAll(`${a.fqdn}:${a.port}`, `127.0.0.1:${a.test}`).replaceAll(`${a.fqdn} ${a.port}`, `127.0.0.1 ${a.test}`);
    t = t.replace(/^bind .*$/m, 'bind 127.0.0.1');
    for (const o of input.overrides ?? []) {
      const head = o.split(' ').slice(0, 2).join(' ');
      t = t.replace(new RegExp(`^${head.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*$`, 'm'), o);
    }
    return t;
  };
  const pods = new Map<string, Pod>();
  for (const sts of input.statefulSets) {
    const s = spec(sts);
    const c = s.template.spec.containers[0]!;
    for (let i = 0; i < s.replicas; i++) {
      const name = `${sts.metadata.name}-${i}`;
      const a = addresses.get(name)!;
      const dirs = new Map<string, string>(); // mountPath → temp dir
      const podRoot = join(root, name);
      const mount = (fresh: boolean): void => {
        for (const m of c.volumeMounts) {
          const v = s.template.spec.volumes.find((x) => x.name === m.name)!;
          const dir = join(podRoot, m.name);
          dirs.set(m.mountPath, dir);
          if (!fresh && !v.emptyDir) continue;
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          if (v.configMap) {
            const cm = input.configMaps.find((x) => x.metadata.name === v.configMap!.name);
            if (!cm) throw new Error(`${name}: no ConfigMap ${v.configMap.name}`);
            for (const [k, text] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(dir, k), rewrite(text));
          }
          if (v.secret) for (const [k, pw] of Object.entries(input.passwords)) writeFileSync(join(dir, k), pw, { mode: 0o400 });
        }
      };
      mount(true);
      const env: Record<string, string> = {};
      for (const e of c.env) {
        if (e.value !== undefined) env[e.name] = e.value.replaceAll('$(POD_NAME)', name);
        else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = name;
        else if (e.valueFrom?.secretKeyRef) env[e.name] = input.passwords[e.valueFrom.secretKeyRef.key] ?? '';
        else throw new Error(`${name}: cannot resolve env ${e.name}`);
      }
      for (const [k, v] of Object.entries(env)) {
        if (dirs.has(v)) env[k] = dirs.get(v)!;
        else env[k] = rewrite(v);
      }
      // The pod's own identity: its DNS name and port.
      if (env.CACHE_HOST !== a.fqdn) throw new Error(`${name}: CACHE_HOST ${env.CACHE_HOST} is not the pod's DNS name ${a.fqdn}`);
      env.CACHE_HOST = '127.0.0.1';
      env.CACHE_PORT = String(a.test);
      const inPod = (argv: string[]): string[] =>
        argv.map((x) => [...dirs].reduce((acc, [mp, d]) => (acc.startsWith(mp + '/') ? d + acc.slice(mp.length) : acc), x));
      let child: ChildProcess | undefined;
      let log = '';
      const procEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
      pods.set(name, {
        name,
        port: a.test,
        env,
        start(override = {}) {
          mount(false);
          log = '';
          const [cmd, ...args] = inPod(c.command);
          child = spawn(cmd!, args, { env: { ...procEnv, ...override }, stdio: ['ignore', 'pipe', 'pipe'] });
          child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
          child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
        },
        async ready(timeoutMs = 30_000) {
          const until = Date.now() + timeoutMs;
          const [cmd, ...args] = inPod(c.readinessProbe.exec.command);
          // The emitted probe, run asynchronously so the pods' output keeps being read meanwhile.
          const probe = (): Promise<boolean> => new Promise((resolve) => execFile(cmd!, args, { env: procEnv, timeout: 5000 }, (err) => resolve(!err)));
          for (;;) {
            if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`${name} exited ${child.exitCode}:\n${log}`);
            if (child?.exitCode === null && child.signalCode === null && (await probe())) return;
            if (Date.now() > until) throw new Error(`${name} not ready after ${timeoutMs} ms:\n${log}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        },
        log: () => log,
        kill9() {
          child?.kill('SIGKILL');
        },
        running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
        async stop() {
          if (child && child.exitCode === null && child.signalCode === null) {
            const done = new Promise((r) => child!.once('exit', r));
            child.kill('SIGTERM');
            await done;
          }
        },
      });
    }
  }
  return {
    rewrite,
    pods,
    address: (pod) => `127.0.0.1:${addresses.get(pod)!.test}`,
    async stopAll() {
      await Promise.all([...pods.values()].map((p) => p.stop()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** How many times `startCluster` chooses ports and starts the pods before it gives up. */
const ATTEMPTS = 5;

/**
 * Emulates the cluster and starts `start` (every pod when omitted) side by side, as
 * podManagementPolicy Parallel does, until the emitted readiness probe passes for each. The
 * ports are chosen, released and only then bound by the servers, and every pod's port is
 * written into its peers' configuration: when another process took one in between (another
 * test run, an outgoing connection given that ephemeral port) and a server exits saying so,
 * the whole cluster is stopped and emulated again on new ports, up to 5 times. Any other
 * failure is reported as it is.
 */
export async function startCluster(input: ClusterInput, start?: readonly string[], timeoutMs?: number): Promise<Cluster> {
  for (let attempt = 1; ; attempt++) {
    const cluster = await emulate(input);
    const missing = (start ?? []).filter((name) => !cluster.pods.has(name));
    if (missing.length > 0) {
      await cluster.stopAll();
      throw new Error(`no pod ${missing.join(', ')}`);
    }
    const pods = (start ?? [...cluster.pods.keys()]).map((name) => cluster.pods.get(name)!);
    for (const pod of pods) pod.start();
    const settled = await Promise.allSettled(pods.map((pod) => pod.ready(timeoutMs)));
    const failed = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
    if (failed.length === 0) return cluster;
    await cluster.stopAll();
    const portTaken = failed.some((e) => e instanceof Error && PORT_TAKEN.test(e.message));
    if (attempt >= ATTEMPTS || !portTaken) throw failed[0];
  }
}

/**
 * A staging environment for the real-server tests: one region, `dcs` DCs, one session-cache
 * policy `cache` (the YAML flow mapping given), and the services (default shop and blog) using it.
 */
export function cacheEnvironment(policy: string, options: { dcs?: number; services?: readonly string[] } = {}): ReturnType<typeof environmentFromYaml> {
  const dcs = Array.from(
    { length: options.dcs ?? 1 },
    (_, i) => `  d${i + 1}: { region: r, rotation: ${i + 1}, cluster: { context: d${i + 1} }, backupStorage: { provider: aws, bucket: b-backups } }`,
  );
  const services = (options.services ?? ['shop', 'blog']).map(
    (s) => `  ${s}: { kind: front-application, image: r/${s}, version: "1.0.0", policies: { sessionCache: cache } }`,
  );
  return environmentFromYaml(
    [
      'kind: Environment',
      'name: t',
      'stage: staging',
      'regions: { r: { timeZone: UTC, businessUnits: [] } }',
      'dataCenters:',
      ...dcs,
      'policies:',
      '  sessionCache:',
      `    cache: ${policy}`,
      'services:',
      ...services,
      '',
    ].join('\n'),
  );
}
