/**
 * The gate as it runs: a real process on 127.0.0.1, real HTTP, Flagger-shaped payloads, and
 * the Kubernetes client library talking HTTP to an API endpoint — one that serves
 * Deployments, one that hangs, one that refuses connections. (The real kube-apiserver with
 * the gate's RBAC: test/kube-apiserver.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Each case starts the gate as a process; on a loaded machine that alone can take tens of seconds.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { blackHole, deployment, deploymentApi, kubeconfig, payload, post, startGate, tempDir, type RunningGate } from './helpers.js';

const repo = 'registry.example.com/commerce/online-store';
const gateYaml = (mode: 'gate' | 'record') => `mode: ${mode}
environment: ${mode === 'gate' ? 'production' : 'staging'}
dc: ${mode === 'gate' ? 'dc01' : 'stg01'}
testStand: staging
ledger: environments/verified/staging.yaml
canaries:
  - { namespace: online-store, canary: online-store, service: online-store, deployment: online-store, container: online-store, image: ${repo} }
`;
const ledger = 'verified:\n  online-store: ["7.4.2", "7.5.0"]\nfailed:\n  online-store:\n    "7.6.0": "rolled back by the staging canary analysis in stg02"\n';

const tmp = tempDir('topoforge-gate-');
const deployments = new Map<string, unknown>();
let api: Awaited<ReturnType<typeof deploymentApi>>;
let hole: Awaited<ReturnType<typeof blackHole>>;
let refusedPort: number;
const gates: RunningGate[] = [];
const start = async (...args: string[]) => {
  const g = await startGate(args);
  gates.push(g);
  return g;
};

beforeAll(async () => {
  writeFileSync(join(tmp.dir, 'gate.yaml'), gateYaml('gate'));
  writeFileSync(join(tmp.dir, 'record.yaml'), gateYaml('record'));
  writeFileSync(join(tmp.dir, 'ledger.yaml'), ledger);
  api = await deploymentApi(deployments);
  hole = await blackHole();
  // A port nobody listens on: connection refused.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  refusedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(async () => {
  for (const g of gates) await g.stop();
  api?.server.close();
  for (const s of hole?.sockets ?? []) s.destroy();
  hole?.server.close();
  tmp.cleanup();
});

describe('production gate process', () => {
  it('allows the image the Deployment runs when it is verified, refuses a hand-set unverified one and a rolled-back one', async () => {
    const g = await start(
      `--config=${join(tmp.dir, 'gate.yaml')}`,
      `--ledger=${join(tmp.dir, 'ledger.yaml')}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, 'kc-api.yaml'), api.url, 'gate-token')}`,
      '--kube-timeout=2s',
    );
    const body = payload('online-store', 'online-store', 'Progressing', {
      environment: 'production',
      dc: 'dc01',
      service: 'online-store',
      requires: 'staging',
    });
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.5.0`));
    const yes = await post(`${g.url}/confirm-rollout`, body);
    expect(yes).toMatchObject({ status: 200, body: { allowed: true, code: 'verified', version: '7.5.0' } });
    expect(api.requests.at(-1)).toBe('GET /apis/apps/v1/namespaces/online-store/deployments/online-store Bearer gate-token');

    // An app team sets an unverified image by hand: what runs decides, not what Git says.
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.5.1-hotfix`));
    const hand = await post(`${g.url}/confirm-promotion`, body);
    expect(hand).toMatchObject({ status: 403, body: { allowed: false, code: 'unverified' } });
    expect(hand.body.reason).toBe(`deployment online-store/online-store runs ${repo}:7.5.1-hotfix: online-store 7.5.1-hotfix never passed staging`);

    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.6.0`));
    const failed = await post(`${g.url}/confirm-rollout`, body);
    expect(failed).toMatchObject({ status: 403, body: { allowed: false, code: 'failed' } });
    expect(failed.body.reason).toContain('online-store 7.6.0 failed on staging: rolled back by the staging canary analysis in stg02');
    // …and while it runs, the rollback hook tells Flagger to roll it back.
    expect(await post(`${g.url}/rollback`, body)).toMatchObject({ status: 200, body: { code: 'rollback-failed' } });

    // The ledger ConfigMap is updated in place: the next answer uses it.
    writeFileSync(join(tmp.dir, 'ledger.yaml'), ledger.replace('["7.4.2", "7.5.0"]', '["7.4.2", "7.5.0", "7.5.1-hotfix"]'));
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.5.1-hotfix`));
    expect(await post(`${g.url}/confirm-rollout`, body)).toMatchObject({ status: 200, body: { allowed: true } });
    writeFileSync(join(tmp.dir, 'ledger.yaml'), ledger);

    // Health, readiness, metrics, JSON logs with the reason.
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${g.url}/readyz`)).json()).toEqual({ ok: true, reason: 'ledger loaded' });
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/promotion_gate_answers_total\{hook="confirm-rollout",allowed="true",code="verified"\} 2/);
    expect(metrics).toMatch(/promotion_gate_answers_total\{hook="confirm-promotion",allowed="false",code="unverified"\} 1/);
    expect(metrics).toContain('promotion_gate_answer_seconds_bucket');
    const answered = g.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'answered');
    expect(answered.find((l) => l['code'] === 'unverified')).toMatchObject({
      level: 30,
      hook: 'confirm-promotion',
      canary: 'online-store/online-store',
      image: `${repo}:7.5.1-hotfix`,
      allowed: false,
      environment: 'production',
      dc: 'dc01',
    });
  });

  it('refuses bad payloads and unknown paths with a reason', async () => {
    const g = await start(
      `--config=${join(tmp.dir, 'gate.yaml')}`,
      `--ledger=${join(tmp.dir, 'ledger.yaml')}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, 'kc-api2.yaml'), api.url, 't')}`,
    );
    expect(await post(`${g.url}/confirm-rollout`, { name: 'online-store' })).toMatchObject({ status: 400, body: { allowed: false } });
    const notJson = await fetch(`${g.url}/confirm-rollout`, { method: 'POST', body: 'yes please' });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${g.url}/gate`, { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it.each([
    ['hangs (accepts, never answers)', () => hole.url],
    ['refuses connections', () => `http://127.0.0.1:${refusedPort}`],
  ])('answers within its timeout, refusing with a reason, when the API server %s', async (_what, server) => {
    const g = await start(
      `--config=${join(tmp.dir, 'gate.yaml')}`,
      `--ledger=${join(tmp.dir, 'ledger.yaml')}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, `kc-${refusedPort}-${_what.length}.yaml`), server(), 't')}`,
      '--kube-timeout=1500ms',
    );
    const r = await post(`${g.url}/confirm-rollout`, payload('online-store', 'online-store', 'Progressing'));
    expect(r.status).toBe(403);
    expect(r.body.allowed).toBe(false);
    expect(r.body.code).toMatch(/^api-(timeout|unreachable)$/);
    expect(r.body.reason).toMatch(/^cannot tell what online-store\/online-store runs: the API server (did not answer within 1500 ms|is unreachable: .+)$/);
    // Within the per-call deadline (plus process and HTTP overhead), far inside Flagger's 15 s.
    expect(r.ms).toBeLessThan(1500 + 1500);
    // And it does not ask Flagger to roll back because of its own blindness.
    expect((await post(`${g.url}/rollback`, payload('online-store', 'online-store', 'Progressing'))).status).toBe(409);
  });

  it('counts the answers it could not decide on per hook, from 0, apart from its refusals of a version', async () => {
    const undecidedOf = async (url: string) =>
      Object.fromEntries(
        [...(await (await fetch(`${url}/metrics`)).text()).matchAll(/^promotion_gate_undecided_total\{hook="([a-z-]+)"\} (\d+)$/gm)].map((m) => [
          m[1],
          Number(m[2]),
        ]),
      );
    const blind = await start(
      `--config=${join(tmp.dir, 'gate.yaml')}`,
      `--ledger=${join(tmp.dir, 'ledger.yaml')}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, 'kc-undecided.yaml'), `http://127.0.0.1:${refusedPort}`, 't')}`,
      '--kube-timeout=1500ms',
    );
    // Every hook's series is there before the first answer (a counter born at 1 shows no increase()).
    expect(await undecidedOf(blind.url)).toEqual({ 'confirm-rollout': 0, 'confirm-promotion': 0, 'post-rollout': 0, rollback: 0 });
    expect((await post(`${blind.url}/confirm-rollout`, payload('online-store', 'online-store', 'Progressing'))).body.code).toBe('api-unreachable');
    expect((await post(`${blind.url}/confirm-rollout`, payload('online-store', 'online-store', 'Progressing'))).body.code).toBe('api-unreachable');
    expect((await post(`${blind.url}/rollback`, payload('online-store', 'online-store', 'Progressing'))).body.code).toBe('keep-api-unreachable');
    expect((await post(`${blind.url}/confirm-promotion`, { name: 'online-store' })).status).toBe(400);
    expect(await undecidedOf(blind.url)).toEqual({ 'confirm-rollout': 2, 'confirm-promotion': 1, 'post-rollout': 0, rollback: 1 });

    // A decision on the version is not "undecided", however negative.
    const seeing = await start(
      `--config=${join(tmp.dir, 'gate.yaml')}`,
      `--ledger=${join(tmp.dir, 'ledger.yaml')}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, 'kc-undecided-2.yaml'), api.url, 't')}`,
    );
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.6.0`));
    expect((await post(`${seeing.url}/confirm-rollout`, payload('online-store', 'online-store', 'Progressing'))).body.code).toBe('failed');
    expect((await post(`${seeing.url}/rollback`, payload('online-store', 'online-store', 'Progressing'))).body.code).toBe('rollback-failed');
    expect((await post(`${seeing.url}/confirm-rollout`, payload('other', 'other', 'Progressing'))).body.code).toBe('unknown-canary');
    expect(await undecidedOf(seeing.url)).toEqual({ 'confirm-rollout': 1, 'confirm-promotion': 0, 'post-rollout': 0, rollback: 0 });

    // The test stand: a result it cannot record (Flagger does not retry post-rollout) counts once.
    const recorder = await start(
      `--config=${join(tmp.dir, 'record.yaml')}`,
      `--evidence=${join(tmp.dir, 'evidence-undecided.jsonl')}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, 'kc-undecided-3.yaml'), `http://127.0.0.1:${refusedPort}`, 't')}`,
      '--kube-timeout=1500ms',
    );
    expect((await post(`${recorder.url}/post-rollout`, payload('online-store', 'online-store', 'Succeeded'))).body.code).toBe('unrecorded-api-unreachable');
    expect((await post(`${recorder.url}/post-rollout`, payload('online-store', 'online-store', 'Progressing'))).body.code).toBe('ignored');
    expect(await undecidedOf(recorder.url)).toEqual({ 'confirm-rollout': 0, 'confirm-promotion': 0, 'post-rollout': 1, rollback: 0 });
  });

  it('is not ready, and says why, when its ledger cannot be read', async () => {
    writeFileSync(join(tmp.dir, 'broken.yaml'), 'verified: [oops]\n');
    const g = await start(
      `--config=${join(tmp.dir, 'gate.yaml')}`,
      `--ledger=${join(tmp.dir, 'broken.yaml')}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, 'kc-b.yaml'), api.url, 't')}`,
    );
    const r = await fetch(`${g.url}/readyz`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { reason: string }).reason).toContain('`verified` must map services to lists of versions');
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.5.0`));
    expect(await post(`${g.url}/confirm-rollout`, payload('online-store', 'online-store', 'Progressing'))).toMatchObject({
      status: 403,
      body: { code: 'ledger-unreadable' },
    });
  });
});

describe('test stand gate process', () => {
  it('records succeeded and rolled-back runs with the version the Deployment ran, serves and keeps them', async () => {
    const evidence = join(tmp.dir, 'evidence.jsonl');
    const args = [
      `--config=${join(tmp.dir, 'record.yaml')}`,
      `--evidence=${evidence}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, 'kc-rec.yaml'), api.url, 't')}`,
    ];
    const g = await start(...args);
    // Promoted: Flagger copied the target into the primary.
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.5.0`));
    deployments.set('online-store/online-store-primary', deployment('online-store', 'online-store-primary', `${repo}:7.5.0`));
    expect(
      await post(
        `${g.url}/post-rollout`,
        payload('online-store', 'online-store', 'Succeeded', { environment: 'staging', dc: 'stg01', service: 'online-store' }),
      ),
    ).toMatchObject({ status: 200, body: { code: 'recorded-succeeded', version: '7.5.0' } });
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.6.0`));
    expect(await post(`${g.url}/post-rollout`, payload('online-store', 'online-store', 'Failed'))).toMatchObject({
      status: 200,
      body: { code: 'recorded-failed', version: '7.6.0' },
    });
    const served = (await (await fetch(`${g.url}/evidence`)).json()) as { records: { version: string; result: string; reason: string }[] };
    expect(served.records.map((r) => [r.version, r.result, r.reason])).toEqual([
      ['7.5.0', 'succeeded', 'promoted by the staging canary analysis in stg01'],
      ['7.6.0', 'failed', 'rolled back by the staging canary analysis in stg01'],
    ]);
    expect(readFileSync(evidence, 'utf8').trim().split('\n')).toHaveLength(2);
    // A restarted gate still has them.
    await g.stop();
    const again = await start(...args);
    expect(((await (await fetch(`${again.url}/evidence`)).json()) as { records: unknown[] }).records).toHaveLength(2);
  });

  it('records the version Flagger promoted, not one applied to the target while the promotion finished', async () => {
    // Flagger copies the target into <name>-primary when it promotes, then spends the
    // Promoting and Finalising phases (one analysis interval each) before it sends
    // post-rollout Succeeded; it does not look for a new revision in those phases. A bump
    // applied to the target then must not be recorded as having passed the analysis.
    const evidence = join(tmp.dir, 'evidence-race.jsonl');
    const g = await start(
      `--config=${join(tmp.dir, 'record.yaml')}`,
      `--evidence=${evidence}`,
      `--kubeconfig=${kubeconfig(join(tmp.dir, 'kc-race.yaml'), api.url, 't')}`,
    );
    deployments.set('online-store/online-store-primary', deployment('online-store', 'online-store-primary', `${repo}:7.6.0`));
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.6.1`));
    const succeeded = await post(`${g.url}/post-rollout`, payload('online-store', 'online-store', 'Succeeded'));
    expect(succeeded).toMatchObject({ status: 200, body: { code: 'recorded-succeeded', version: '7.6.0' } });
    expect(api.requests.at(-1)).toBe('GET /apis/apps/v1/namespaces/online-store/deployments/online-store-primary Bearer t');

    // A rollback leaves the primary on the old version: the failed one is the target's.
    deployments.set('online-store/online-store-primary', deployment('online-store', 'online-store-primary', `${repo}:7.6.0`));
    deployments.set('online-store/online-store', deployment('online-store', 'online-store', `${repo}:7.7.0`));
    expect(await post(`${g.url}/post-rollout`, payload('online-store', 'online-store', 'Failed'))).toMatchObject({
      status: 200,
      body: { code: 'recorded-failed', version: '7.7.0' },
    });

    // No primary to read: nothing recorded (pending beats a guess).
    deployments.delete('online-store/online-store-primary');
    expect(await post(`${g.url}/post-rollout`, payload('online-store', 'online-store', 'Succeeded'))).toMatchObject({
      status: 503,
      body: { allowed: false, code: 'unrecorded-api-not-found' },
    });
    const served = (await (await fetch(`${g.url}/evidence`)).json()) as { records: { version: string; result: string }[] };
    expect(served.records.map((r) => [r.version, r.result])).toEqual([
      ['7.6.0', 'succeeded'],
      ['7.7.0', 'failed'],
    ]);
  });
});
