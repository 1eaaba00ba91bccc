/** Ledger edits are serialized and atomic; hostile ledgers are coded errors. */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatDiagnostic } from '@topoforge/model';
import { promote, readLedger, recordVerified } from '../src/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SERVICES = Array.from({ length: 24 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
function workspace(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'topoforge-ledger-'));
  dirs.push(cwd);
  mkdirSync(join(cwd, 'environments'));
  const common = `regions:
  north: { timeZone: Europe/Oslo, businessUnits: [] }
  south: { timeZone: Europe/Rome, businessUnits: [] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
  s1: { region: south, rotation: 2, cluster: { context: s1 }, backupStorage: { provider: aws, bucket: s1-backups } }
services:
${SERVICES.map((s) => `  ${s}: { kind: telemetry, image: r/${s}, version: "2.0.0" }`).join('\n')}
`;
  writeFileSync(join(cwd, 'environments/staging.yaml'), `kind: Environment\nname: staging\nstage: staging\n${common}`);
  writeFileSync(
    join(cwd, 'environments/production.yaml'),
    `kind: Environment\nname: production\nstage: production\n${common.replaceAll('"2.0.0"', '"1.0.0"')}`,
  );
  return cwd;
}

describe('verify', () => {
  it('three concurrent runs recording 8 entries each lose none of the 24', async () => {
    const cwd = workspace();
    const url = pathToFileURL(join(import.meta.dirname, '../dist/index.js')).href;
    const run = (names: string[]) =>
      new Promise<number>((res) => {
        const script = `import { recordVerified } from ${JSON.stringify(url)};
          for (const s of ${JSON.stringify(names)}) { const r = recordVerified({ environmentsDir: 'environments', env: 'staging', service: s, version: '2.0.0', cwd: ${JSON.stringify(cwd)} }); if (!r.ok) { console.error(JSON.stringify(r.diagnostics)); process.exit(2); } }`;
        spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' }).on('exit', (c) => res(c ?? 1));
      });
    expect(await Promise.all([run(SERVICES.slice(0, 8)), run(SERVICES.slice(8, 16)), run(SERVICES.slice(16))])).toEqual([0, 0, 0]);
    const l = readLedger(join(cwd, 'environments/verified/staging.yaml'));
    expect(l.ok && Object.keys(l.value.verified).sort()).toEqual(SERVICES);
    expect(readdirSync(join(cwd, 'environments/verified'))).toEqual(['staging.yaml']); // no lock or temp file left
    // and promote reads the complete ledger
    const p = promote({ environmentsDir: 'environments', from: 'staging', to: 'production', cwd });
    expect(p.ok && p.value.changes).toHaveLength(24);
  }, 240_000);
});

describe('hostile ledgers are coded errors', () => {
  const bomb = [
    'a: &a [x,x,x,x,x,x,x,x,x]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'verified: {x: [*d,*d,*d,*d,*d,*d,*d,*d,*d]}',
  ].join('\n');
  it.each([
    ['verified: null', 'verified: null\n', '`verified` must map services to lists of versions'],
    ['a cyclic alias', 'verified: &v {svc-00: *v}\n', 'refers to a node that contains it'],
    ['an alias bomb', bomb + '\n', 'aliases expand too far'],
    ['a YAML syntax error', 'verified: {svc-00: [\n', 'PROMOTE_LEDGER_INVALID'],
    ['a control character in a reason', 'failed:\n  svc-00: {"1.0.0": "rolled back\\u001b]0;owned\\u0007"}\n', 'environments/verified/staging.yaml:2:'],
  ])('%s', (_what, content, expected) => {
    const cwd = workspace();
    mkdirSync(join(cwd, 'environments/verified'));
    writeFileSync(join(cwd, 'environments/verified/staging.yaml'), content);
    const r = recordVerified({ environmentsDir: 'environments', env: 'staging', service: 'svc-00', version: '2.0.0', cwd });
    expect(r.ok).toBe(false);
    const text = !r.ok ? r.diagnostics.map(formatDiagnostic).join('\n') : '';
    expect(text).toContain('PROMOTE_LEDGER_INVALID');
    expect(text).toContain(expected);
  });
});

describe('the ledger is checked like a topology file', () => {
  const write = (content: string | Buffer): string => {
    const cwd = workspace();
    mkdirSync(join(cwd, 'environments/verified'));
    writeFileSync(join(cwd, 'environments/verified/staging.yaml'), content);
    return cwd;
  };
  const record = (cwd: string): string => {
    const r = recordVerified({ environmentsDir: 'environments', env: 'staging', service: 'svc-00', version: '2.0.0', cwd });
    expect(r.ok).toBe(false);
    return !r.ok ? r.diagnostics.map(formatDiagnostic).join('\n') : '';
  };

  it('a credential in a failure reason is TOPOLOGY_PLAIN_SECRET at its line and field, never echoed', () => {
    const token = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
    const text = record(write(`verified:\n  svc-00: ["1.0.0"]\nfailed:\n  svc-00: {"1.1.0": "rolled back, alert sent with ${token}"}\n`));
    expect(text).toMatch(/environments\/verified\/staging\.yaml:4:\d+: error TOPOLOGY_PLAIN_SECRET: plain-text secret in failed\.svc-00\.1\.1\.0/);
    expect(text).not.toContain('AbCdEfGh');
  });

  it('bytes that are not UTF-8 are an error at their line, not U+FFFD kept in the ledger', () => {
    const cwd = write(
      Buffer.concat([Buffer.from('verified:\n  svc-00: ["1.0.0"]\nfailed:\n  svc-00: {"1.1.0": "bad '), Buffer.from([0xff]), Buffer.from('"}\n')]),
    );
    // Through the environments (their loader reads the staging ledger) and on its own (readLedger).
    expect(record(cwd)).toMatch(/environments\/verified\/staging\.yaml:4:26: error TOPOLOGY_YAML_SYNTAX: .*is not UTF-8 text/);
    const path = join(cwd, 'environments/verified/staging.yaml');
    const r = readLedger(path);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.diagnostics.map(formatDiagnostic).join('\n')).toContain(`${path}:4:26: error PROMOTE_LEDGER_INVALID: ${path} is not UTF-8 text`);
  });
});
