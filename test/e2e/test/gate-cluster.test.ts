/**
 * The workloads, the promotion gate and its RBAC on a real kube-apiserver (packages/sandbox):
 * the rendered production DC applies with strict server-side validation; the gate runs as a
 * real process with its ServiceAccount's token and reads the Deployment the canary targets —
 * and nothing else (a Deployment outside its Role is forbidden, `kubectl auth can-i` agrees);
 * an image set by hand is refused; a hung API server is answered within the timeout.
 * Skipped with a message when ../shared or the cluster tools (`pnpm run setup:tools`) are absent.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { kubectlSync, readState, SETUP_HINT, startSandbox, stopSandbox, toolsAvailable, type SandboxState } from '@topoforge/sandbox';
import { run } from './cluster.js';
import { postJson } from './post-json.js';

vi.setConfig({ testTimeout: 900_000, hookTimeout: 300_000 });

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const shared = findSharedDir(repo);
const tools = toolsAvailable();
if (!shared) console.warn(SHARED_MISSING);
if (!tools) console.warn(`gate-cluster.test.ts skipped: kube-apiserver, kube-controller-manager, kubectl or etcd not found — ${SETUP_HINT}`);

const work = mkdtempSync(join(tmpdir(), 'topoforge-gate-cluster-'));
const sandboxDir = join(work, 'sandbox');
const children: ChildProcess[] = [];
let stopped: number | undefined;
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) await new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')));
  if (stopped) process.kill(stopped, 'SIGCONT');
  if (readState(sandboxDir)) await stopSandbox(sandboxDir);
  rmSync(work, { recursive: true, force: true });
}, 300_000);

const repoImage = 'registry.example.com/commerce/online-store';
const SA = 'system:serviceaccount:platform:promotion-gate';

/** The threads of a process the kernel does not show stopped (state T or t in /proc). */
function runningThreads(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).filter((t) => {
    const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'T' && state !== 't';
  });
}

async function gate(dir: string, state: SandboxState, token: string, timeout: string): Promise<string> {
  const kc = join(dir, 'kubeconfig');
  writeFileSync(
    kc,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'dc01', cluster: { server: state.clusters[0]!.server, 'certificate-authority': state.caCert } }],
      users: [{ name: 'gate', user: { token } }],
      contexts: [{ name: 'gate', context: { cluster: 'dc01', user: 'gate' } }],
      'current-context': 'gate',
    }),
  );
  const main = join(repo, 'packages/promotion-gate/dist/main.js');
  const proc = spawn(
    process.execPath,
    [
      main,
      `--config=${join(dir, 'gate.yaml')}`,
      `--ledger=${join(dir, 'ledger.yaml')}`,
      '--host=127.0.0.1',
      '--port=0',
      `--kube-timeout=${timeout}`,
      `--kubeconfig=${kc}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(proc);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`gate exited ${code}: ${buf}`)));
  });
  return `http://127.0.0.1:${port}`;
}
const ask = (url: string, namespace: string, name: string) =>
  postJson<{ allowed: boolean; code: string; reason: string }>(`${url}/confirm-rollout`, {
    name,
    namespace,
    phase: 'Progressing',
    checksum: '7f3a9c',
    metadata: { environment: 'production', dc: 'dc01', service: name, requires: 'staging' },
  });

describe.runIf(shared && tools)('workloads, the gate and its RBAC on a real kube-apiserver', () => {
  it('apply; the gate reads its Deployment through its ServiceAccount and nothing more', async () => {
    const out = join(work, 'out');
    const r = run(process.execPath, [join(repo, 'packages/cli/bin/topoforge.js'), 'render', '--env', 'production', '--out', out], { cwd: repo });
    expect(r.code, r.err).toBe(0);
    const state = await startSandbox({
      dir: sandboxDir,
      clusters: [{ name: 'dc01', context: 'prod-dc01' }],
      crdDirs: [join(shared!, 'crds'), join(repo, 'test', 'crds')],
    });
    const dc = join(out, 'production', 'clusters', 'dc01');
    const k = (args: string[], input?: string) => kubectlSync(state, 'prod-dc01', args, input);

    // Namespaces and PriorityClasses first, then the workloads and the gate with its RBAC, strictly validated.
    const priorityClasses = readdirSync(join(dc, 'traffic-alerts'))
      .filter((f) => f.startsWith('priorityclass-'))
      .map((f) => join(dc, 'traffic-alerts', f));
    for (const step of [[join(dc, 'namespaces')], priorityClasses, [join(dc, 'workloads')], [join(dc, 'flagger')]]) {
      const a = k(['apply', '--server-side', '--validate=strict', '--field-manager=topoforge-test', '-R', ...step.flatMap((f) => ['-f', f])]);
      expect(a.code, a.err).toBe(0);
    }
    expect(k(['get', 'deployment', 'online-store', '-n', 'online-store', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']).out).toBe(
      `${repoImage}:7.4.2`,
    );
    expect(k(['get', 'deployment', 'promotion-gate', '-n', 'platform', '-o', 'jsonpath={.spec.template.spec.priorityClassName}']).out).toBe(
      'topoforge-platform',
    );

    // Least privilege, as the API server's authorizer sees it.
    const can = (...args: string[]) => k(['auth', 'can-i', ...args, `--as=${SA}`]).out.trim();
    expect(can('get', 'deployments/online-store', '-n', 'online-store')).toBe('yes');
    expect(can('get', 'deployments/social-network', '-n', 'social-network')).toBe('no');
    expect(can('list', 'deployments', '-n', 'online-store')).toBe('no');
    expect(can('watch', 'deployments', '-n', 'online-store')).toBe('no');
    expect(can('patch', 'deployments/online-store', '-n', 'online-store')).toBe('no');
    expect(can('get', 'secrets', '-n', 'platform')).toBe('no');
    expect(can('get', 'configmaps', '-n', 'platform')).toBe('no');

    // The gate, as its Deployment runs it: rendered ConfigMaps, its ServiceAccount's token.
    const token = k(['create', 'token', 'promotion-gate', '-n', 'platform', '--duration=1h']);
    expect(token.code, token.err).toBe(0);
    const dir = mkdtempSync(join(work, 'gate-'));
    const data = (f: string, key: string) => (parse(readFileSync(join(dc, 'flagger', 'platform', f), 'utf8')) as { data: Record<string, string> }).data[key]!;
    const config = parse(data('configmap-promotion-gate.yaml', 'gate.yaml')) as { canaries: Record<string, string>[] };
    // One canary more than its RBAC allows: the social network's Deployment exists, the gate may not read it.
    config.canaries.push({
      namespace: 'social-network',
      canary: 'social-network',
      service: 'social-network',
      deployment: 'social-network',
      container: 'social-network',
      image: 'registry.example.com/commerce/social-network',
    });
    writeFileSync(join(dir, 'gate.yaml'), stringify(config));
    writeFileSync(join(dir, 'ledger.yaml'), data('configmap-promotion-gate-ledger.yaml', 'ledger.yaml'));
    const url = await gate(dir, state, token.out.trim(), '2s');

    const ok = await ask(url, 'online-store', 'online-store');
    expect(ok).toMatchObject({ status: 200, body: { allowed: true, code: 'verified' } });
    expect(ok.body.reason).toBe(`deployment online-store/online-store runs ${repoImage}:7.4.2: online-store 7.4.2 passed staging`);

    const hand = k(['set', 'image', 'deployment/online-store', `online-store=${repoImage}:7.9.9`, '-n', 'online-store']);
    expect(hand.code, hand.err).toBe(0);
    const refused = await ask(url, 'online-store', 'online-store');
    expect(refused).toMatchObject({ status: 403, body: { allowed: false, code: 'unverified' } });
    expect(refused.body.reason).toBe(`deployment online-store/online-store runs ${repoImage}:7.9.9: online-store 7.9.9 never passed staging`);

    const forbidden = await ask(url, 'social-network', 'social-network');
    expect(forbidden).toMatchObject({ status: 403, body: { allowed: false, code: 'api-forbidden' } });
    expect(forbidden.body.reason).toContain('the gate may not read deployment social-network/social-network (403)');

    // The API server hangs (stopped, its socket still open): refused, with a reason, within the deadline.
    stopped = state.clusters[0]!.apiserver.pid;
    process.kill(stopped, 'SIGSTOP');
    try {
      // kill() sends the signal; the kernel stops each thread when it next can. Asked before all
      // were stopped, the API server once answered (in 34 ms, on a loaded machine).
      await vi.waitFor(() => expect(runningThreads(stopped!)).toEqual([]), { timeout: 10_000, interval: 20 });
      const down = await ask(url, 'online-store', 'online-store');
      expect(down).toMatchObject({ status: 403, body: { allowed: false, code: 'api-timeout' } });
      expect(down.body.reason).toBe('cannot tell what online-store/online-store runs: the API server did not answer within 2000 ms');
      expect(down.ms).toBeLessThan(2000 + 2000);
    } finally {
      process.kill(stopped, 'SIGCONT');
      stopped = undefined;
    }
  });
});
