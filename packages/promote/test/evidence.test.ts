import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, type Result } from '@topoforge/model';
import { audit, promote, readLedger, recordEvidence, recordVerified, type EvidenceRecord } from '../src/index.js';

const bundled = fileURLToPath(new URL('../../../environments', import.meta.url));
const dirs: string[] = [];
function copy(): string {
  const d = mkdtempSync(join(tmpdir(), 'topoforge-evidence-'));
  dirs.push(d);
  cpSync(bundled, join(d, 'environments'), { recursive: true });
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const read = (cwd: string, f: string) => readFileSync(join(cwd, 'environments', f), 'utf8');
const stage = (cwd: string, service: string, v: string) =>
  writeFileSync(join(cwd, 'environments', 'staging.yaml'), read(cwd, 'staging.yaml') + `\nservices:\n  ${service}: { version: "${v}" }\n`);
const text = <T>(r: Result<T>): string => (r.ok ? '' : r.diagnostics.map(formatDiagnostic).join('\n'));
const rec = (dc: string, version: string, result: 'succeeded' | 'failed', service = 'online-store'): EvidenceRecord => ({
  environment: 'staging',
  dc,
  service,
  version,
  result,
  reason: result === 'failed' ? `rolled back by the staging canary analysis in ${dc}` : `promoted by the staging canary analysis in ${dc}`,
});

/** What both staging gates say after their canaries promoted `version` of online-store. */
const promotedInBoth = (cwd: string, version: string) =>
  recordEvidence({ environmentsDir: 'environments', env: 'staging', records: [rec('stg01', version, 'succeeded'), rec('stg02', version, 'succeeded')], cwd });

describe('evidence from the staging gate becomes ledger entries', () => {
  it('verifies a version once every staging DC promoted it; one DC alone leaves it pending', () => {
    const cwd = copy();
    stage(cwd, 'online-store', '7.5.0');
    const one = recordEvidence({ environmentsDir: 'environments', env: 'staging', records: [rec('stg01', '7.5.0', 'succeeded')], cwd });
    expect(text(one)).toBe('');
    expect(one.ok && one.value).toMatchObject({ verified: [], pending: ['online-store 7.5.0 (waiting for stg02)'] });
    const before = read(cwd, 'verified/staging.yaml');
    const both = promotedInBoth(cwd, '7.5.0');
    expect(both.ok && both.value.verified).toEqual(['online-store 7.5.0']);
    // One line changes: the service's list.
    const a = before.split('\n');
    const b = read(cwd, 'verified/staging.yaml').split('\n');
    expect(b.filter((l, i) => l !== a[i])).toEqual(['  online-store: ["7.4.2", "7.5.0"]']);
    const again = promotedInBoth(cwd, '7.5.0');
    expect(again.ok && again.value).toMatchObject({ verified: [], known: ['online-store 7.5.0'] });
  });

  it('records the image staging ran a verified version from, beside the version', () => {
    const cwd = copy();
    const moved = 'registry.example.net/commerce/online-store';
    writeFileSync(
      join(cwd, 'environments', 'staging.yaml'),
      read(cwd, 'staging.yaml') + `\nservices:\n  online-store: { image: ${moved}, version: "7.5.0" }\n`,
    );
    const r = promotedInBoth(cwd, '7.5.0');
    expect(r.ok && r.value.verified).toEqual(['online-store 7.5.0']);
    const ledger = readLedger(join(cwd, 'environments/verified/staging.yaml'));
    expect(ledger.ok && ledger.value.images?.['online-store']).toEqual(['registry.example.com/commerce/online-store', moved]);
  });

  it('marks a rolled-back version failed with the reason; promote and verify then refuse it, saying why', () => {
    const cwd = copy();
    stage(cwd, 'online-store', '7.5.0');
    const r = recordEvidence({
      environmentsDir: 'environments',
      env: 'staging',
      records: [rec('stg01', '7.5.0', 'succeeded'), rec('stg02', '7.5.0', 'failed')],
      cwd,
    });
    expect(r.ok && r.value.failed).toEqual(['online-store 7.5.0']);
    expect(read(cwd, 'verified/staging.yaml')).toContain('failed:\n  online-store:\n    "7.5.0": "rolled back by the staging canary analysis in stg02"\n');
    const ledger = readLedger(join(cwd, 'environments/verified/staging.yaml'));
    expect(ledger.ok && ledger.value.failed['online-store']).toEqual({ '7.5.0': 'rolled back by the staging canary analysis in stg02' });

    const p = promote({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd });
    expect(text(p)).toMatch(
      /^environments\/staging\.yaml:\d+:\d+: error PROMOTE_VERSION_FAILED: online-store 7\.5\.0 failed on staging: rolled back by the staging canary analysis in stg02 \(field services\.online-store\.version\)/,
    );
    const v = recordVerified({ environmentsDir: 'environments', env: 'staging', service: 'online-store', version: '7.5.0', cwd });
    expect(text(v)).toContain('error PROMOTE_VERSION_FAILED: online-store 7.5.0 failed on staging: rolled back by the staging canary analysis in stg02');
    // Even listed as verified by hand, a failed version does not pass the audit.
    writeFileSync(
      join(cwd, 'environments/verified/staging.yaml'),
      read(cwd, 'verified/staging.yaml').replace('online-store: ["7.4.2"]', 'online-store: ["7.4.2", "7.5.0"]'),
    );
    writeFileSync(join(cwd, 'environments/production.yaml'), read(cwd, 'production.yaml') + '\nservices:\n  online-store: { version: "7.5.0" }\n');
    expect(text(audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd }))).toContain(
      'error PROMOTE_VERSION_FAILED: online-store 7.5.0 failed on staging',
    );
  });

  it('refuses evidence from another environment or about a service the test stand does not run', () => {
    const cwd = copy();
    const foreign = recordEvidence({
      environmentsDir: 'environments',
      env: 'staging',
      records: [{ ...rec('dc01', '7.5.0', 'succeeded'), environment: 'production' }],
      cwd,
    });
    expect(text(foreign)).toContain('the evidence comes from production/dc01, not from staging');
    const unknown = recordEvidence({ environmentsDir: 'environments', env: 'staging', records: [rec('stg01', '1.0.0', 'succeeded', 'payments')], cwd });
    expect(text(unknown)).toContain('the evidence names service "payments", which staging does not run');
  });
});
