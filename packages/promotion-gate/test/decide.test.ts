import { describe, expect, it } from 'vitest';
import type { V1Deployment } from '@kubernetes/client-node';
import { decide, parseImage, parsePayload, type DecideContext, type DeploymentRead, type GateConfig } from '../src/index.js';

const config = (mode: 'gate' | 'record'): GateConfig => ({
  mode,
  environment: mode === 'gate' ? 'production' : 'staging',
  dc: mode === 'gate' ? 'dc01' : 'stg01',
  testStand: 'staging',
  ledger: 'environments/verified/staging.yaml',
  canaries: [
    {
      namespace: 'online-store',
      canary: 'online-store',
      service: 'online-store',
      deployment: 'online-store',
      container: 'online-store',
      image: 'registry.example.com/commerce/online-store',
    },
  ],
});
const running = (image: string): DeploymentRead => ({
  ok: true,
  deployment: { spec: { selector: {}, template: { spec: { containers: [{ name: 'online-store', image }] } } } } as V1Deployment,
});
const ctx = (mode: 'gate' | 'record', read: DeploymentRead): DecideContext => ({
  config: config(mode),
  reader: { read: () => Promise.resolve(read) },
  ledger: () => ({
    ok: true,
    ledger: {
      verified: { 'online-store': ['7.4.2', '7.5.0', '7.6.0'] },
      failed: { 'online-store': { '7.6.0': 'rolled back by the staging canary analysis in stg02' } },
    },
  }),
  now: () => new Date('2026-11-25T10:00:00Z'),
});
const p = (phase: string) => {
  const r = parsePayload(
    { name: 'online-store', namespace: 'online-store', phase, checksum: 'c0ffee', metadata: { environment: 'production' } },
    'confirm-rollout',
  );
  if (!r.ok) throw new Error(r.reason);
  return r.value;
};
const repo = 'registry.example.com/commerce/online-store';

describe('production decisions read what the Deployment runs', () => {
  it('allows a verified version and says why', async () => {
    const d = await decide('confirm-rollout', p('Progressing'), ctx('gate', running(`${repo}:7.5.0`)));
    expect(d).toMatchObject({ status: 200, allowed: true, code: 'verified', version: '7.5.0' });
    expect(d.reason).toBe(`deployment online-store/online-store runs ${repo}:7.5.0: online-store 7.5.0 passed staging`);
  });

  it.each([
    [`${repo}:9.9.9`, 'unverified', 'online-store 9.9.9 never passed staging'],
    [`${repo}:7.6.0`, 'failed', 'online-store 7.6.0 failed on staging: rolled back by the staging canary analysis in stg02'],
    ['registry.example.com/other/online-store:7.5.0', 'wrong-repository', 'not an image of registry.example.com/commerce/online-store'],
    [`${repo}:7.5.0@sha256:${'a'.repeat(64)}`, 'digest', 'a digest says nothing about which one'],
    [repo, 'no-tag', 'without a version tag'],
  ])('refuses %s (%s)', async (image, code, reason) => {
    const d = await decide('confirm-promotion', p('Progressing'), ctx('gate', running(image)));
    expect(d).toMatchObject({ status: 403, allowed: false, code });
    expect(d.reason).toContain(reason);
  });

  it('refuses when the API server cannot say, and never rolls back for that reason', async () => {
    const down: DeploymentRead = { ok: false, failure: 'timeout', reason: 'the API server did not answer within 3000 ms' };
    expect(await decide('confirm-rollout', p('Progressing'), ctx('gate', down))).toMatchObject({
      status: 403,
      allowed: false,
      code: 'api-timeout',
      reason: 'cannot tell what online-store/online-store runs: the API server did not answer within 3000 ms',
    });
    expect(await decide('rollback', p('Progressing'), ctx('gate', down))).toMatchObject({ status: 409, allowed: false, code: 'keep-api-timeout' });
  });

  it('asks Flagger to roll back (200) when the running version is no longer verified, not otherwise', async () => {
    expect(await decide('rollback', p('Progressing'), ctx('gate', running(`${repo}:7.6.0`)))).toMatchObject({ status: 200, code: 'rollback-failed' });
    expect(await decide('rollback', p('Progressing'), ctx('gate', running(`${repo}:7.5.0`)))).toMatchObject({ status: 409, code: 'keep' });
  });

  it('refuses a canary it does not know', async () => {
    const other = parsePayload({ name: 'payments', namespace: 'payments', phase: 'Progressing' }, 'confirm-rollout');
    expect(other.ok && (await decide('confirm-rollout', other.value, ctx('gate', running(`${repo}:7.5.0`))))).toMatchObject({
      status: 403,
      code: 'unknown-canary',
    });
  });
});

describe('the test stand records results', () => {
  it('records a promotion and a rollback with the version the Deployment ran', async () => {
    const ok = await decide('post-rollout', p('Succeeded'), ctx('record', running(`${repo}:7.5.0`)));
    expect(ok.evidence).toEqual({
      at: '2026-11-25T10:00:00.000Z',
      environment: 'staging',
      dc: 'stg01',
      namespace: 'online-store',
      canary: 'online-store',
      service: 'online-store',
      version: '7.5.0',
      image: `${repo}:7.5.0`,
      result: 'succeeded',
      phase: 'Succeeded',
      checksum: 'c0ffee',
      reason: 'promoted by the staging canary analysis in stg01',
    });
    const bad = await decide('post-rollout', p('Failed'), ctx('record', running(`${repo}:7.6.0`)));
    expect(bad.evidence).toMatchObject({ version: '7.6.0', result: 'failed', reason: 'rolled back by the staging canary analysis in stg01' });
    expect((await decide('post-rollout', p('Progressing'), ctx('record', running(`${repo}:7.6.0`)))).evidence).toBeUndefined();
    expect(await decide('confirm-rollout', p('Progressing'), ctx('record', running(`${repo}:1.0.0`)))).toMatchObject({ status: 200, code: 'test-stand' });
  });
});

describe('payloads and images', () => {
  it("takes Flagger's payload shape and refuses others", () => {
    expect(parsePayload({ name: 'a', namespace: 'b', phase: 'Progressing', checksum: 'x', metadata: { k: 'v' } }, 'rollback').ok).toBe(true);
    expect(parsePayload({ name: 'a', namespace: 'b', phase: 'Progressing', type: 'rollback' }, 'confirm-rollout')).toEqual({
      ok: false,
      reason: 'payload type "rollback" sent to the confirm-rollout endpoint',
    });
    expect(parsePayload({ name: 'a', phase: 'Progressing' }, 'rollback').ok).toBe(false);
    expect(parsePayload({ name: 'a', namespace: 'b', phase: 'Sideways' }, 'rollback').ok).toBe(false);
    expect(parsePayload({ name: 'a', namespace: 'b', phase: 'Progressing', metadata: { n: 1 } }, 'rollback').ok).toBe(false);
  });

  it('splits registry ports from tags', () => {
    expect(parseImage('registry:5000/team/app:1.2.3')).toEqual({ repository: 'registry:5000/team/app', tag: '1.2.3' });
    expect(parseImage('registry:5000/team/app')).toEqual({ repository: 'registry:5000/team/app' });
    expect(parseImage('app@sha256:ab')).toEqual({ repository: 'app', digest: 'sha256:ab' });
  });
});
