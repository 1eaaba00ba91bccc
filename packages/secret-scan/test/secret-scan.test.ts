import { describe, expect, it } from 'vitest';
import { credentialKey, credentialReason, credentialReasonUnfiltered, entropy, redactSecrets, scanObject, scanText, scanValue } from '../src/index.js';
import { SECRETS } from './fixtures.js';

/** The distinctive part of a secret, which must never survive redaction. */
const core = (v: string): string =>
  v.includes('PRIVATE KEY') ? 'MIIE' : v.includes('://') ? (v.match(/:([^:@/]+)@/)?.[1] ?? v.split('=').at(-1)!) : v.includes('api_key="') ? 'k3yV4lu3' : v;

describe('every class of secret is found', () => {
  it.each(SECRETS.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    expect(credentialReason(s.key, s.value)).toBeDefined();
    expect(scanValue({ spec: { [s.key]: s.value } })).toEqual([expect.objectContaining({ where: `spec.${s.key}`, segments: ['spec', s.key] })]);
    expect(scanObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { [s.key]: s.value } }).length).toBe(1);
  });

  it.each(
    SECRETS.filter((s) => !['literal password', 'high-entropy signing key', 'token in a selector', 'AWS secret access key'].includes(s.name)).map(
      (s) => [s.name, s] as const,
    ),
  )('%s is found in free text and redacted from it', (_n, s) => {
    expect(scanText(`first line\nvalue: ${s.value}\n`).length).toBeGreaterThan(0);
    const red = redactSecrets(`error: cannot use ${s.value} here`);
    expect(red).toContain('[redacted]');
    expect(red).not.toContain(core(s.value));
  });
});

describe('where a finding is', () => {
  it('names each finding by its own path, after nested objects and arrays, and across scans', () => {
    const value = {
      spec: {
        containers: [{ name: 'api', env: [{ name: 'A', value: 'plain' }], args: ['--password=hunter2hunter2'] }],
        password: 'hunter2hunter2',
        nested: { deeper: { token: 's3cr3tValue9' } },
      },
      AKIAIOSFODNN7EXAMPLE: 'a key named like a key id',
    };
    const found = scanValue(value).map((f) => [f.where, f.segments]);
    expect(found).toEqual([
      ['spec.containers[0].args[0]', ['spec', 'containers', 0, 'args', 0]],
      ['spec.password', ['spec', 'password']],
      ['spec.nested.deeper.token', ['spec', 'nested', 'deeper', 'token']],
      ['(a key)', ['AKIAIOSFODNN7EXAMPLE']],
    ]);
    // A scan begun inside another (a getter the walk reads scans too) leaves the outer one's paths as they were.
    const nesting = {
      spec: {
        a: {
          get b() {
            expect(scanValue({ inner: { password: 'hunter2hunter2' } }).map((f) => [f.where, f.segments])).toEqual([['inner.password', ['inner', 'password']]]);
            return 'x';
          },
          password: 'hunter2hunter2',
        },
      },
    };
    expect(scanValue(nesting).map((f) => [f.where, f.segments])).toEqual([['spec.a.password', ['spec', 'a', 'password']]]);
    // A second scan starts from the root again.
    expect(scanValue({ stringData: { password: 'hunter2hunter2' } }).map((f) => f.where)).toEqual(['stringData.password']);
  });

  it('judges each value by the key it is under: a list by its own key, a nested value by its nearest', () => {
    const value = {
      spec: {
        password: ['hunter2hunter2', { name: 'hunter2hunter2' }],
        names: ['hunter2hunter2'],
        auth: { password: 'hunter2hunter2', user: 'hunter2hunter2' },
        hmac: ['Zq8vT1xK4mR7pL2sW9yB3nF6'],
      },
    };
    expect(scanValue(value).map((f) => f.where)).toEqual(['spec.password[0]', 'spec.auth.password', 'spec.hmac[0]']);
  });
});

describe('what is not a secret', () => {
  it.each([
    ['secretName', 'velero-dc01-credentials'],
    ['existingSecret', 'redis-auth'],
    ['passwordFile', '/etc/secret/pw'],
    ['password', '${DB_PASSWORD}'],
    ['key', 'cloud'],
    ['image', 'registry.example.com/shop@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    ['expr', 'sum(rate(http_requests_total{service="online-store"}[5m])) < 0.5'],
    ['url', 'http://flagger-loadtester.test/'],
    ['s3Url', 'https://minio.internal:9000'],
    ['cacheKey', 'session-cache-last-4-minutes'],
  ])('%s: %s', (key, value) => {
    expect(credentialReason(key, value)).toBeUndefined();
    expect(redactSecrets(value)).toBe(value);
  });

  it('measures entropy', () => {
    expect(entropy('aaaa')).toBe(0);
    expect(entropy('abcd')).toBe(2);
  });
});

describe('credential keys', () => {
  it('a key naming a credential or key material is one; a reference to one, or a plain name, is not', () => {
    expect(['password', 'apiToken', 'signingKey', 'credentialSecret', 'client_secret', 'key'].filter((k) => !credentialKey(k))).toEqual([]);
    expect(['secretName', 'tokenFile', 'passwordRef', 'name', 'region', 'timeZone', 'windowSeconds'].filter(credentialKey)).toEqual([]);
  });
});

describe('redaction', () => {
  it('removes URL credentials, even a token used as the user name, and keeps the rest', () => {
    expect(redactSecrets('cannot clone https://x-access-token:ghs_abc@github.com/acme/gitops.git: denied')).toBe(
      'cannot clone https://[redacted]@github.com/acme/gitops.git: denied',
    );
    expect(redactSecrets('push to https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/a/b')).toBe('push to https://[redacted]@github.com/a/b');
    expect(redactSecrets('git@github.com:acme/gitops.git')).toBe('git@github.com:acme/gitops.git');
  });
  it('redacts a whole PEM block and assignments, not just their first line', () => {
    const t = redactSecrets(
      'key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\nPASSWORD=hunter2hunter2 next',
    );
    expect(t).toBe('key:\n[redacted]\nPASSWORD=[redacted] next');
  });
});

describe('printed diagnostics stay readable', () => {
  it('an error code followed by a colon is not an assignment', () => {
    const line = 'env.yaml:3:5: error TOPOLOGY_PLAIN_SECRET: plain-text secret in services.x.image: looks like a GitHub token';
    expect(redactSecrets(line)).toBe(line);
  });
});

describe('the prefilters never hide a finding', () => {
  // Values made of fragments of every class of secret, of near-misses and of plain text, in
  // seeded random combinations: the filtered scan must say exactly what the unfiltered one says.
  const fragments = [
    ...SECRETS.map((s) => s.value),
    ...SECRETS.map((s) => s.value.slice(0, Math.ceil(s.value.length / 2))),
    'password=',
    'PASSWORD: ',
    'api-key="',
    'Client_Secret=',
    'token: ',
    '?sig=',
    '&X-Amz-Signature=',
    ';code=',
    'postgres://u:',
    '@db',
    'akia',
    'AKIA',
    'ghp_',
    'sk_live_',
    'eyJ',
    '.eyJ',
    'ya29.',
    '"type": "service_account"',
    '"private_key"',
    'q8Zr2Lx0Vb7Nw4Ty6Ud1Sg9Kf3Hj5Mp',
    '0123456789abcdef0123456789abcdef',
    '${VAR}',
    '{{ .x }}',
    '<set me>',
    'changeme',
    '/etc/secret/pw',
    ' ',
    ',',
    '"',
    "'",
    '\n',
    'registry.example.com/shop:1.2.3',
    'sum(rate(x[5m]))',
    'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  ];
  const keys = [undefined, 'password', 'apiKey', 'secretName', 'signingKey', 'auth', 'hmacSalt', 'expr', 'url', 'image', 'passwordFile', 'name', 'TOKEN'];
  let seed = 0x2f6b7a1;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  it('agrees with credentialReasonUnfiltered on 20,000 generated values', () => {
    let found = 0;
    for (let i = 0; i < 20_000; i++) {
      const parts = Array.from({ length: 1 + rand(4) }, () => fragments[rand(fragments.length)]!);
      const value = parts.join('');
      const key = keys[rand(keys.length)];
      const expected = credentialReasonUnfiltered(key, value);
      if (expected) found++;
      expect(credentialReason(key, value), `${String(key)}: ${JSON.stringify(value)}`).toBe(expected);
    }
    // The corpus exercises both outcomes (a filter that hid everything would fail above).
    expect(found).toBeGreaterThan(5_000);
    expect(found).toBeLessThan(20_000);
  });
});
