import { describe, expect, it } from 'vitest';
import type { Json } from '../src/objects.js';
import { compareExpr, credentialReason, fieldChanges, humanDuration, parseGoDuration, parsePromDuration, scanObject, scanText } from '../src/index.js';

describe('durations', () => {
  it('parses Go durations as Velero writes them', () => {
    expect(parseGoDuration('168h0m0s')).toBe(168 * 3_600_000);
    expect(parseGoDuration('1h30m')).toBe(90 * 60_000);
    expect(parseGoDuration('1.5h')).toBe(90 * 60_000);
    expect(parseGoDuration('300ms')).toBe(300);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('7d')).toBeUndefined(); // Go has no day unit
    expect(parseGoDuration('h')).toBeUndefined();
  });
  it('parses Prometheus durations', () => {
    expect(parsePromDuration('5m')).toBe(300_000);
    expect(parsePromDuration('1h30m')).toBe(5_400_000);
    expect(parsePromDuration('2d')).toBe(172_800_000);
    expect(parsePromDuration('1.5h')).toBeUndefined();
    expect(humanDuration(parseGoDuration('84h0m0s')!)).toBe('3d 12h');
  });
});

describe('alert expression thresholds', () => {
  const lit = (a: string, b: string) => {
    const c = compareExpr(a, b);
    return c.kind === 'literals' ? c.changes.map((x) => x.direction) : c.kind;
  };
  it('knows the direction of a plain comparison operand, on either side', () => {
    expect(lit('rate(x[5m]) > 5', 'rate(x[5m]) > 10')).toEqual(['looser']);
    expect(lit('rate(x[5m]) > 5', 'rate(x[5m]) > 2')).toEqual(['tighter']);
    expect(lit('ratio < 0.5', 'ratio < 0.3')).toEqual(['looser']);
    expect(lit('0.5 > ratio', '0.3 > ratio')).toEqual(['looser']);
    expect(lit('(a / b) < 0.5 and c > 5', '(a / b) < 0.5 and c > 9')).toEqual(['looser']);
    expect(lit('sum by (svc) (rate(x[5m])) >= 100', 'sum by (svc) (rate(x[5m])) >= 50')).toEqual(['tighter']);
  });
  it('says unknown where a literal is not a plain filter operand', () => {
    expect(lit('histogram_quantile(0.99, rate(h[5m])) > 0.5', 'histogram_quantile(0.9, rate(h[5m])) > 0.5')).toEqual(['unknown']);
    expect(lit('count(x > 5) > 1', 'count(x > 7) > 1')).toEqual(['unknown']);
    expect(lit('x > 5 unless y', 'x > 7 unless y')).toEqual(['unknown']);
    expect(lit('x > bool 5', 'x > bool 7')).toEqual(['unknown']);
    expect(lit('x != 240', 'x != 300')).toEqual(['unknown']);
    expect(lit('x > 5 * 2', 'x > 7 * 2')).toEqual(['unknown']);
    expect(lit('-x < 5', '-x < 7')).toEqual(['unknown']);
  });
  it('separates literal changes from rewrites; durations, label values and comments are not thresholds', () => {
    expect(lit('x{a="1"} > 5', 'x{a="2"} > 5')).toBe('rewritten');
    expect(lit('rate(x[5m]) > 5', 'rate(x[10m]) > 5')).toBe('rewritten');
    expect(lit('x offset 1w > 5', 'x offset 2w > 5')).toBe('rewritten');
    expect(lit('x > 5 # was 4', 'x  >  5 # was 3')).toBe('same');
  });
});

describe('credential detection', () => {
  it('finds credentials by shape and by key, never references or placeholders', () => {
    expect(credentialReason(undefined, 'AKIAIOSFODNN7EXAMPLE')).toBe('looks like an AWS access key id');
    expect(credentialReason(undefined, '-----BEGIN OPENSSH PRIVATE KEY-----\nabc')).toBe('looks like a PEM private key');
    expect(credentialReason('password', 'hunter2!')).toBe('a literal value under "password"');
    expect(credentialReason('clientSecret', 'abc123xyz')).toBeDefined();
    expect(credentialReason('secretName', 'velero-dc01-credentials')).toBeUndefined();
    expect(credentialReason('existingSecret', 'redis-auth')).toBeUndefined();
    expect(credentialReason('passwordFile', '/etc/secret/pw')).toBeUndefined();
    expect(credentialReason('password', '${DB_PASSWORD}')).toBeUndefined();
    expect(credentialReason('key', 'cloud')).toBeUndefined();
  });
  it('reads objects: Secret data is flagged by key names only; credential references pass', () => {
    const secret = scanObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { b: 'eA==', a: 'eQ==' } });
    expect(secret).toEqual([{ where: 'data (a, b)', reason: 'a Secret with its value in plain text (base64 is not encryption)' }]);
    const bsl = scanObject({
      apiVersion: 'velero.io/v1',
      kind: 'BackupStorageLocation',
      metadata: { name: 'x' },
      spec: { credential: { name: 'velero-dc01-credentials', key: 'cloud' } },
    });
    expect(bsl).toEqual([]);
    expect(
      scanObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'api-token': 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' } }),
    ).toEqual([{ where: 'data.api-token', reason: 'looks like a GitHub token' }]);
  });
  it('reads text files line by line', () => {
    expect(scanText('a=1\nexport API_TOKEN=abcd1234\n')).toEqual([{ where: 'line 2', reason: 'a literal credential assignment' }]);
    expect(scanText('const token = config.requireSecret("token");\n')).toEqual([]);
  });
});

describe('field changes', () => {
  it('matches named list entries by name and shows short values', () => {
    const a: Json = {
      spec: {
        metrics: [
          { name: 'a', min: 1 },
          { name: 'b', max: 2 },
        ],
      },
    };
    const b: Json = {
      spec: {
        metrics: [
          { name: 'z', min: 0 },
          { name: 'a', min: 1 },
          { name: 'b', max: 3 },
        ],
      },
    };
    expect(fieldChanges(a, b)).toEqual([
      { path: 'spec.metrics[name=z]', before: '(none)', after: '{"name":"z","min":0}' },
      { path: 'spec.metrics[name=b].max', before: '2', after: '3' },
    ]);
  });
  it('redacts Secret data and credential-looking values', () => {
    const c = fieldChanges({ kind: 'Secret', data: { pw: 'YQ==' } }, { kind: 'Secret', data: { pw: 'Yg==' } }, new Set(['data']));
    expect(c).toEqual([{ path: 'data.pw', before: '(redacted)', after: '(redacted)' }]);
    expect(fieldChanges({ spec: { password: 'old-pass-1' } }, { spec: { password: 'new-pass-2' } })).toEqual([
      { path: 'spec.password', before: '(redacted)', after: '(redacted)' },
    ]);
  });
});
