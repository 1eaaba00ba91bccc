import { describe, expect, it } from 'vitest';
import { parseLedger, ledgerRefusal } from '../src/index.js';
import { loadTree, valid } from './helpers.js';

describe('services.<name>.workload', () => {
  it('is carried into the resolved service as written', () => {
    const { env, text } = loadTree({
      'env.yaml': valid().replace(
        'social: { kind: social-network,',
        'social: { kind: social-network, workload: { host: social.example.com, replicas: { min: 3, max: 9 }, envFrom: [session-cache], probes: { readiness: /ready } },',
      ),
    });
    expect(text).toBe('');
    expect(env!.services.find((s) => s.name === 'social')!.workload).toEqual({
      host: 'social.example.com',
      replicas: { min: 3, max: 9 },
      envFrom: ['session-cache'],
      probes: { readiness: '/ready' },
    });
  });

  it.each([
    ['a host that is not a DNS name', 'workload: { host: "Shop_Example" }', 'TOPOLOGY_INVALID_VALUE', 'services.social.workload.host'],
    ['min above max', 'workload: { replicas: { min: 5, max: 2 } }', 'TOPOLOGY_INVALID_VALUE', 'services.social.workload.replicas.min'],
    [
      'a quantity Kubernetes cannot parse',
      'workload: { resources: { requests: { cpu: "half" } } }',
      'TOPOLOGY_INVALID_VALUE',
      'services.social.workload.resources.requests.cpu',
    ],
    ['a probe that is not a path', 'workload: { probes: { liveness: healthz } }', 'TOPOLOGY_INVALID_VALUE', 'services.social.workload.probes.liveness'],
    ['a ConfigMap name that is not a DNS label', 'workload: { envFrom: [Session_Cache] }', 'TOPOLOGY_INVALID_NAME', 'services.social.workload.envFrom.0'],
    ['an unknown key', 'workload: { replica: 3 }', 'TOPOLOGY_UNKNOWN_KEY', 'services.social.workload.replica'],
  ])('refuses %s, with its position', (_what, field, code, path) => {
    const { errors } = loadTree({ 'env.yaml': valid().replace('social: { kind: social-network,', `social: { kind: social-network, ${field},`) });
    const e = errors.find((x) => x.code === code && x.field === path);
    expect(e, JSON.stringify(errors)).toBeDefined();
    expect(e!.position).toMatchObject({ file: 'env.yaml', line: expect.any(Number) as number, column: expect.any(Number) as number });
    expect(e!.position!.line).toBeGreaterThan(1);
  });
});

describe('derived names against Kubernetes limits', () => {
  const long = (n: number, prefix = 's') => prefix + 'x'.repeat(n - prefix.length);

  it('refuses a canary service whose Flagger primary name exceeds 63 characters, at the service key', () => {
    const name = long(57);
    const text = valid(
      `policies:\n  canary:\n    c: { interval: 1m, threshold: 5, maxWeight: 50, stepWeight: 10, successRateMin: 99, durationMaxMs: 500 }\n`,
    ).replace('  social: {', `  ${name}: { rollout: canary, policies: { canary: c },`);
    const { errors } = loadTree({ 'env.yaml': text });
    const e = errors.find((x) => x.code === 'TOPOLOGY_NAME_TOO_LONG');
    expect(e?.message).toContain(`"${name}-primary"`);
    expect(e?.message).toContain('Kubernetes allows 63');
    expect(e?.field).toBe(`services.${name}`);
    expect(e?.position?.line).toBe(text.split('\n').findIndex((l) => l.startsWith(`  ${name}:`)) + 1);
  });

  it('refuses a sentinel StatefulSet name over 52 characters at the policy, and accepts exactly 52', () => {
    const policy = (n: string) =>
      valid(`policies:\n  sessionCache:\n    ${n}: { windowSeconds: 60, ttlSeconds: 60, maxMemory: 64mb, replication: sentinel, replicas: 1 }\n`).replace(
        'social: { kind: social-network,',
        `social: { kind: social-network, policies: { sessionCache: ${n} },`,
      );
    const tooLong = long(38, 'p'); // redis-<38>-sentinel = 53
    const r = loadTree({ 'env.yaml': policy(tooLong) });
    expect(r.errors.map((e) => e.code)).toEqual(['TOPOLOGY_NAME_TOO_LONG']);
    expect(r.errors[0]!.message).toContain('Sentinel StatefulSet');
    expect(r.errors[0]!.field).toBe(`policies.sessionCache.${tooLong}`);
    expect(loadTree({ 'env.yaml': policy(long(37, 'p')) }).errors).toEqual([]);
  });

  it('refuses a restore-drill CronJob name over 52 characters on a test stand with drills', () => {
    const name = long(39); // restore-drill-<39> = 53
    const text = valid(
      `policies:\n  backup:\n    b: { full: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 7 }\nplugins:\n  velero: { options: { restoreDrill: { fromEnvironment: production } } }\n`,
      'staging',
    ).replace('  social: {', `  ${name}: { policies: { backup: b },`);
    const { errors } = loadTree({ 'env.yaml': text });
    expect(errors.find((e) => e.code === 'TOPOLOGY_NAME_TOO_LONG')?.message).toContain(`"restore-drill-${name}" (restore-drill CronJob`);
  });
});

describe('the ledger', () => {
  it('reads verified and failed versions, and a failure outweighs a success', () => {
    const r = parseLedger('verified/staging.yaml', 'verified:\n  shop: ["1.0.0", "1.1.0"]\nfailed:\n  shop:\n    "1.1.0": "rolled back in stg01"\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(ledgerRefusal(r.value, 'shop', '1.0.0', 'staging')).toBeUndefined();
    expect(ledgerRefusal(r.value, 'shop', '1.1.0', 'staging')).toEqual({ code: 'failed', reason: 'shop 1.1.0 failed on staging: rolled back in stg01' });
    expect(ledgerRefusal(r.value, 'shop', '2.0.0', 'staging')?.code).toBe('unverified');
  });

  it('reports a malformed entry at its line', () => {
    const r = parseLedger('verified/staging.yaml', 'verified:\n  shop: ["1.0.0"]\nfailed:\n  shop: ["1.1.0"]\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics[0]).toMatchObject({ code: 'PROMOTE_LEDGER_INVALID', field: 'failed.shop', position: { file: 'verified/staging.yaml', line: 4 } });
  });
});
