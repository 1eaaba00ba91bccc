/**
 * Replicas of the real orchestrator process against three real kube-apiservers (one per DC,
 * @topoforge/sandbox): the quorum lease elects one leader; a replica that reaches only one of
 * the three clusters never leads and never patches; after the leader is killed (SIGKILL, no
 * release) the standby takes over within the stated bound and its drain reaches every
 * cluster's Gslb. A single replica restarted while a DC is drained keeps it drained. The
 * failback back-off survives a restart: it is kept on the Gslbs (an annotation), and values
 * there that cannot be used are ignored with a coded warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { httpExchange, kubectlSync, startSandbox, stopSandbox, toolsAvailable, type SandboxState } from '@topoforge/sandbox';
import { findSharedDir } from '@topoforge/crd-validate';
import type { Config } from '../src/index.js';
import { listening } from './listening.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const shared = findSharedDir();
const ready = toolsAvailable() && shared !== undefined;
if (!ready) console.warn('orchestrator sandbox test skipped: needs kube-apiserver/etcd/kubectl (`pnpm run setup:tools`) and ../shared (the k8gb CRD)');

const DCS = ['dc1', 'dc2', 'dc3'];
/** Short timings so the test runs in seconds; production defaults are 15/10/2. */
const election = {
  replicas: ['dc1', 'dc2'],
  namespace: 'platform',
  leaseName: 'failover-orchestrator',
  leaseDurationSeconds: 10,
  renewDeadlineSeconds: 6,
  retryPeriodSeconds: 2,
};
/** Take-over bound after a SIGKILL: the lease duration after the standby last saw a renewal, plus
 *  up to two retry periods to notice and write, plus 5 s for API latency on a loaded machine. */
const TAKEOVER_BOUND_MS = (election.leaseDurationSeconds + 2 * election.retryPeriodSeconds + 5) * 1000;

const config: Config = {
  environment: 'sandbox',
  dryRun: false,
  timing: { confirmSeconds: 2, minDrainedSeconds: 600, failbackSeconds: 600 },
  maxDrainedFraction: 0.5,
  quorum: { min: 1 },
  election,
  clusters: DCS.map((dc) => ({ dc, context: `ctx-${dc}` })),
  services: [
    { name: 'social-network', recoveryPriority: 1, namespace: 'social', gslb: 'social-network', dcs: DCS.map((name) => ({ name, geoTag: name, weight: 10 })) },
  ],
};

/** The webhook token every replica reads from its --webhook-token-file (as from the mounted Secret). */
const TOKEN = 'sandbox-webhook-token-5f0c2a9e71';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** See httpExchange: this test blocks its event loop in kubectl between requests. */
const getJson = async (url: string, body?: string): Promise<unknown> => JSON.parse((await httpExchange(url, body, AUTH)).text) as unknown;

/** A port nothing listens on (bound and released): connections to it are refused. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address() as { port: number };
      s.close(() => resolve(a.port));
    });
  });

interface Replica {
  readonly id: string;
  readonly url: string;
  readonly proc: ChildProcess;
  readonly audit: string;
  readonly stderr: () => string;
}

/** Where the orchestrator keeps the failback back-off (README: "Back-off"). */
const BACKOFF_ANNOTATION = 'failover.topoforge.io/backoff';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(ready)('orchestrator replicas on real kube-apiservers (quorum lease)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orchestrator-sandbox-'));
  const procs: ChildProcess[] = [];
  let started = false;
  let state: SandboxState;
  /** ServiceAccount tokens bound to the Roles traffic-alerts renders, one context per DC. */
  let scoped: string;
  let kc: KubeConfig;
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    if (started) await stopSandbox(join(dir, 'sandbox'));
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(id: string, kubeconfig: string, extra: readonly string[] = [], configFile = 'config.json'): Promise<Replica> {
    const audit = join(dir, `audit-${id}.jsonl`);
    const proc = spawn(
      process.execPath,
      [
        main,
        '--config',
        join(dir, configFile),
        '--kubeconfig',
        kubeconfig,
        '--host',
        '127.0.0.1',
        // The kernel picks the port (read back from the `listening on` line): none is chosen and released first.
        '--port',
        '0',
        '--identity',
        id,
        '--tick-seconds',
        '1',
        '--audit-log',
        audit,
        '--webhook-token-file',
        join(dir, 'webhook-token'),
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(proc);
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const url = await listening(proc, `replica ${id}`, () => err);
    return { id, url, proc, audit, stderr: () => err };
  }

  const leadership = async (r: Replica) =>
    ((await getJson(`${r.url}/v1/state`)) as { leadership: { leader: boolean; held: string[]; identity: string } }).leadership;
  const audit = (r: Replica) =>
    readFileSync(r.audit, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; action?: string; cluster?: string; held?: string[] });
  const weights = (state: SandboxState, dc: string, gslb = 'social-network') => {
    const got = kubectlSync(state, `ctx-${dc}`, ['get', 'gslb', gslb, '-n', 'social', '-o', 'jsonpath={.spec.strategy.weight}']);
    expect(got.code, got.err).toBe(0);
    return JSON.parse(got.out) as Record<string, number>;
  };
  const holder = (state: SandboxState, dc: string) =>
    kubectlSync(state, `ctx-${dc}`, ['get', 'lease', 'failover-orchestrator', '-n', 'platform', '-o', 'jsonpath={.spec.holderIdentity}']).out;

  beforeAll(async () => {
    state = await startSandbox({
      dir: join(dir, 'sandbox'),
      clusters: DCS.map((name) => ({ name, context: `ctx-${name}` })),
      crdDirs: [join(shared!, 'crds', 'k8gb')],
    });
    started = true;
    for (const dc of DCS) {
      const gslb = (name: string) => ({
        apiVersion: 'k8gb.io/v1beta1',
        kind: 'Gslb',
        metadata: { name, namespace: 'social' },
        spec: {
          resourceRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name },
          strategy: { type: 'roundRobin', dnsTtlSeconds: 30, weight: { dc1: 10, dc2: 10, dc3: 10 } },
        },
      });
      const docs = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'social' } }, gslb('social-network'), gslb('photos')];
      const r = kubectlSync(state, `ctx-${dc}`, ['apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n'));
      expect(r.code, r.err).toBe(0);
    }
    // The replicas run with what traffic-alerts grants (its test asserts these exact rules):
    // a ServiceAccount token per cluster, not the sandbox's admin.
    const sa = 'system:serviceaccount:platform:failover-orchestrator';
    const tokens = new Map<string, string>();
    for (const dc of DCS) {
      const rbac = [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'failover-orchestrator', namespace: 'platform' } },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'failover-orchestrator-lease', namespace: 'platform' },
          rules: [
            { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['failover-orchestrator'], verbs: ['get', 'update'] },
            { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'failover-orchestrator-lease', namespace: 'platform' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'failover-orchestrator-lease' },
          subjects: [{ kind: 'ServiceAccount', name: 'failover-orchestrator', namespace: 'platform' }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'failover-orchestrator', namespace: 'social' },
          rules: [{ apiGroups: ['k8gb.io'], resources: ['gslbs'], verbs: ['get', 'list', 'watch', 'patch'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'failover-orchestrator', namespace: 'social' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'failover-orchestrator' },
          subjects: [{ kind: 'ServiceAccount', name: 'failover-orchestrator', namespace: 'platform' }],
        },
      ];
      const r = kubectlSync(state, `ctx-${dc}`, ['apply', '-f', '-'], rbac.map((d) => JSON.stringify(d)).join('\n'));
      expect(r.code, r.err).toBe(0);
      const t = kubectlSync(state, `ctx-${dc}`, ['create', 'token', 'failover-orchestrator', '-n', 'platform', '--duration', '2h']);
      expect(t.code, t.err).toBe(0);
      tokens.set(`ctx-${dc}`, t.out.trim());
    }
    // Least privilege, as the API server decides it: this one Lease and the Gslbs, nothing else.
    const can = (verb: string, what: string, ns: string) => kubectlSync(state, 'ctx-dc1', ['auth', 'can-i', verb, what, '-n', ns, `--as=${sa}`]).out.trim();
    expect([
      can('get', 'leases/failover-orchestrator', 'platform'),
      can('update', 'leases/failover-orchestrator', 'platform'),
      can('create', 'leases', 'platform'),
      can('patch', 'gslbs.k8gb.io/social-network', 'social'),
    ]).toEqual(['yes', 'yes', 'yes', 'yes']);
    expect([
      can('update', 'leases/another', 'platform'),
      can('delete', 'leases/failover-orchestrator', 'platform'),
      can('get', 'leases/failover-orchestrator', 'kube-system'),
      can('get', 'secrets', 'platform'),
      can('delete', 'gslbs.k8gb.io/social-network', 'social'),
    ]).toEqual(['no', 'no', 'no', 'no', 'no']);
    const admin = new KubeConfig();
    admin.loadFromFile(state.kubeconfig);
    const users = admin.contexts.map((c) => ({ name: `sa-${c.name}`, token: tokens.get(c.name)! }));
    const contexts = admin.contexts.map((c) => ({ ...c, user: `sa-${c.name}` }));
    kc = new KubeConfig();
    kc.loadFromOptions({ clusters: admin.clusters, users, contexts, currentContext: admin.currentContext });
    scoped = join(dir, 'kubeconfig-sa');
    writeFileSync(scoped, kc.exportConfig(), { mode: 0o600 });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'webhook-token'), `${TOKEN}\n`);
  }, 300_000);

  it('one leader; a minority replica never patches; the standby takes over a killed leader within the bound and applies its drain', async () => {
    // The minority replica: its kubeconfig reaches dc3 only (dc1 and dc2 point at a closed port).
    const closed = await closedPort();
    const cut = new Set(kc.contexts.filter((c) => c.name !== 'ctx-dc3').map((c) => c.cluster));
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => (cut.has(c.name) ? { ...c, server: `https://127.0.0.1:${closed}` } : c)),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    const partial = join(dir, 'kubeconfig-dc3-only');
    writeFileSync(partial, kc.exportConfig(), { mode: 0o600 });

    const m = await start('replica-m', partial);
    const a = await start('replica-a', scoped);
    const b = await start('replica-b', scoped);
    // The first round runs before the process listens: a, started second with every cluster
    // reachable, holds dc1 and dc2; m holds dc3 (all it reaches); b is a standby.
    expect(await leadership(a)).toMatchObject({ leader: true, held: ['dc1', 'dc2'] });
    expect(await leadership(b)).toMatchObject({ leader: false, held: [] });
    expect(await leadership(m)).toMatchObject({ leader: false, held: ['dc3'] });
    // Standbys stay ready (they must keep receiving alerts); /readyz says who acts.
    expect(await getJson(`${b.url}/readyz`)).toEqual({ ok: true, leader: false });
    expect(await getJson(`${a.url}/readyz`)).toEqual({ ok: true, leader: true });
    expect(DCS.map((dc) => holder(state, dc))).toEqual(['replica-a', 'replica-a', 'replica-m']);
    const metrics = (await httpExchange(`${a.url}/metrics`)).text;
    expect(metrics).toContain('topoforge_failover_leader 1');
    expect(metrics).toContain('topoforge_failover_lease_held{dc="dc1"} 1');

    // The leader dies without releasing; the drop of dc2 reaches the surviving replicas.
    a.proc.kill('SIGKILL');
    const killedAt = Date.now();
    const payload = {
      version: '4',
      status: 'firing',
      receiver: 'monitoring/failover-orchestrator/failover-orchestrator',
      alerts: [{ status: 'firing', labels: { alertname: 'TrafficDrop', service: 'social-network', dc: 'dc2', action: 'failover' }, fingerprint: 'drop-dc2' }],
    };
    for (const r of [b, m]) expect((await httpExchange(`${r.url}/alerts`, JSON.stringify(payload), AUTH)).status).toBe(200);
    let tookOver: number | undefined;
    while (Date.now() - killedAt < TAKEOVER_BOUND_MS + 10_000) {
      if ((await leadership(b)).leader) {
        tookOver = Date.now() - killedAt;
        break;
      }
      expect((await leadership(m)).leader).toBe(false);
      await sleep(250);
    }
    console.log(`take-over after ${tookOver} ms (bound ${TAKEOVER_BOUND_MS} ms)`);
    expect(tookOver).toBeDefined();
    expect(tookOver!).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
    // Not before the lease duration: nobody took the dead leader's Leases early.
    expect(tookOver!).toBeGreaterThanOrEqual(election.leaseDurationSeconds * 1000 - election.retryPeriodSeconds * 1000);

    // Its drain (confirmed after 2 s) reaches the Gslb in every cluster.
    let drainedAt: number | undefined;
    while (Date.now() - killedAt < TAKEOVER_BOUND_MS + 30_000) {
      if (DCS.every((dc) => weights(state, dc).dc2 === 0)) {
        drainedAt = Date.now() - killedAt;
        break;
      }
      await sleep(500);
    }
    console.log(`drain applied in every cluster ${drainedAt} ms after the kill`);
    expect(drainedAt).toBeDefined();
    for (const dc of DCS) expect(weights(state, dc)).toEqual({ dc1: 10, dc2: 0, dc3: 10 });
    expect(holder(state, 'dc1')).toBe('replica-b');
    expect(holder(state, 'dc2')).toBe('replica-b');

    const bAudit = audit(b);
    expect(bAudit.find((e) => e.event === 'leadership')).toMatchObject({ action: 'became-leader' });
    expect(bAudit.filter((e) => e.event === 'decision').map((e) => e.action)).toEqual(['drain']);
    expect(new Set(bAudit.filter((e) => e.event === 'applied').map((e) => e.cluster))).toEqual(new Set(DCS));
    // The minority replica received the same alert, never led, never patched.
    const mAudit = audit(m);
    expect(mAudit.some((e) => e.event === 'alerts')).toBe(true);
    expect(mAudit.filter((e) => ['leadership', 'decision', 'applied', 'apply-failed'].includes(e.event))).toEqual([]);
    expect(await leadership(m)).toMatchObject({ leader: false });
    // The dead leader's audit: it led, then nothing after its own adoption pushes (it was killed).
    expect(audit(a).filter((e) => e.event === 'decision')).toEqual([]);

    // A drill's single process (--drill-clock) must lead before it listens, even where killed
    // replicas' Leases are still held: it campaigns until they expire, then serves as leader.
    b.proc.kill('SIGKILL');
    m.proc.kill('SIGKILL');
    const t0 = Date.now();
    const drill = await start('drill', scoped, ['--drill-clock', '2026-11-25T10:00:00Z']);
    const waited = Date.now() - t0;
    console.log(`drill process led after ${waited} ms`);
    expect(await leadership(drill)).toMatchObject({ leader: true, held: DCS });
    expect(waited).toBeGreaterThanOrEqual((election.leaseDurationSeconds - election.retryPeriodSeconds) * 1000);
    // Its first tick adopts the drain from the Gslbs: nothing to decide, dc2 stays at 0.
    const tick = (await getJson(`${drill.url}/v1/clock`, JSON.stringify({ now: '2026-11-25T10:01:00Z' }))) as {
      decisions: unknown[];
    };
    expect(tick.decisions).toEqual([]);
    expect(audit(drill).find((e) => e.event === 'adopted')).toMatchObject({ weights: { dc1: 10, dc2: 0, dc3: 10 } });
    for (const dc of DCS) expect(weights(state, dc)).toEqual({ dc1: 10, dc2: 0, dc3: 10 });

    // A single replica (no election, as with fewer than 3 DCs) restarted while dc2 is drained:
    // it adopts the Gslbs as a new leader does. Before, it started with nothing drained: its
    // gauge said dc2 was not drained (un-silencing dc2's drop alerts), and its next decision for
    // the service wrote dc2 back to full weight.
    drill.proc.kill('SIGKILL');
    const { election: _none, ...single } = config;
    writeFileSync(join(dir, 'config-single.json'), JSON.stringify(single));
    const solo = await start('solo', scoped, [], 'config-single.json');
    const drainedDc2 = 'topoforge_failover_drained{service="social-network",dc="dc2"} 1';
    let scraped = '';
    for (let i = 0; i < 40 && !scraped.includes(drainedDc2); i++) {
      scraped = (await httpExchange(`${solo.url}/metrics`)).text;
      if (!scraped.includes(drainedDc2)) await sleep(250);
    }
    expect(scraped).toContain(drainedDc2);
    // dc3 drops now: draining it too would leave one DC of three (over maxDrainedFraction 0.5):
    // held, and dc2 stays drained in every cluster.
    const dropDc3 = {
      ...payload,
      alerts: [{ status: 'firing', labels: { alertname: 'TrafficDrop', service: 'social-network', dc: 'dc3', action: 'failover' }, fingerprint: 'drop-dc3' }],
    };
    expect((await httpExchange(`${solo.url}/alerts`, JSON.stringify(dropDc3), AUTH)).status).toBe(200);
    await sleep(5_000); // past the 2 s confirmation, a tick every second
    for (const dc of DCS) expect(weights(state, dc)).toEqual({ dc1: 10, dc2: 0, dc3: 10 });
    const soloAudit = audit(solo);
    expect(soloAudit.find((e) => e.event === 'adopted')).toMatchObject({ weights: { dc1: 10, dc2: 0, dc3: 10 } });
    expect(soloAudit.filter((e) => e.event === 'decision').map((e) => e.action)).toEqual(['hold']);
  }, 900_000);

  it('keeps the failback back-off on the Gslbs: restarted after a premature failback, a replica still doubles the minimum drain; unusable values are ignored with a coded warning', async () => {
    // One replica (no election) on simulated time (--drill-clock), patching the real Gslbs of
    // its own service, photos. A DC whose probes pass while clients cannot reach it: restored,
    // it drops again a minute later. Before, a restart in between forgot the restore, and the
    // DC was restored again after 600 s instead of 1200 s, flapping every ~29 min in production.
    const { election: _none, ...single } = config;
    const photos: Config = {
      ...single,
      timing: { confirmSeconds: 60, minDrainedSeconds: 600, failbackSeconds: 60 },
      services: [{ name: 'photos', recoveryPriority: 1, namespace: 'social', gslb: 'photos', dcs: DCS.map((name) => ({ name, geoTag: name, weight: 10 })) }],
    };
    writeFileSync(join(dir, 'config-photos.json'), JSON.stringify(photos));
    const run = (id: string, from: string) => start(id, scoped, ['--drill-clock', `2026-11-25T${from}:00Z`], 'config-photos.json');
    const at = async (r: Replica, time: string) =>
      ((await getJson(`${r.url}/v1/clock`, JSON.stringify({ now: `2026-11-25T${time}:00Z` }))) as { decisions: { action: string; reason: string }[] })
        .decisions;
    const alert = async (r: Replica, alertname: string, status: 'firing' | 'resolved', fingerprint: string) =>
      expect(
        (
          await httpExchange(
            `${r.url}/alerts`,
            JSON.stringify({ version: '4', status, receiver: 'r', alerts: [{ status, labels: { alertname, service: 'photos', dc: 'dc2' }, fingerprint }] }),
            AUTH,
          )
        ).status,
      ).toBe(200);
    const kept = (dc: string) =>
      kubectlSync(state, `ctx-${dc}`, [
        'get',
        'gslb',
        'photos',
        '-n',
        'social',
        '-o',
        `jsonpath={.metadata.annotations.${BACKOFF_ANNOTATION.replaceAll('.', '\\.')}}`,
      ]).out;
    const annotate = (dc: string, value: string) => {
      const r = kubectlSync(state, `ctx-${dc}`, ['annotate', '--overwrite', 'gslb', 'photos', '-n', 'social', `${BACKOFF_ANNOTATION}=${value}`]);
      expect(r.code, r.err).toBe(0);
    };

    const first = await run('photos-1', '10:00');
    expect(await at(first, '10:00')).toEqual([]); // adopts the Gslbs: nothing drained, no back-off
    await alert(first, 'TrafficDrop', 'firing', 'drop-1');
    const drain = await at(first, '10:01');
    expect(drain.map((d) => d.action)).toEqual(['drain']);
    expect(drain[0]!.reason).not.toMatch(/back-off/);
    await alert(first, 'TrafficDrop', 'resolved', 'drop-1');
    await alert(first, 'TrafficFailbackReady', 'firing', 'ready-1');
    expect((await at(first, '10:11')).map((d) => d.action)).toEqual(['restore']);
    await alert(first, 'TrafficFailbackReady', 'resolved', 'ready-1');
    for (const dc of DCS) expect(weights(state, dc, 'photos')).toEqual({ dc1: 10, dc2: 10, dc3: 10 });

    // Killed (nothing written at exit); its successor starts a minute later, and dc2 drops again.
    first.proc.kill('SIGKILL');
    const second = await run('photos-2', '10:12');
    expect(await at(second, '10:12')).toEqual([]);
    await alert(second, 'TrafficDrop', 'firing', 'drop-2');
    const again = await at(second, '10:13');
    expect(again.map((d) => d.action)).toEqual(['drain']);
    expect(again[0]!.reason).toMatch(/restored only 120s before: stays drained at least 1200s \(back-off ×2\)/);
    expect(audit(second).find((e) => e.event === 'adopted')).toMatchObject({ backoff: { from: 'dc1', factors: { dc1: 1, dc2: 1, dc3: 1 } } });
    // With the weights, in every cluster: the new factor and the restore it was measured from.
    for (const dc of DCS) {
      expect(weights(state, dc, 'photos')).toEqual({ dc1: 10, dc2: 0, dc3: 10 });
      expect(JSON.parse(kept(dc))).toEqual({ version: 1, at: '2026-11-25T10:13:00.000Z', dcs: { dc2: { factor: 2, restoredAt: '2026-11-25T10:11:00.000Z' } } });
    }
    await alert(second, 'TrafficDrop', 'resolved', 'drop-2');
    await alert(second, 'TrafficFailbackReady', 'firing', 'ready-2');
    expect(await at(second, '10:24')).toEqual([]); // drained 11 min: past 600 s, not past 2 × 600 s

    // Restarted while drained: the factor is kept too (hysteresis restarts at the take-over).
    second.proc.kill('SIGKILL');
    const third = await run('photos-3', '10:25');
    await alert(third, 'TrafficFailbackReady', 'firing', 'ready-2');
    expect(await at(third, '10:26')).toEqual([]);
    expect(audit(third).find((e) => e.event === 'adopted')).toMatchObject({ weights: { dc2: 0 }, backoff: { factors: { dc2: 2 } } });
    expect(await at(third, '10:44')).toEqual([]); // 19 min after the take-over: not yet 1200 s
    const restore = await at(third, '10:45');
    expect(restore.map((d) => d.action)).toEqual(['restore']);
    expect(restore[0]!.reason).toMatch(/drained for 1200s/);
    await alert(third, 'TrafficFailbackReady', 'resolved', 'ready-2');

    // What a replica cannot use is ignored, not fatal: not JSON in dc1, a factor of 3 in dc2, a
    // restore in the future in dc3. Each is a coded warning; dc2 starts at 1 ×.
    third.proc.kill('SIGKILL');
    annotate('dc1', '{not json');
    annotate('dc2', JSON.stringify({ version: 1, at: '2026-11-25T10:46:00.000Z', dcs: { dc2: { factor: 3, restoredAt: '2026-11-25T10:46:00.000Z' } } }));
    annotate('dc3', JSON.stringify({ version: 1, at: '2026-11-25T13:00:00.000Z', dcs: { dc2: { factor: 8, restoredAt: '2026-11-25T13:00:00.000Z' } } }));
    const fourth = await run('photos-4', '10:47');
    expect(await at(fourth, '10:47')).toEqual([]);
    const warnings = fourth
      .stderr()
      .split('\n')
      .filter((l) => l.includes('ORCHESTRATOR_BACKOFF_INVALID'));
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/cluster dc1 Gslb social\/photos annotation failover\.topoforge\.io\/backoff: not JSON; ignored/);
    expect(warnings.join('\n')).toMatch(/cluster dc2 .*dc2: factor is not 1, 2, 4 … 8; ignored/);
    expect(warnings.join('\n')).toMatch(/cluster dc3 .*written in the future/);
    expect(audit(fourth).filter((e) => e.event === 'backoff-invalid')).toHaveLength(3);
    expect((await httpExchange(`${fourth.url}/healthz`)).status).toBe(200);
    // Its adoption wrote the back-off it uses over them in every cluster.
    for (const dc of DCS) expect(JSON.parse(kept(dc))).toEqual({ version: 1, at: '2026-11-25T10:47:00.000Z', dcs: {} });
    await alert(fourth, 'TrafficDrop', 'firing', 'drop-3');
    const fresh = await at(fourth, '10:48');
    expect(fresh.map((d) => d.action)).toEqual(['drain']);
    expect(fresh[0]!.reason).not.toMatch(/back-off/);
  }, 300_000);
});
