import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, loadEnvironments } from '@topoforge/model';
import { promote, readLedger, recordVerified } from '../src/index.js';

const bundled = fileURLToPath(new URL('../../../environments', import.meta.url));
const dirs: string[] = [];
function copy(): string {
  const d = mkdtempSync(join(tmpdir(), 'topoforge-promote-'));
  dirs.push(d);
  cpSync(bundled, join(d, 'environments'), { recursive: true });
  rmSync(join(d, 'environments', 'verified'), { recursive: true, force: true });
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const setStagingVersion = (cwd: string, service: string, version: string) => {
  const p = join(cwd, 'environments/staging.yaml');
  writeFileSync(p, readFileSync(p, 'utf8') + `\nservices:\n  ${service}: { version: "${version}" }\n`);
};
const version = (cwd: string, env: string, service: string) => {
  const r = loadEnvironments(join(cwd, 'environments'));
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.value.find((e) => e.name === env)!.services.find((s) => s.name === service)!.version;
};

describe('promotion from the test stand', () => {
  it('refuses a version that never passed staging, naming service, version and ledger, and writes nothing', () => {
    const cwd = copy();
    setStagingVersion(cwd, 'online-store', '7.5.0');
    const before = readFileSync(join(cwd, 'environments/production.yaml'), 'utf8');
    const r = promote({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd });
    expect(r.ok).toBe(false);
    const text = !r.ok ? r.diagnostics.map(formatDiagnostic).join('\n') : '';
    expect(text).toContain('error PROMOTE_NOT_VERIFIED: online-store 7.5.0 never passed staging: it is not in environments/verified/staging.yaml');
    expect(text).toContain('topoforge verify --env staging --service online-store --version 7.5.0');
    expect(readFileSync(join(cwd, 'environments/production.yaml'), 'utf8')).toBe(before);
  });

  it('verify records only the version the test stand runs, once', () => {
    const cwd = copy();
    setStagingVersion(cwd, 'online-store', '7.5.0');
    const wrong = recordVerified({ environmentsDir: 'environments', env: 'staging', service: 'online-store', version: '7.6.0', cwd });
    expect(!wrong.ok && wrong.diagnostics[0]!.message).toBe('staging runs online-store 7.5.0, not 7.6.0');
    const notStand = recordVerified({ environmentsDir: 'environments', env: 'production', service: 'online-store', version: '7.4.2', cwd });
    expect(!notStand.ok && notStand.diagnostics[0]!.message).toContain('only staging verifies versions');
    expect(recordVerified({ environmentsDir: 'environments', env: 'staging', service: 'online-store', version: '7.5.0', cwd })).toMatchObject({ ok: true, value: { changed: true } });
    expect(recordVerified({ environmentsDir: 'environments', env: 'staging', service: 'online-store', version: '7.5.0', cwd })).toMatchObject({ ok: true, value: { changed: false } });
    const ledger = readLedger(join(cwd, 'environments/verified/staging.yaml'));
    expect(ledger.ok && ledger.value.verified).toEqual({ 'online-store': ['7.5.0'] });
  });

  it('carries verified versions into production as a reviewable change, keeping comments', () => {
    const cwd = copy();
    setStagingVersion(cwd, 'online-store', '7.5.0');
    recordVerified({ environmentsDir: 'environments', env: 'staging', service: 'online-store', version: '7.5.0', cwd });
    const dry = promote({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd, dryRun: true });
    expect(dry.ok && dry.value).toMatchObject({ changes: [{ service: 'online-store', from: '7.4.2', to: '7.5.0' }], written: false });
    expect(version(cwd, 'production', 'online-store')).toBe('7.4.2');
    const r = promote({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd });
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    expect(r.value.patch).toContain('+services:\n+  online-store:\n+    version: "7.5.0"');
    expect(version(cwd, 'production', 'online-store')).toBe('7.5.0');
    expect(version(cwd, 'production', 'telemetry')).toBe(version(cwd, 'staging', 'telemetry'));
    const text = readFileSync(join(cwd, 'environments/production.yaml'), 'utf8');
    expect(text).toContain('# Production: 10 DCs in 7 regions');
    // promoting again changes nothing
    expect(promote({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd })).toMatchObject({ ok: true, value: { changes: [], written: false } });
  });

  it('promotes only the services asked for, and rejects promoting from production', () => {
    const cwd = copy();
    setStagingVersion(cwd, 'online-store', '7.5.0');
    expect(promote({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd, services: ['telemetry'] })).toMatchObject({ ok: true, value: { changes: [] } });
    const r = promote({ environmentsDir: 'environments', from: 'production', to: 'staging', cwd });
    expect(!r.ok && r.diagnostics[0]!.message).toContain('promotion starts from the test stand');
    expect(existsSync(join(cwd, 'environments/verified'))).toBe(false);
  });
});
