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

// Names plugins derive (`<service>-primary`, `restore-drill-<service>`, `redis-<policy>-sentinel`…) are checked by the
// plugins that make them: plugins/flagger, plugins/velero and plugins/session-cache test/policy.test.ts.

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

  it('reads the images versions were verified from, and refuses a malformed list at its line', () => {
    const r = parseLedger('verified/staging.yaml', 'verified:\n  shop: ["1.0.0"]\nimages:\n  shop: ["r/shop", "r2/shop"]\n');
    expect(r.ok && r.value.images).toEqual({ shop: ['r/shop', 'r2/shop'] });
    // Absent: a ledger from before images were recorded (untestedImages tells the two apart).
    const old = parseLedger('verified/staging.yaml', 'verified:\n  shop: ["1.0.0"]\n');
    expect(old.ok && old.value.images).toBeUndefined();
    const bad = parseLedger('verified/staging.yaml', 'verified:\n  shop: ["1.0.0"]\nimages:\n  shop: "r/shop"\n  cart: [""]\nimage: {}\n');
    expect(bad.ok ? [] : bad.diagnostics.map((d) => [d.code, d.field, d.position?.line])).toEqual([
      ['PROMOTE_LEDGER_INVALID', 'image', 6],
      ['PROMOTE_LEDGER_INVALID', 'images.shop', 4],
      ['PROMOTE_LEDGER_INVALID', 'images.cart', 5],
    ]);
  });

  it('refuses a failed version written as a number, which YAML reads as another version', () => {
    // Unquoted, `1.10` is the number 1.1: the failure was kept under "1.1" and 1.10, also verified, passed.
    const r = parseLedger(
      'verified/staging.yaml',
      'verified:\n  shop: ["1.10", "2.0"]\nfailed:\n  shop:\n    1.10: "rolled back in stg01"\n    "2.0": "rolled back"\n  cart: { 2.0: "x" }\n',
    );
    expect(r.ok ? [] : r.diagnostics.map((d) => [d.code, d.field, d.position?.line, d.message, d.hint])).toEqual([
      ['PROMOTE_LEDGER_INVALID', 'failed.shop.1.1', 5, 'failed.shop: the version 1.10 is read as the number 1.1, not as a version', 'quote it: "1.10"'],
      ['PROMOTE_LEDGER_INVALID', 'failed.cart.2', 7, 'failed.cart: the version 2.0 is read as the number 2, not as a version', 'quote it: "2.0"'],
    ]);
  });

  it('is checked like a topology file: a secret or a control character is an error at its line and field, never echoed', () => {
    const token = 'ghp_16C7e42F292c6912E7710c838347Ae178B4a';
    const r = parseLedger(
      'verified/staging.yaml',
      `verified:\n  shop: ["1.0.0"]\nfailed:\n  shop:\n    "1.1.0": "rolled back; GITHUB_TOKEN=${token}"\n    "1.2.0": "rolled back\\u001b[2J in stg01"\n  "ca\\rt": {"2.0.0": "x"}\n`,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'TOPOLOGY_PLAIN_SECRET',
          field: 'failed.shop.1.1.0',
          position: expect.objectContaining({ file: 'verified/staging.yaml', line: 5 }),
        }),
        expect.objectContaining({ code: 'PROMOTE_LEDGER_INVALID', field: 'failed.shop.1.2.0', position: expect.objectContaining({ line: 6 }) }),
        expect.objectContaining({ code: 'PROMOTE_LEDGER_INVALID', field: 'failed', position: expect.objectContaining({ line: 7 }) }),
      ]),
    );
    expect(r.diagnostics.find((d) => d.field === 'failed.shop.1.2.0')?.message).toContain('control character U+001B');
    expect(JSON.stringify(r.diagnostics)).not.toContain(token.slice(4));
  });
});
