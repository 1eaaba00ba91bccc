/**
 * A version bump really rolls out, end to end, through the real CLI and the real gate:
 * staging bump → render (only the Deployment image moves; `diff` says so) → the staging
 * gates record the canary results → `verify --from-gate` writes the ledger → `promote` →
 * render → production's Deployments run the new image and the gate's ledger ConfigMap knows
 * it → the production gate (a real process, real HTTP, Flagger-shaped payloads) allows that
 * image, refuses an unverified image set by hand, refuses a version whose staging canary
 * rolled back, and answers within its timeout when the API server hangs.
 *
 * The gate reads Deployments over HTTP with the Kubernetes client library from an endpoint
 * serving exactly the rendered Deployments; the same flow against a real kube-apiserver
 * with the gate's RBAC is in packages/promotion-gate/test/kube-apiserver.test.ts.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { listTree } from '@topoforge/engine';
import { postJson } from './post-json.js';

vi.setConfig({ testTimeout: 600_000, hookTimeout: 120_000 });

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'packages/cli/bin/topoforge.js');
const gateMain = join(repo, 'packages/promotion-gate/dist/main.js');
const work = mkdtempSync(join(tmpdir(), 'topoforge-rollout-'));
const children: ChildProcess[] = [];
const servers: { close(): void }[] = [];
const sockets: Socket[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) await new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')));
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
  rmSync(work, { recursive: true, force: true });
});

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const envFile = (f: string) => join(work, 'environments', f);
const read = (f: string) => readFileSync(envFile(f), 'utf8');
const out = (p: string) => readFileSync(join(work, 'out', p), 'utf8');
const deploymentPath = (env: string, dc: string) => `${env}/clusters/${dc}/workloads/online-store/deployment-online-store.yaml`;
const imageOf = (text: string) =>
  (parse(text) as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;
const configMapData = (p: string, key: string) => (parse(out(p)) as { data: Record<string, string> }).data[key]!;
const repoImage = 'registry.example.com/commerce/online-store';

/** What the API server says each Deployment runs: starts as rendered, then "set by hand". */
const live = new Map<string, unknown>();
async function apiServer(): Promise<string> {
  const server: Server = createServer((req, res) => {
    const m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/?]+)/.exec(req.url ?? '');
    const d = m ? live.get(`${m[1]}/${m[2]}`) : undefined;
    res.writeHead(d ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(d ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}
function kubeconfig(name: string, server: string): string {
  const file = join(work, `${name}.kubeconfig`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'gate' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  return file;
}
/** The gate as its rendered Deployment runs it: the rendered ConfigMaps as files, its args. */
async function gate(env: string, dc: string, server: string, timeout = '3s'): Promise<{ url: string; ledgerFile: string }> {
  const dir = join(work, `gate-${env}-${dc}-${children.length}`);
  cpSync(join(work, 'out', env, 'clusters', dc, 'flagger', 'platform'), dir, { recursive: true });
  writeFileSync(join(dir, 'gate.yaml'), configMapData(`${env}/clusters/${dc}/flagger/platform/configmap-promotion-gate.yaml`, 'gate.yaml'));
  const mode = env === 'staging' ? [`--evidence=${join(dir, 'evidence.jsonl')}`] : [`--ledger=${join(dir, 'ledger.yaml')}`];
  if (env !== 'staging')
    writeFileSync(join(dir, 'ledger.yaml'), configMapData(`${env}/clusters/${dc}/flagger/platform/configmap-promotion-gate-ledger.yaml`, 'ledger.yaml'));
  const proc = spawn(
    process.execPath,
    [
      gateMain,
      `--config=${join(dir, 'gate.yaml')}`,
      ...mode,
      '--host=127.0.0.1',
      '--port=0',
      `--kube-timeout=${timeout}`,
      `--kubeconfig=${kubeconfig(`${env}-${dc}-${children.length}`, server)}`,
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
  return { url: `http://127.0.0.1:${port}`, ledgerFile: join(dir, 'ledger.yaml') };
}
const flagger = (namespace: string, name: string, phase: string) => ({
  name,
  namespace,
  phase,
  checksum: '5c7a1e2b9d0f',
  metadata: { environment: 'production', service: name, requires: 'staging' },
});
const post = (url: string, body: unknown) => postJson<{ allowed: boolean; code: string; reason: string }>(url, body);
const serveRendered = (env: string, dc: string) => live.set('online-store/online-store', parse(out(deploymentPath(env, dc))));
/** After a promotion Flagger's primary runs the target's spec: the staging gate records the primary's version. */
const servePromoted = (env: string, dc: string) => {
  serveRendered(env, dc);
  live.set('online-store/online-store-primary', parse(out(deploymentPath(env, dc))));
};

describe('a version bump rolls out: verify → promote → render → the gate', () => {
  it('runs the whole path', async () => {
    cpSync(join(repo, 'environments'), join(work, 'environments'), { recursive: true });
    expect(cli('render', '--out', 'out').code).toBe(0);
    cpSync(join(work, 'out'), join(work, 'before'), { recursive: true });

    // 1. The bump on the test stand changes exactly the Deployment's image in each staging DC.
    writeFileSync(envFile('staging.yaml'), read('staging.yaml') + '\nservices:\n  online-store: { version: "7.5.0" }\n');
    const r1 = cli('render', '--out', 'out', '--env', 'staging');
    expect(r1.code, r1.err).toBe(0);
    const changed = listTree(join(work, 'out', 'staging')).filter(
      (f) => f !== 'topoforge-index.json' && readFileSync(join(work, 'out', 'staging', f), 'utf8') !== readFileSync(join(work, 'before', 'staging', f), 'utf8'),
    );
    expect(changed).toEqual([
      'clusters/stg01/workloads/online-store/deployment-online-store.yaml',
      'clusters/stg02/workloads/online-store/deployment-online-store.yaml',
    ]);
    for (const f of changed) {
      const [a, b] = [readFileSync(join(work, 'before', 'staging', f), 'utf8').split('\n'), readFileSync(join(work, 'out', 'staging', f), 'utf8').split('\n')];
      expect(b.filter((l, i) => l !== a[i])).toEqual([`          image: ${repoImage}:7.5.0`]);
    }
    for (const dc of ['stg01', 'stg02']) expect(imageOf(out(deploymentPath('staging', dc)))).toBe(`${repoImage}:7.5.0`);
    const diff = cli('diff', '--against', 'before', '--env', 'staging');
    expect(diff.code, diff.err).toBe(1);
    expect(diff.out).toContain(
      '`spec.template.spec.containers[name=online-store].image`: registry.example.com/commerce/online-store:7.4.2 → registry.example.com/commerce/online-store:7.5.0',
    );
    // One row: the same field of the same Deployment in both DCs, and nothing else.
    expect(diff.out).toContain('- **staging**: 2 changed');
    expect(diff.out.match(/\| ~ \|/g)).toEqual(['| ~ |']);
    expect(diff.out).toContain('| ~ | Deployment online-store/online-store | stg01, stg02 |');

    // 2. The staging canaries promote it in both DCs; each DC's gate records it from what its Deployment runs.
    const api = await apiServer();
    const [g1, g2] = await Promise.all([gate('staging', 'stg01', api), gate('staging', 'stg02', api)]);
    servePromoted('staging', 'stg01');
    expect(
      (
        await post(`${g1!.url}/post-rollout`, {
          ...flagger('online-store', 'online-store', 'Succeeded'),
          metadata: { environment: 'staging', dc: 'stg01', service: 'online-store' },
        })
      ).body.code,
    ).toBe('recorded-succeeded');
    // Before stg02 has finished, the version is not verified yet.
    expect(cli('verify', '--env', 'staging', '--from-gate', g1!.url, '--from-gate', g2!.url).out).toContain('pending:  online-store 7.5.0 (waiting for stg02)');
    servePromoted('staging', 'stg02');
    expect((await post(`${g2!.url}/post-rollout`, flagger('online-store', 'online-store', 'Succeeded'))).body.code).toBe('recorded-succeeded');
    const v = cli('verify', '--env', 'staging', '--from-gate', g1!.url, '--from-gate', g2!.url);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toContain('verified: online-store 7.5.0');
    expect(read('verified/staging.yaml')).toContain('online-store: ["7.4.2", "7.5.0"]');

    // 3. promote → render: production's Deployments move to the verified image, and so does the gate's ledger.
    const p = cli('promote', '--from', 'staging', '--to', 'production');
    expect(p.code, p.err).toBe(0);
    expect(p.out).toContain('online-store: 7.4.2 -> 7.5.0');
    expect(cli('render', '--out', 'out').code).toBe(0);
    const prodDcs = ['dc01', 'dc02', 'dc03', 'dc04', 'dc05', 'dc06', 'dc07', 'dc08', 'dc09', 'dc10'];
    for (const dc of prodDcs) expect(imageOf(out(deploymentPath('production', dc)))).toBe(`${repoImage}:7.5.0`);
    const pd = cli('diff', '--against', 'before', '--env', 'production');
    expect(pd.out).toContain('registry.example.com/commerce/online-store:7.4.2 → registry.example.com/commerce/online-store:7.5.0');
    expect(configMapData('production/clusters/dc01/flagger/platform/configmap-promotion-gate-ledger.yaml', 'ledger.yaml')).toContain(
      'online-store:\n    - "7.4.2"\n    - "7.5.0"',
    );

    // 4. The production gate allows exactly that image…
    const prod = await gate('production', 'dc01', api);
    serveRendered('production', 'dc01');
    const ok = await post(`${prod.url}/confirm-rollout`, flagger('online-store', 'online-store', 'Progressing'));
    expect(ok).toMatchObject({ status: 200, body: { allowed: true, code: 'verified' } });
    expect(ok.body.reason).toBe(`deployment online-store/online-store runs ${repoImage}:7.5.0: online-store 7.5.0 passed staging`);
    // …refuses an unverified image an app team sets by hand on the Deployment…
    const hand = structuredClone(live.get('online-store/online-store')) as { spec: { template: { spec: { containers: { image: string }[] } } } };
    hand.spec.template.spec.containers[0]!.image = `${repoImage}:7.5.1`;
    live.set('online-store/online-store', hand);
    const refused = await post(`${prod.url}/confirm-promotion`, flagger('online-store', 'online-store', 'Progressing'));
    expect(refused).toMatchObject({ status: 403, body: { allowed: false, code: 'unverified' } });
    expect(refused.body.reason).toBe(`deployment online-store/online-store runs ${repoImage}:7.5.1: online-store 7.5.1 never passed staging`);

    // 5. A version whose staging canary rolls back: failed in the ledger, refused by promote and by the gate.
    writeFileSync(envFile('staging.yaml'), read('staging.yaml').replace('online-store: { version: "7.5.0" }', 'online-store: { version: "7.6.0" }'));
    expect(cli('render', '--out', 'out', '--env', 'staging').code).toBe(0);
    serveRendered('staging', 'stg01');
    expect((await post(`${g1!.url}/post-rollout`, flagger('online-store', 'online-store', 'Failed'))).body.code).toBe('recorded-failed');
    const vf = cli('verify', '--env', 'staging', '--from-gate', g1!.url, '--from-gate', g2!.url);
    expect(vf.out).toContain('failed:   online-store 7.6.0');
    expect(read('verified/staging.yaml')).toContain('failed:\n  online-store:\n    "7.6.0": "rolled back by the staging canary analysis in stg01"');
    const pr = cli('promote', '--from', 'staging', '--to', 'production');
    expect(pr.code).toBe(2);
    expect(pr.err).toContain('error PROMOTE_VERSION_FAILED: online-store 7.6.0 failed on staging: rolled back by the staging canary analysis in stg01');
    expect(read('production.yaml')).toContain('online-store:\n    version: "7.5.0"');
    // The reviewed ledger reaches the production gate by render; someone sets 7.6.0 by hand anyway.
    expect(cli('render', '--out', 'out').code).toBe(0);
    writeFileSync(prod.ledgerFile, configMapData('production/clusters/dc01/flagger/platform/configmap-promotion-gate-ledger.yaml', 'ledger.yaml'));
    hand.spec.template.spec.containers[0]!.image = `${repoImage}:7.6.0`;
    const rolledBack = await post(`${prod.url}/confirm-rollout`, flagger('online-store', 'online-store', 'Progressing'));
    expect(rolledBack).toMatchObject({ status: 403, body: { allowed: false, code: 'failed' } });
    expect(rolledBack.body.reason).toContain('online-store 7.6.0 failed on staging: rolled back by the staging canary analysis in stg01');

    // 6. The API server hangs: the gate refuses, with a reason, within its timeout.
    const hole = createTcpServer((s) => sockets.push(s));
    servers.push(hole);
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
    const blind = await gate('production', 'dc01', `http://127.0.0.1:${(hole.address() as { port: number }).port}`, '2s');
    const down = await post(`${blind.url}/confirm-rollout`, flagger('online-store', 'online-store', 'Progressing'));
    expect(down).toMatchObject({ status: 403, body: { allowed: false, code: 'api-timeout' } });
    expect(down.body.reason).toBe('cannot tell what online-store/online-store runs: the API server did not answer within 2000 ms');
    expect(down.ms).toBeLessThan(2000 + 2000);
  });
});
