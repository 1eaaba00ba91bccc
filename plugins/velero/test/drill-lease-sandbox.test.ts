/**
 * The drill lease on a real kube-apiserver (@topoforge/sandbox): the emitted drill job script
 * (DRILL_SCRIPT, with the emitted lease.sh) run by /bin/sh, its lease calls made by the real
 * kubectl as the `restore-drill` ServiceAccount with only the emitted lease Role, its other
 * kubectl calls (namespaces, Restores, pods) answered by a stand-in that records when they
 * ran: the drill's critical section. Lease timing is shortened through the same environment
 * variables the CronJob sets (seconds instead of minutes).
 *
 * Shown: at most one drill between its first and last restore step, also when they start
 * together and when a stale Lease is taken over by several waiters at once; a holder that
 * keeps renewing is never taken over; a killed holder's Lease is taken over once it has not
 * been renewed for its duration; a holder that stalled past its Lease stops and leaves the
 * new holder's Lease alone; a release by a non-holder, or after a takeover between the
 * holder's read and its delete, deletes nothing; a waiter gives up after its bound and the
 * drill pushes a failure; the ServiceAccount may do exactly what the lease needs.
 * Skipped with a message without the cluster tools (`pnpm run setup:tools`).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import { kubectlSync, readState, requireTool, SETUP_HINT, startSandbox, stopSandbox, toolsAvailable, type SandboxState } from '@topoforge/sandbox';
import velero, { DRILL_LEASE } from '../src/index.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 300_000 });

const tools = toolsAvailable();
if (!tools) console.warn(`drill-lease-sandbox.test.ts skipped: kube-apiserver, kube-controller-manager, kubectl or etcd not found — ${SETUP_HINT}`);

const plugin = velero as PluginDefinition<never>;
const CONTEXT = 'staging-stg01';
const NS = 'velero';
const work = mkdtempSync(join(tmpdir(), 'topoforge-drill-lease-'));
const sandboxDir = join(work, 'sandbox');
let state: SandboxState;
const admin = (args: string[], input?: string) => kubectlSync(state, CONTEXT, args, input);

/** kubectl as the drill: lease calls go to the real API server as the ServiceAccount; the rest is recorded (with a time) and answered. */
const KUBECTL = `#!/bin/sh
real() { exec "$REAL_KUBECTL" --kubeconfig "$DRILL_KUBECONFIG" "$@"; }
case "$*" in
  *" lease "* | *"/leases/"*)
    [ -z "\${BEFORE_DELETE:-}" ] || case "$*" in *"delete --raw"*) sh -c "$BEFORE_DELETE" ;; esac
    real "$@" ;;
  *" -f -"*) # create, apply, replace…: of a Lease, for real
    input=$(cat)
    case "$input" in *'"kind":"Lease"'*) printf '%s\\n' "$input" | real "$@"; exit ;; esac ;;
esac
printf '%s %s\\n' "$(date +%s%N)" "$DRILL_HOLDER" >> "$STEPS"
case "$*" in
  *" -f -"*) ;;
  *"get backups.velero.io"*) echo "$INSTANCE-dc01-20270201000000 full 2027-02-01T00:00:05Z" ;;
  *"get restore.velero.io"*) # a long call; ends on TERM, as kubectl does
    trap 'kill "$!"; exit 143' TERM; sleep "$HOLD" & wait "$!"; echo Completed ;;
  *"wait -n"*) # a long wait when the test asks for one: this process becomes the sleep, as a stopped kubectl would be gone
    [ -z "\${WAIT_HOLD:-}" ] || { echo $$ > "$WAITING"; exec sleep "$WAIT_HOLD"; } ;;
  *"get pod"*) echo src-pod ;;
  *"cat /outbox/TOPOFORGE_SET"*) echo FULLSET ;;
  *"-xf -"*) cat > /dev/null ;;
esac
exit 0
`;
const CURL = `#!/bin/sh
cat >> "$PUSHED"
`;

interface Drill {
  readonly holder: string;
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  pushed(): string;
}

let envOf: (instance: string) => Record<string, string>;
let drillDirOf: (instance: string) => string;
let run = 0;

/** One drill job of `instance` (its own process group, so a test can kill or stop all of it). */
function drill(instance: string, holder: string, over: Record<string, string> = {}): Drill {
  run += 1;
  const pushed = join(work, `pushed-${run}`);
  writeFileSync(pushed, '');
  const child = spawn('/bin/sh', [join(drillDirOf(instance), 'drill.sh')], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...envOf(instance),
      DRILL_HOLDER: holder,
      FULL_WEEKDAYS: '',
      LEASE_DURATION_SECONDS: '8',
      LEASE_RENEW_SECONDS: '1',
      LEASE_POLL_SECONDS: '1',
      LEASE_WAIT_SECONDS: '120',
      HOLD: '2',
      DRILL_DIR: drillDirOf(instance),
      PATH: `${join(work, 'bin')}:/usr/bin:/bin`,
      HOME: work,
      REAL_KUBECTL: requireTool('kubectl'),
      DRILL_KUBECONFIG: join(work, 'drill-kubeconfig'),
      STEPS: join(work, 'steps'),
      WAITING: join(work, `waiting-${run}`),
      PUSHED: pushed,
      ...over,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((res) =>
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr })),
  );
  return { holder, child, done, pushed: () => readFileSync(pushed, 'utf8') };
}

/** Per holder, the first and last restore step (ns since the epoch), from the stand-in's record. */
function sections(): { holder: string; from: bigint; to: bigint }[] {
  const file = join(work, 'steps');
  const by = new Map<string, { from: bigint; to: bigint }>();
  for (const line of existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []) {
    const [t, holder] = line.split(' ') as [string, string];
    const at = BigInt(t);
    const s = by.get(holder);
    by.set(holder, s ? { from: s.from < at ? s.from : at, to: s.to > at ? s.to : at } : { from: at, to: at });
  }
  return [...by].map(([holder, s]) => ({ holder, ...s })).sort((a, b) => (a.from < b.from ? -1 : 1));
}
/** Pairs of holders that were inside at the same time. */
const overlaps = (s: ReturnType<typeof sections>): string[] =>
  s.flatMap((a, i) =>
    s
      .slice(i + 1)
      .filter((b) => b.from <= a.to && a.from <= b.to)
      .map((b) => `${a.holder} and ${b.holder}`),
  );

const lease = (): { holder: string; transitions: number; rv: string } | undefined => {
  const r = admin(['-n', NS, 'get', 'lease', DRILL_LEASE, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const l = JSON.parse(r.out) as { metadata: { resourceVersion: string }; spec: { holderIdentity?: string; leaseTransitions?: number } };
  return { holder: l.spec.holderIdentity ?? '', transitions: l.spec.leaseTransitions ?? 0, rv: l.metadata.resourceVersion };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
  return Date.now();
}
const entered = (holder: string) => sections().some((s) => s.holder === holder);
function reset(): void {
  rmSync(join(work, 'steps'), { force: true });
  admin(['-n', NS, 'delete', 'lease', DRILL_LEASE, '--ignore-not-found']);
}

beforeAll(async () => {
  if (!tools) return;
  const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
  if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
  const out = await synth(plugin, staging, { restoreDrill: { fromEnvironment: 'production' } }, [production]);
  const objects = out.objects();
  envOf = (instance) => {
    const cron = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === `restore-drill-${instance}`)!;
    const env = (cron.spec as { jobTemplate: { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } } }).jobTemplate.spec
      .template.spec.containers[0]!.env;
    return Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  };
  drillDirOf = (instance) => {
    const dir = join(work, 'drill', instance);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `restore-drill-${instance}`)!;
      for (const [k, v] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(dir, k), v);
    }
    return dir;
  };

  state = await startSandbox({ dir: sandboxDir, clusters: [{ name: 'stg01', context: CONTEXT }] });
  // The drill's ServiceAccount and its lease Role as emitted; nothing else (not the drill's ClusterRole).
  const rbac = objects.filter(
    (o: KubeObject) => o.metadata.namespace === NS && ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind) && o.metadata.name.startsWith('restore-drill'),
  );
  expect(rbac.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
    'Role/restore-drill-lease',
    'RoleBinding/restore-drill-lease',
    'ServiceAccount/restore-drill',
  ]);
  const applied = admin(
    ['apply', '--server-side', '--validate=strict', '--field-manager=topoforge', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }),
  );
  expect(applied.code, applied.err).toBe(0);
  const token = admin(['-n', NS, 'create', 'token', 'restore-drill', '--duration=2h']);
  expect(token.code, token.err).toBe(0);
  const server = state.clusters[0]!.server;
  writeFileSync(
    join(work, 'drill-kubeconfig'),
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stg01', cluster: { server, 'certificate-authority': state.caCert } }],
      users: [{ name: 'restore-drill', user: { token: token.out.trim() } }],
      contexts: [{ name: 'drill', context: { cluster: 'stg01', user: 'restore-drill', namespace: NS } }],
      'current-context': 'drill',
    }),
    { mode: 0o600 },
  );
  mkdirSync(join(work, 'bin'));
  writeFileSync(join(work, 'bin', 'kubectl'), KUBECTL, { mode: 0o755 });
  writeFileSync(join(work, 'bin', 'curl'), CURL, { mode: 0o755 });
  chmodSync(join(work, 'bin', 'kubectl'), 0o755);
  chmodSync(join(work, 'bin', 'curl'), 0o755);
});

afterAll(async () => {
  if (readState(sandboxDir)) await stopSandbox(sandboxDir);
  rmSync(work, { recursive: true, force: true });
}, 300_000);

describe.runIf(tools)('the restore-drill lease on a real kube-apiserver', () => {
  it('the drill ServiceAccount may create leases in its namespace and get, patch and delete only the drill lease', () => {
    const can = (...args: string[]) => admin(['auth', 'can-i', '--as=system:serviceaccount:velero:restore-drill', ...args]).out.trim();
    expect(can('create', 'leases.coordination.k8s.io', '-n', NS)).toBe('yes');
    for (const verb of ['get', 'patch', 'delete']) expect(can(verb, `leases.coordination.k8s.io/${DRILL_LEASE}`, '-n', NS), verb).toBe('yes');
    expect(can('update', `leases.coordination.k8s.io/${DRILL_LEASE}`, '-n', NS)).toBe('no');
    expect(can('get', 'leases.coordination.k8s.io/velero-leader', '-n', NS)).toBe('no');
    expect(can('delete', 'leases.coordination.k8s.io/velero-leader', '-n', NS)).toBe('no');
    expect(can('list', 'leases.coordination.k8s.io', '-n', NS)).toBe('no');
    expect(can('create', 'leases.coordination.k8s.io', '-n', 'kube-system')).toBe('no');
  });

  it('three drills started together restore one at a time and all pass; without the lease the same three overlap', async () => {
    reset();
    const drills = ['warehouse-dc09', 'social-network', 'online-store'].map((i, n) => drill(i, `restore-drill-${i}-2900000${n}-abcde`));
    const results = await Promise.all(drills.map((d) => d.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const s = sections();
    expect(s.map((x) => x.holder).sort()).toEqual(drills.map((d) => d.holder).sort());
    expect(overlaps(s)).toEqual([]);
    for (const d of drills) expect(d.pushed()).toContain('topoforge_restore_drill_success 1');
    // two of them waited (about one and two drills' time)
    const waits = drills.map((d) => Number(/topoforge_restore_drill_lease_wait_seconds (\d+)/.exec(d.pushed())![1])).sort((a, b) => a - b);
    expect(waits[0]).toBeLessThanOrEqual(1);
    expect(waits[1]).toBeGreaterThanOrEqual(1);
    expect(waits[2]).toBeGreaterThan(waits[1]!);
    console.info(
      `drill-lease-sandbox: three drills, critical sections ${s.map((x) => `${x.holder} ${Number(x.to - x.from) / 1e6} ms`).join(', ')}; waits ${waits.join(', ')} s`,
    );
    expect(lease()).toBeUndefined(); // the last one released it

    // The same with lease_acquire answering yes at once: the scenario does make drills overlap.
    reset();
    const free = join(work, 'drill', 'no-lease');
    mkdirSync(free, { recursive: true });
    for (const f of ['drill.sh', 'lease.sh', 'namespace.json', 'isolation.json', 'fresh-instance.json', 'restore.json', 'database.sh'])
      writeFileSync(join(free, f), readFileSync(join(drillDirOf('warehouse-dc09'), f)));
    writeFileSync(join(free, 'lease.sh'), readFileSync(join(free, 'lease.sh'), 'utf8') + 'lease_acquire() { lease_held=1; }\nlease_keep() { :; }\n');
    const unguarded = ['a', 'b', 'c'].map((n) => drill('warehouse-dc09', `unguarded-${n}`, { DRILL_DIR: free }));
    await Promise.all(unguarded.map((d) => d.done));
    expect(overlaps(sections()).length).toBeGreaterThan(0);
  });

  it('a holder that keeps renewing keeps the lease past its duration; killed without releasing, its lease is taken over once not renewed for its duration', async () => {
    reset();
    const a = drill('warehouse-dc09', 'holder-a', { HOLD: '600' });
    await until('holder-a is restoring', () => entered('holder-a'));
    const b = drill('social-network', 'waiter-b');
    await sleep(8_000 * 2); // twice the lease duration: holder-a renews, waiter-b keeps waiting
    expect(entered('waiter-b')).toBe(false);
    expect(lease()?.holder).toBe('holder-a');
    const killed = Date.now();
    process.kill(-a.child.pid!, 'SIGKILL'); // the whole job: no trap, no release
    const took = await until('waiter-b takes over', () => entered('waiter-b'), 60_000);
    const r = await b.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/drill lease restore-drill taken over by waiter-b from holder-a \(not renewed for 8s\)/);
    // not before the lease could have lapsed (its last renewal was at most ~1 s + a call before the kill), not long after
    expect(took - killed).toBeGreaterThanOrEqual(4_000);
    expect(took - killed).toBeLessThan(25_000);
    console.info(`drill-lease-sandbox: waiter-b took over ${took - killed} ms after holder-a was killed (lease duration 8 s, renewal every 1 s)`);
    expect(b.pushed()).toContain('topoforge_restore_drill_success 1');
    expect(lease()).toBeUndefined();
  });

  it('a stale lease is taken over by exactly one of three waiters at once; the others wait for it', async () => {
    reset();
    const stale = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: DRILL_LEASE, namespace: NS },
      spec: { holderIdentity: 'gone', leaseDurationSeconds: 3 },
    };
    expect(admin(['create', '-f', '-'], JSON.stringify(stale)).code).toBe(0);
    const drills = ['w1', 'w2', 'w3'].map((n) => drill('warehouse-dc09', `waiter-${n}`, { HOLD: '3' }));
    const results = await Promise.all(drills.map((d) => d.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(overlaps(sections())).toEqual([]);
    const tookOver = results.filter((r) => /taken over by waiter-w\d from gone/.test(r.stdout));
    expect(tookOver).toHaveLength(1);
  });

  it('a holder stalled past its lease loses it to a waiter: once resumed it stops the drill, pushes a failure and leaves the new lease alone', async () => {
    reset();
    const a = drill('warehouse-dc09', 'holder-a', { HOLD: '30' });
    await until('holder-a is restoring', () => entered('holder-a'));
    // waiter-b holds longer than holder-a can take to notice once resumed (on a loaded machine,
    // several seconds): it must still hold the lease when holder-a's release reads it.
    const b = drill('social-network', 'waiter-b', { HOLD: '30' });
    process.kill(-a.child.pid!, 'SIGSTOP'); // the whole job frozen: no renewal
    await until('waiter-b takes over', () => entered('waiter-b'), 60_000);
    process.kill(-a.child.pid!, 'SIGCONT');
    const ra = await a.done;
    expect(ra.code).toBe(143);
    expect(ra.stderr).toContain('restore drill: lost the drill lease restore-drill (now held by waiter-b); stopping');
    expect(ra.stderr).toContain('drill lease restore-drill is held by waiter-b, not by holder-a: left alone');
    expect(a.pushed()).toContain('topoforge_restore_drill_success 0');
    expect(lease()?.holder).toBe('waiter-b');
    const rb = await b.done;
    expect(rb.code, rb.stderr).toBe(0);
    expect(lease()).toBeUndefined();
  }, 180_000);

  it("TERM to the drill's process alone (the kubelet's at the Job's deadline) during a 2-minute kubectl wait, or while waiting for the lease: it stops at once, releases what it holds and pushes a failure", async () => {
    reset();
    const a = drill('warehouse-dc09', 'holder-a', { WAIT_HOLD: '120' });
    const waiting = join(work, `waiting-${run}`);
    const inWait = (file: string) => () => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n');
    await until('holder-a is in its kubectl wait', inWait(waiting));
    const waitPid = Number(readFileSync(waiting, 'utf8'));
    expect(lease()?.holder).toBe('holder-a');
    // A second drill waits for the lease (it looks every second).
    const b = drill('social-network', 'waiter-b', { WAIT_HOLD: '120' });
    const waitingB = join(work, `waiting-${run}`);
    await sleep(2_000);
    expect(lease()?.holder).toBe('holder-a');
    const t0 = Date.now();
    process.kill(a.child.pid!, 'SIGTERM'); // the script only: the kubelet signals the container's first process
    const ra = await a.done;
    const took = Date.now() - t0;
    console.info(`drill-lease-sandbox: the drill ended ${took} ms after TERM, in a kubectl wait of 120 s`);
    expect(ra.code).toBe(143);
    // Well within the kubelet's grace period (30 s) before its KILL: before, the drill ended with the wait.
    expect(took).toBeLessThan(15_000);
    expect(ra.stdout).toContain('drill lease restore-drill released by holder-a');
    expect(a.pushed()).toContain('topoforge_restore_drill_success 0');
    expect(() => process.kill(waitPid, 0)).toThrow(/ESRCH/); // the wait it was in is stopped too
    // The waiter gets the lease at once (not after its 8 s duration).
    await until('waiter-b is in its kubectl wait', inWait(waitingB), 8_000);
    expect(lease()?.holder).toBe('waiter-b');
    // A third drill, TERMed while it waits for the lease (looking every 20 s): ends at once, holding nothing.
    const c = drill('social-network', 'waiter-c', { LEASE_POLL_SECONDS: '20' });
    await sleep(2_000);
    const t1 = Date.now();
    process.kill(c.child.pid!, 'SIGTERM');
    const rc = await c.done;
    expect(rc.code).toBe(143);
    expect(Date.now() - t1).toBeLessThan(10_000);
    expect(rc.stdout).not.toContain('released');
    expect(c.pushed()).toContain('topoforge_restore_drill_success 0');
    expect(lease()?.holder).toBe('waiter-b');
    process.kill(b.child.pid!, 'SIGTERM');
    const rb = await b.done;
    expect(rb.code).toBe(143);
    expect(rb.stdout).toContain('drill lease restore-drill released by waiter-b');
    expect(lease()).toBeUndefined();
  }, 120_000);

  it('release: a non-holder deletes nothing, nor does a holder whose lease was taken over between its read and its delete', () => {
    reset();
    const leaseSh = join(drillDirOf('warehouse-dc09'), 'lease.sh');
    const env = {
      ...envOf('warehouse-dc09'),
      LEASE_DURATION_SECONDS: '8',
      LEASE_RENEW_SECONDS: '1',
      LEASE_POLL_SECONDS: '1',
      LEASE_WAIT_SECONDS: '5',
      PATH: `${join(work, 'bin')}:/usr/bin:/bin`,
      HOME: work,
      REAL_KUBECTL: requireTool('kubectl'),
      DRILL_KUBECONFIG: join(work, 'drill-kubeconfig'),
      STEPS: join(work, 'steps'),
    };
    const sh = (holder: string, script: string, extra: Record<string, string> = {}) =>
      spawnSync('/bin/sh', ['-c', `. "$1"; lease_init; ${script}; s=$?; lease_done; exit $s`, 'sh', leaseSh], {
        encoding: 'utf8',
        env: { ...env, DRILL_HOLDER: holder, ...extra },
      });
    expect(sh('holder-a', 'lease_acquire').status).toBe(0);
    const held = lease()!;
    expect(held.holder).toBe('holder-a');
    // holder-b believes it holds the lease (lease_held set): its release reads holder-a and leaves it
    const b = sh('holder-b', 'lease_held=1; lease_release');
    expect(b.stderr).toContain('drill lease restore-drill is held by holder-a, not by holder-b: left alone');
    expect(lease()).toEqual(held);
    // holder-a reads itself as holder; just before its delete, holder-c takes the lease over (as a waiter would)
    const takeOver = `"$REAL_KUBECTL" --kubeconfig "$DRILL_KUBECONFIG" -n ${NS} patch lease ${DRILL_LEASE} --type=json -p '[{"op":"add","path":"/spec/holderIdentity","value":"holder-c"}]' >/dev/null`;
    const a = sh('holder-a', 'lease_held=1; lease_release', { BEFORE_DELETE: takeOver });
    expect(a.stderr).toMatch(/drill lease: not released \(.*Conflict.*the ResourceVersion in the precondition/s);
    expect(lease()?.holder).toBe('holder-c');
    // and holder-a can no longer renew it
    expect(sh('holder-a', 'lease_renew').status).not.toBe(0);
    expect(lease()?.holder).toBe('holder-c');
  });

  it('a waiter gives up after LEASE_WAIT_SECONDS: the drill fails, pushes success 0 and restores nothing', async () => {
    reset();
    const a = drill('warehouse-dc09', 'holder-a', { HOLD: '30' });
    await until('holder-a is restoring', () => entered('holder-a'));
    const t0 = Date.now();
    const c = await drill('social-network', 'waiter-c', { LEASE_WAIT_SECONDS: '3' }).done;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/gave up after \d+s waiting for the drill lease restore-drill, held by holder-a/);
    expect(entered('waiter-c')).toBe(false);
    expect(lease()?.holder).toBe('holder-a');
    process.kill(-a.child.pid!, 'SIGTERM');
    const ra = await a.done;
    expect(ra.code).toBe(143);
    expect(lease()).toBeUndefined(); // TERM (as at activeDeadlineSeconds): the trap released it
  });
});
