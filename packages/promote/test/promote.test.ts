import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, loadEnvironments, type Diagnostic, type Result } from '@topoforge/model';
import { audit, promote, readLedger, recordVerified } from '../src/index.js';

const bundled = fileURLToPath(new URL('../../../environments', import.meta.url));
const dirs: string[] = [];
/** A temp copy of the bundled environments; without the ledger unless asked. */
function copy(keepLedger = false): string {
  const d = mkdtempSync(join(tmpdir(), 'topoforge-promote-'));
  dirs.push(d);
  cpSync(bundled, join(d, 'environments'), { recursive: true });
  if (!keepLedger) rmSync(join(d, 'environments', 'verified'), { recursive: true, force: true });
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const read = (cwd: string, f: string) => readFileSync(join(cwd, 'environments', f), 'utf8');
const write = (cwd: string, f: string, t: string) => writeFileSync(join(cwd, 'environments', f), t);
/** What a developer does to start a change: a new version on the test stand. */
const stage = (cwd: string, versions: Record<string, string>) =>
  write(
    cwd,
    'staging.yaml',
    read(cwd, 'staging.yaml') +
      `\nservices:\n${Object.entries(versions)
        .map(([s, v]) => `  ${s}: { version: "${v}" }\n`)
        .join('')}`,
  );
const version = (cwd: string, env: string, service: string) => {
  const r = loadEnvironments(join(cwd, 'environments'));
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.value.find((e) => e.name === env)!.services.find((s) => s.name === service)!.version;
};
const errors = <T>(r: Result<T>): Diagnostic[] => (r.ok ? [] : [...r.diagnostics]);
const text = <T>(r: Result<T>): string => errors(r).map(formatDiagnostic).join('\n');
const verify = (cwd: string, service: string, v: string) => {
  const r = recordVerified({ environmentsDir: 'environments', env: 'staging', service, version: v, cwd });
  if (!r.ok) throw new Error(text(r));
  return r.value;
};
const run = (cwd: string, extra: { services?: string[]; dryRun?: boolean } = {}) =>
  promote({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd, ...extra });

describe('promotion from the test stand', () => {
  it('refuses a version that never passed staging, naming service, version, ledger and where it is set, and writes nothing', () => {
    const cwd = copy();
    stage(cwd, { 'online-store': '7.5.0' });
    const before = read(cwd, 'production.yaml');
    const r = run(cwd);
    expect(r.ok).toBe(false);
    expect(text(r)).toContain('error PROMOTE_NOT_VERIFIED: online-store 7.5.0 never passed staging: it is not in environments/verified/staging.yaml');
    expect(text(r)).toContain('topoforge verify --env staging --service online-store --version 7.5.0');
    expect(errors(r)[0]!.position).toMatchObject({ file: expect.stringMatching(/staging\.yaml$/) });
    expect(read(cwd, 'production.yaml')).toBe(before);
  });

  it('verify records only the version the test stand runs, once, as a one-line change of the ledger', () => {
    const cwd = copy(true);
    stage(cwd, { 'online-store': '7.5.0' });
    const wrong = recordVerified({ environmentsDir: 'environments', env: 'staging', service: 'online-store', version: '7.6.0', cwd });
    expect(errors(wrong)[0]!.message).toBe('staging runs online-store 7.5.0, not 7.6.0');
    const notStand = recordVerified({ environmentsDir: 'environments', env: 'production', service: 'online-store', version: '7.4.2', cwd });
    expect(errors(notStand)[0]!.message).toContain('only staging verifies versions');
    const ledgerBefore = read(cwd, 'verified/staging.yaml');
    expect(verify(cwd, 'online-store', '7.5.0').changed).toBe(true);
    expect(verify(cwd, 'online-store', '7.5.0').changed).toBe(false);
    const a = ledgerBefore.split('\n');
    const b = read(cwd, 'verified/staging.yaml').split('\n');
    expect(b.filter((l, i) => l !== a[i])).toEqual(['  online-store: ["7.4.2", "7.5.0"]']);
    const ledger = readLedger(join(cwd, 'environments/verified/staging.yaml'));
    expect(ledger.ok && ledger.value.verified['online-store']).toEqual(['7.4.2', '7.5.0']);
  });

  it('starts a ledger when there is none', () => {
    const cwd = copy();
    verify(cwd, 'social-web', '1.19.3');
    expect(read(cwd, 'verified/staging.yaml')).toContain('verified:\n  social-web: ["1.19.3"]\n');
  });

  it('carries verified versions into production as a minimal, reviewable change', () => {
    const cwd = copy();
    stage(cwd, { 'online-store': '7.5.0' });
    verify(cwd, 'online-store', '7.5.0');
    const before = read(cwd, 'production.yaml');

    const dry = run(cwd, { dryRun: true });
    expect(dry.ok && dry.value).toMatchObject({ changes: [{ service: 'online-store', from: '7.4.2', to: '7.5.0' }], written: false });
    expect(read(cwd, 'production.yaml')).toBe(before);

    const r = run(cwd);
    if (!r.ok) throw new Error(text(r));
    // Only additions: every line of the file as it was is still there, in place.
    const changed = r.value.patch.split('\n').filter((l) => /^[-+](?![-+]{2})/.test(l));
    expect(changed).toEqual(['+', '+services:', '+  online-store:', '+    version: "7.5.0"']);
    expect(read(cwd, 'production.yaml').startsWith(before)).toBe(true);
    expect(version(cwd, 'production', 'online-store')).toBe('7.5.0');
    expect(version(cwd, 'production', 'telemetry')).toBe(version(cwd, 'staging', 'telemetry'));
    // promoting again changes nothing
    expect(run(cwd)).toMatchObject({ ok: true, value: { changes: [], written: false, patch: '' } });

    // The next release replaces the pinned value in place: one line out, one line in.
    write(cwd, 'staging.yaml', read(cwd, 'staging.yaml').replace('online-store: { version: "7.5.0" }', 'online-store: { version: "7.6.0" }'));
    verify(cwd, 'online-store', '7.6.0');
    const next = run(cwd);
    if (!next.ok) throw new Error(text(next));
    expect(next.value.patch.split('\n').filter((l) => /^[-+](?![-+]{2})/.test(l))).toEqual(['-    version: "7.5.0"', '+    version: "7.6.0"']);
  });

  it('one unverified service blocks a full promotion; --service promotes the verified one alone', () => {
    const cwd = copy();
    stage(cwd, { 'online-store': '7.5.0', 'storefront-web': '3.9.0' });
    verify(cwd, 'storefront-web', '3.9.0');
    const before = read(cwd, 'production.yaml');
    const all = run(cwd);
    expect(errors(all).map((d) => d.message)).toEqual(['online-store 7.5.0 never passed staging: it is not in environments/verified/staging.yaml']);
    expect(read(cwd, 'production.yaml')).toBe(before);
    const refused = run(cwd, { services: ['online-store'] });
    expect(errors(refused)[0]!.code).toBe('PROMOTE_NOT_VERIFIED');
    const one = run(cwd, { services: ['storefront-web'] });
    expect(one.ok && one.value.changes).toEqual([{ service: 'storefront-web', from: '3.8.0', to: '3.9.0' }]);
    expect(version(cwd, 'production', 'storefront-web')).toBe('3.9.0');
    expect(version(cwd, 'production', 'online-store')).toBe('7.4.2');
  });

  it('a service only staging runs is not promoted, is named with why, and blocks nothing; --service for it stays an error', () => {
    const cwd = copy();
    write(
      cwd,
      'staging.yaml',
      read(cwd, 'staging.yaml') +
        '\nservices:\n  search-web: { kind: front-application, image: registry.example.com/commerce/search-web, version: "0.1.0" }\n  storefront-web: { version: "3.9.0" }\n',
    );
    verify(cwd, 'storefront-web', '3.9.0');
    const notPromoted = [{ service: 'search-web', reason: 'only staging runs it; add it to environments/production.yaml to promote it' }];
    const r = run(cwd);
    if (!r.ok) throw new Error(text(r));
    expect(r.value.changes).toEqual([{ service: 'storefront-web', from: '3.8.0', to: '3.9.0' }]);
    expect(r.value.notPromoted).toEqual(notPromoted);
    expect(version(cwd, 'production', 'storefront-web')).toBe('3.9.0');
    expect(read(cwd, 'production.yaml')).not.toContain('search-web');
    // Nothing else to promote: still said, still not an error.
    expect(run(cwd)).toMatchObject({ ok: true, value: { changes: [], notPromoted, written: false } });
    // Asked for by name, it is an error, as before.
    expect(errors(run(cwd, { services: ['search-web'] })).map((d) => d.message)).toEqual(['service "search-web" is not in both staging and production']);
  });

  it('refuses nonsense requests clearly', () => {
    const cwd = copy();
    expect(run(cwd, { services: ['telemetry'] })).toMatchObject({ ok: true, value: { changes: [] } });
    expect(errors(run(cwd, { services: ['nope'] }))[0]!.message).toBe('service "nope" is not in both staging and production');
    expect(errors(promote({ environmentsDir: 'environments', from: 'production', to: 'staging', cwd }))[0]!.message).toContain(
      'promotion starts from the test stand',
    );
    expect(errors(promote({ environmentsDir: 'environments', from: 'staging', to: 'staging', cwd }))[0]!.message).toBe('cannot promote staging into itself');
    expect(errors(promote({ environmentsDir: 'environments', from: 'staging', to: 'prod', cwd }))[0]!.message).toBe('no environment named "prod"');
    expect(existsSync(join(cwd, 'environments/verified'))).toBe(false);
  });

  it('reports a malformed ledger instead of trusting it', () => {
    const cwd = copy(true);
    write(cwd, 'verified/staging.yaml', 'verified:\n  online-store: 7.5.0\n');
    stage(cwd, { 'online-store': '7.5.0' });
    expect(errors(run(cwd)).map((d) => d.code)).toEqual(['PROMOTE_LEDGER_INVALID']);
  });
});

describe('the image goes with the version (the ledger records tags, not where they come from)', () => {
  const moved = 'registry.example.net/commerce/storefront-web';
  const changed = (patch: string) => patch.split('\n').filter((l) => /^[-+](?![-+]{2})/.test(l));

  it('a registry move done on staging first leaves production on the old image; verify records the new one, promote carries it alone', () => {
    const cwd = copy(true);
    write(cwd, 'staging.yaml', read(cwd, 'staging.yaml') + `\nservices:\n  storefront-web: { image: ${moved} }\n`);
    // Production keeps the image staging ran its verified versions from (recorded in the ledger), as it keeps a verified version.
    expect(audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd })).toMatchObject({ ok: true });
    // Not carried before a version from the new image passed staging.
    const early = run(cwd);
    expect(errors(early).map((d) => `${d.code} ${d.field} ${d.position?.file.split('/').pop()}`)).toEqual([
      'PROMOTE_IMAGE_NOT_TESTED services.storefront-web.image staging.yaml',
    ]);
    expect(errors(early)[0]!.hint).toContain('`topoforge verify --env staging --service storefront-web --version 3.8.0` records the image');
    // The staging canary of 3.8.0 from the new image passed: verify records the image (3.8.0 was verified already: listed once).
    const ledgerBefore = read(cwd, 'verified/staging.yaml');
    expect(verify(cwd, 'storefront-web', '3.8.0').changed).toBe(true);
    expect(verify(cwd, 'storefront-web', '3.8.0').changed).toBe(false);
    const a = ledgerBefore.split('\n');
    expect(
      read(cwd, 'verified/staging.yaml')
        .split('\n')
        .filter((l, i) => l !== a[i]),
    ).toEqual([`  storefront-web: ["registry.example.com/commerce/storefront-web", "${moved}"]`]);
    const recorded = readLedger(join(cwd, 'environments/verified/staging.yaml'));
    expect(recorded.ok && [recorded.value.verified['storefront-web'], recorded.value.images?.['storefront-web']]).toEqual([
      ['3.8.0'],
      ['registry.example.com/commerce/storefront-web', moved],
    ]);
    const r = run(cwd);
    if (!r.ok) throw new Error(text(r));
    expect(r.value.changes).toEqual([
      { service: 'storefront-web', from: '3.8.0', to: '3.8.0', image: { from: 'registry.example.com/commerce/storefront-web', to: moved } },
    ]);
    expect(changed(r.value.patch)).toEqual(['+', '+services:', '+  storefront-web:', `+    image: "${moved}"`]);
    expect(audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd })).toMatchObject({ ok: true });
    expect(run(cwd)).toMatchObject({ ok: true, value: { changes: [] } });
    // The next release from there: the version alone, one line.
    write(cwd, 'staging.yaml', read(cwd, 'staging.yaml').replace(`{ image: ${moved} }`, `{ image: ${moved}, version: "3.9.0" }`));
    verify(cwd, 'storefront-web', '3.9.0');
    const next = run(cwd);
    if (!next.ok) throw new Error(text(next));
    expect(changed(next.value.patch)).toEqual(['+    version: "3.9.0"']);
    expect(audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd })).toMatchObject({ ok: true });
  });

  it('carries image and version together as a one-line edit of a pinned entry; an unverified version carries nothing', () => {
    const cwd = copy(true);
    write(cwd, 'production.yaml', read(cwd, 'production.yaml') + '\nservices:\n  storefront-web: { version: "3.8.0" }\n');
    write(cwd, 'staging.yaml', read(cwd, 'staging.yaml') + `\nservices:\n  storefront-web: { image: ${moved}, version: "3.9.0" }\n`);
    const before = read(cwd, 'production.yaml');
    expect(errors(run(cwd)).map((d) => d.code)).toEqual(['PROMOTE_NOT_VERIFIED']);
    expect(read(cwd, 'production.yaml')).toBe(before);
    verify(cwd, 'storefront-web', '3.9.0');
    const r = run(cwd);
    if (!r.ok) throw new Error(text(r));
    expect(changed(r.value.patch)).toEqual(['-  storefront-web: { version: "3.8.0" }', `+  storefront-web: { image: "${moved}", version: "3.9.0" }`]);
    expect(audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd })).toMatchObject({ ok: true });
  });
});

describe('audit: production runs only versions that passed staging', () => {
  it('holds for the bundled environments and their ledger', () => {
    expect(audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd: copy(true) })).toMatchObject({ ok: true });
  });

  it('catches a version bump in base.yaml, which promote cannot see (both environments move at once)', () => {
    const cwd = copy(true);
    write(cwd, 'base.yaml', read(cwd, 'base.yaml').replace('version: "3.8.0"', 'version: "3.9.0"'));
    expect(run(cwd)).toMatchObject({ ok: true, value: { changes: [] } });
    const r = audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd });
    expect(errors(r).map((d) => d.message)).toEqual(['storefront-web 3.9.0 never passed staging (verified/staging.yaml), so production may not run it']);
    expect(errors(r)[0]!.position).toMatchObject({ file: expect.stringMatching(/base\.yaml$/), line: expect.any(Number) });
  });

  it('catches an image production alone sets, though its tag is verified', () => {
    const cwd = copy(true);
    write(cwd, 'production.yaml', read(cwd, 'production.yaml') + '\nservices:\n  storefront-web:\n    image: registry.example.net/unreviewed/storefront-web\n');
    const r = audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd });
    expect(errors(r).map((d) => `${d.code} ${d.field} ${d.position?.file.split('/').pop()}:${d.position?.line}`)).toEqual([
      `PROMOTE_IMAGE_NOT_TESTED services.storefront-web.image production.yaml:${read(cwd, 'production.yaml').split('\n').indexOf('    image: registry.example.net/unreviewed/storefront-web') + 1}`,
    ]);
    expect(errors(r)[0]!.hint).toBe(
      'set it in environments/staging.yaml first; once a version passed there, `topoforge verify` records the image and `topoforge promote --from staging --to production --service storefront-web` carries it here',
    );
  });

  it('catches a hand edit of production.yaml, pointing at that line', () => {
    const cwd = copy(true);
    write(cwd, 'production.yaml', read(cwd, 'production.yaml') + '\nservices:\n  social-web: { version: "1.20.0" }\n');
    const r = audit({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd });
    expect(errors(r).map((d) => `${d.field} ${d.position?.file.split('/').pop()}:${d.position?.line}`)).toEqual([
      `services.social-web.version production.yaml:${read(cwd, 'production.yaml').split('\n').indexOf('  social-web: { version: "1.20.0" }') + 1}`,
    ]);
  });
});
