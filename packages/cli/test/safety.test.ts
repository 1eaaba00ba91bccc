/**
 * Through the real CLI and real plugins: secrets are refused and never printed, derived
 * names that collide are errors, unsafe outputs are refused — exit 2, nothing written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/index.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const dirs: string[] = [];

/** A temporary copy of the bundled environments (removed after the tests). */
function bundledCopy(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `topoforge-cli-${prefix}-`));
  dirs.push(d);
  cpSync(join(repo, 'environments'), join(d, 'environments'), { recursive: true });
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function ws(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'topoforge-cli-safety-'));
  dirs.push(d);
  mkdirSync(join(d, 'environments'));
  for (const [n, c] of Object.entries(files)) writeFileSync(join(d, 'environments', n), c);
  return d;
}
async function cli(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { cwd, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const env = (config: string, selector = '') => `kind: Environment
name: alpha
stage: staging
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [] }
dataCenters:
  n1:
    region: north
    rotation: 1
    cluster: { context: n1 }
    backupStorage:
      provider: aws
      bucket: n1-backups
      config: ${config}
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0"${selector ? `, traffic: { metric: http_requests_total, selector: ${selector} }` : ''} }
plugins:
  namespaces: {}
`;

// One of every class (fake values of real shapes), as a user might paste them.
const SECRETS: readonly (readonly [string, string, string])[] = [
  [
    'PEM private key',
    'caCert',
    '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n',
  ],
  ['AWS access key id', 'region', 'AKIAIOSFODNN7EXAMPLE'],
  ['AWS secret access key', 'secretAccessKey', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['GitHub token', 'profile', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
  ['Slack token', 'note', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
  ['Slack webhook', 'notify', 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'],
  ['Google API key', 'endpoint', 'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe'],
  ['JSON Web Token', 'header', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
  ['URL with a password', 's3Url', 'https://backup:s3cr3t-Passw0rd@minio.internal:9000'],
  ['URL with a query token', 's3Url', 'https://minio.internal:9000/?access_token=Zm9vYmFyYmF6cXV4MTIz'],
  ['literal password', 'password', 'hunter2hunter2'],
  ['high-entropy key', 'signingKey', 'q8Zr2Lx0Vb7Nw4Ty6Ud1Sg9Kf3Hj5Mp'],
  ['GCP service account key', 'serviceAccount', '{"type": "service_account", "private_key_id": "0123456789abcdef0123", "private_key": "x"}'],
];
const core = (v: string): string =>
  v.includes('PRIVATE KEY-----')
    ? 'MHcCAQEEIIrYSSNQ'
    : v.includes('@')
      ? 's3cr3t-Passw0rd'
      : v.includes('access_token')
        ? 'Zm9vYmFyYmF6cXV4MTIz'
        : v.includes('private_key_id')
          ? '0123456789abcdef0123'
          : v;

describe('plain-text secrets in the model', () => {
  it.each(SECRETS)('%s is refused (exit 2, field named, nothing written, never printed)', async (_what, key, value) => {
    const cwd = ws({ 'a.yaml': env(`{ ${key}: ${JSON.stringify(value)} }`) });
    const r = await cli(cwd, 'render');
    expect(r.code).toBe(2);
    expect(r.err).toContain('error TOPOLOGY_PLAIN_SECRET');
    expect(r.err).toContain(`field dataCenters.n1.backupStorage.config.${key}`);
    expect(r.err).toContain('backupStorage.credentialSecret');
    expect(r.out + r.err).not.toContain(core(value));
    expect(existsSync(join(cwd, 'out'))).toBe(false);
  });

  it('a token in a traffic selector is refused too', async () => {
    const cwd = ws({ 'a.yaml': env('{ region: eu-west-1 }', '{ service: shop, api_key: "k3yV4lu3-for-the-api" }') });
    const r = await cli(cwd, 'render');
    expect(r.code).toBe(2);
    expect(r.err).toContain('field services.shop.traffic.selector.api_key');
    expect(r.err).not.toContain('k3yV4lu3');
  });

  it('a value that breaks the schema is not echoed when it looks like a credential', async () => {
    const cwd = ws({ 'a.yaml': env('{ region: eu-west-1 }').replace('version: "1.0.0"', 'version: "ghp_16C7e42F292c6912E7710c838347Ae178B4a x"') });
    const r = await cli(cwd, 'render');
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('ghp_16C7');
  });

  it('a value that breaks the schema under a credential key is never echoed, whatever its shape', async () => {
    const values = ['wJalrXUtnFEMIK7MDENGbPxRfiCY', 'hunter2xyz', '12345678', 'k3y-4242-x'];
    const cwd = ws({
      'a.yaml': env(`{ region: eu-west-1 }\n      credentialSecret: ${values[0]}`).replace(
        'north: { timeZone: Europe/Oslo, businessUnits: [] }',
        `north: { timeZone: Europe/Oslo, businessUnits: [] }\n  password: ${values[1]}\n  apiToken: ${values[2]}\n  signingKey: ${values[3]}`,
      ),
    });
    const r = await cli(cwd, 'render');
    expect(r.code).toBe(2);
    for (const field of ['dataCenters.n1.backupStorage.credentialSecret', 'regions.password', 'regions.apiToken', 'regions.signingKey']) {
      expect(r.err).toMatch(
        new RegExp(`error TOPOLOGY_INVALID_VALUE: ${field.replace(/\./g, '\\.')} must be object \\(field ${field.replace(/\./g, '\\.')}\\)`),
      );
    }
    for (const v of values) expect(r.out + r.err).not.toContain(v);
  });
});

describe('names that collide after derivation (real plugins)', () => {
  const bundled = (extraStaging: string): string => {
    const d = bundledCopy('names');
    writeFileSync(join(d, 'environments/staging.yaml'), readFileSync(join(d, 'environments/staging.yaml'), 'utf8') + extraStaging);
    return d;
  };

  it('a service named session-cache collides with the session cache platform namespace', async () => {
    const cwd = bundled('\nservices:\n  session-cache: { kind: telemetry, image: r/sc, version: "1.0.0" }\n');
    const r = await cli(cwd, 'render', '--env', 'staging');
    expect(r.code).toBe(2);
    // Found by the plugin's check, at the service's line, before anything is rendered.
    expect(r.err).toMatch(
      /environments\/staging\.yaml:\d+:3: error TOPOLOGY_NAME_COLLISION: \[plugin session-cache\] service "session-cache" would run in namespace "session-cache", which the session cache uses/,
    );
    expect(existsSync(join(cwd, 'out'))).toBe(false);
  });

  it('a staging service named drill-warehouse collides with the restore drill of warehouse', async () => {
    const cwd = bundled('\nservices:\n  drill-warehouse: { kind: telemetry, image: r/dw, version: "1.0.0" }\n');
    const r = await cli(cwd, 'render');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /environments\/staging\.yaml:\d+:3: error TOPOLOGY_NAME_COLLISION: service "drill-warehouse" runs in namespace "drill-warehouse", which the restore drill of "warehouse" deletes/,
    );
  });
});

describe('unsafe outputs through the CLI', () => {
  it('--out / and --out . in a repository are refused; render --adopt replaces a foreign directory', async () => {
    const cwd = ws({ 'a.yaml': env('{ region: eu-west-1 }') });
    mkdirSync(join(cwd, '.git'));
    expect(await cli(cwd, 'render', '--out', '/')).toMatchObject({ code: 2, err: expect.stringContaining('RENDER_UNSAFE_OUTPUT') });
    expect(await cli(cwd, 'render', '--out', '.')).toMatchObject({ code: 2, err: expect.stringContaining('it is a repository root') });
    mkdirSync(join(cwd, 'out/alpha'), { recursive: true });
    writeFileSync(join(cwd, 'out/alpha/mine.txt'), 'mine');
    const refused = await cli(cwd, 'render');
    expect(refused).toMatchObject({ code: 2, err: expect.stringContaining('RENDER_FOREIGN_CONTENT') });
    expect(refused.err).toContain('--adopt');
    expect(await cli(cwd, 'render', '--adopt')).toMatchObject({ code: 0 });
    expect(existsSync(join(cwd, 'out/alpha/mine.txt'))).toBe(false);
    writeFileSync(join(cwd, 'file'), 'x');
    expect(await cli(cwd, 'check', '--out', 'file')).toMatchObject({ code: 2, err: expect.stringContaining('RENDER_OUTPUT_INVALID') });
  });
});

describe('plugin options that name a namespace (real plugins)', () => {
  it('are DNS-1123 labels: PLUGIN_INVALID_OPTIONS at the option, not a path error per DC', async () => {
    const d = bundledCopy('options');
    const base = join(d, 'environments/base.yaml');
    const text = readFileSync(base, 'utf8');
    const broken = text
      .replace('  velero: { options: { alerts: { ruleLabels: { release: kube-prometheus-stack } } } }', '  velero: { options: { namespace: Velero } }')
      .replace(
        '  flagger: { options: { monitoring: { ruleLabels: { release: kube-prometheus-stack } } } }',
        '  flagger: { options: { namespace: "Flagger System", gate: { namespace: ".." } } }',
      )
      .replace('      orchestrator: {', '      namespace: "../x"\n      orchestrator: { namespace: -platform,');
    expect(broken.split('\n').length).toBe(text.split('\n').length + 1);
    writeFileSync(base, broken);
    const r = await cli(d, 'render');
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('PLUGIN_PATH_ESCAPE');
    for (const [plugin, option, got] of [
      ['velero', 'namespace', 'Velero'],
      ['flagger', 'namespace', 'Flagger System'],
      ['flagger', 'gate.namespace', '..'],
      ['traffic-alerts', 'namespace', '../x'],
      ['traffic-alerts', 'orchestrator.namespace', '-platform'],
    ] as const) {
      const field = `plugins.${plugin}.options.${option}`;
      expect(r.err).toContain(`error PLUGIN_INVALID_OPTIONS: [plugin ${plugin}] ${field} must match pattern`);
      expect(r.err).toMatch(
        new RegExp(
          `environments/base\\.yaml:\\d+:\\d+: error PLUGIN_INVALID_OPTIONS: .*\\(got ${JSON.stringify(got).replace(/\./g, '\\.')}\\) \\(field ${field.replace(/\./g, '\\.')}\\)`,
        ),
      );
    }
    expect(existsSync(join(d, 'out'))).toBe(false);
  });
});

describe('numbers that end up in int32 fields or settings (real plugins)', () => {
  it('have a maximum: 1e308 is an error at the field, not "1e+308" in the output', async () => {
    const d = bundledCopy('numbers');
    const base = join(d, 'environments/base.yaml');
    const text = readFileSync(base, 'utf8');
    const render = async (t: string) => {
      writeFileSync(base, t);
      const r = await cli(d, 'render');
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      return r.err;
    };
    const at = (code: string, plugin: string, field: string) =>
      new RegExp(`environments/base\\.yaml:\\d+:\\d+: error ${code}: \\[plugin ${plugin}\\] ${field.replace(/\./g, '\\.')} must be <= \\d+`);
    // Options are checked before policies: one render each.
    const options = await render(
      text
        .replace(
          '  flagger: { options: { monitoring: { ruleLabels: { release: kube-prometheus-stack } } } }',
          '  flagger: { options: { progressDeadlineSeconds: 1e308, autoscaler: { maxReplicas: 1e10 }, gate: { replicas: 3000000000 } } }',
        )
        .replace('  session-cache: {}', '  session-cache: { options: { sentinelReplicas: 1e21 } }')
        .replace('      orchestrator: {', '      gslb: { dnsTtlSeconds: 1e300, weight: 1e25 }\n      orchestrator: {'),
    );
    for (const [plugin, field] of [
      ['flagger', 'progressDeadlineSeconds'],
      ['flagger', 'autoscaler.maxReplicas'],
      ['flagger', 'gate.replicas'],
      ['session-cache', 'sentinelReplicas'],
      ['traffic-alerts', 'gslb.dnsTtlSeconds'],
      ['traffic-alerts', 'gslb.weight'],
    ] as const) {
      expect(options).toMatch(at('PLUGIN_INVALID_OPTIONS', plugin, `plugins.${plugin}.options.${field}`));
    }
    const policies = await render(text.replace('      windowSeconds: 240\n      ttlSeconds: 240', '      windowSeconds: 1e308\n      ttlSeconds: 1e21'));
    for (const field of ['windowSeconds', 'ttlSeconds']) {
      expect(policies).toMatch(at('TOPOLOGY_INVALID_VALUE', 'session-cache', `policies.sessionCache.last-4-minutes.${field}`));
    }
    expect(existsSync(join(d, 'out'))).toBe(false);
  });
});

/** Every file under `dir` with its content: what a failed render must leave exactly as it was. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = readFileSync(join(d, e.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

describe('model values that end up in names, paths, scripts and argv (real plugins)', () => {
  it('have the pattern of where they go: an error at file:line and field, exit 2, the output unchanged', async () => {
    const d = bundledCopy('values');
    expect((await cli(d, 'render')).code).toBe(0);
    const before = tree(join(d, 'out'));
    const write = (file: string, edit: (t: string) => string): void => {
      const p = join(d, 'environments', file);
      const t = readFileSync(p, 'utf8');
      const e = edit(t);
      expect(e).not.toBe(t);
      writeFileSync(p, e);
    };
    write('base.yaml', (t) => t.replace('database: { engine: postgresql, name: store,', `database: { engine: postgresql, name: "store; rm -rf /",`));
    write('production.yaml', (t) =>
      t
        .replace('cluster: { context: prod-dc01 }', 'cluster: { context: "prod dc01" }')
        .replace('bucket: commerce-prod-dc02-backups', 'bucket: "commerce/prod"')
        .replace('credentialSecret: { name: velero-dc03-credentials, key: cloud }', 'credentialSecret: { name: "../velero", key: "a b" }')
        .replace(
          'backupStorage: { provider: aws, bucket: commerce-prod-dc04-backups',
          'backupStorage: { provider: "aws $(id)", bucket: commerce-prod-dc04-backups',
        ),
    );
    const r = await cli(d, 'render');
    expect(r.code).toBe(2);
    for (const [file, field] of [
      ['base', 'services.online-store.database.name'],
      ['production', 'dataCenters.dc01.cluster.context'],
      ['production', 'dataCenters.dc02.backupStorage.bucket'],
      ['production', 'dataCenters.dc03.backupStorage.credentialSecret.name'],
      ['production', 'dataCenters.dc03.backupStorage.credentialSecret.key'],
      ['production', 'dataCenters.dc04.backupStorage.provider'],
    ] as const)
      expect(r.err).toMatch(
        new RegExp(
          `environments/${file}\\.yaml:\\d+:\\d+: error TOPOLOGY_INVALID_VALUE: ${field.replace(/\./g, '\\.')} must match pattern .*\\(field ${field.replace(/\./g, '\\.')}\\)`,
        ),
      );
    expect(tree(join(d, 'out'))).toEqual(before);
  });
});

describe('services in a namespace topoforge does not own (real plugins)', () => {
  const workspace = (): string => bundledCopy('owned');
  const edit = (d: string, file: string, f: (t: string) => string): void => {
    const p = join(d, 'environments', file);
    const t = readFileSync(p, 'utf8');
    expect(f(t)).not.toBe(t);
    writeFileSync(p, f(t));
  };
  const at = (plugin: string, service: string, ns: string, field: string) =>
    new RegExp(
      `environments/staging\\.yaml:\\d+:\\d+: error TOPOLOGY_NAME_COLLISION: \\[plugin ${plugin}\\] service "${service}" would run in namespace "${ns}", which .* \\(field ${field.replace(/\./g, '\\.')}\\)`,
    );

  it("a plugin's namespace, as configured: an error at the service, exit 2, the output unchanged", async () => {
    const d = workspace();
    expect((await cli(d, 'render')).code).toBe(0);
    const before = tree(join(d, 'out'));
    edit(d, 'staging.yaml', (t) =>
      t.concat(
        '\nservices:\n',
        '  velero: { kind: telemetry, image: r/v, version: "1.0.0" }\n',
        '  monitoring: { kind: telemetry, image: r/m, version: "1.0.0" }\n',
        '  platform: { kind: telemetry, image: r/p, version: "1.0.0" }\n',
        '  shop: { kind: telemetry, image: r/s, version: "1.0.0", namespace: flagger-system }\n',
        '  cart: { kind: telemetry, image: r/c, version: "1.0.0", namespace: session-cache }\n',
      ),
    );
    const r = await cli(d, 'render');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(at('velero', 'velero', 'velero', 'services.velero'));
    expect(r.err).toMatch(at('traffic-alerts', 'monitoring', 'monitoring', 'services.monitoring'));
    expect(r.err).toMatch(at('traffic-alerts', 'platform', 'platform', 'services.platform'));
    expect(r.err).toMatch(at('flagger', 'platform', 'platform', 'services.platform'));
    expect(r.err).toMatch(at('flagger', 'shop', 'flagger-system', 'services.shop.namespace'));
    // A namespace the plugin fixes: no option to name in the hint.
    expect(r.err).toMatch(at('session-cache', 'cart', 'session-cache', 'services.cart.namespace'));
    expect(r.err).toMatch(/which the session cache uses: topoforge .*\n.*hint: set another namespace\n/);
    expect(r.err).toContain('plugins.velero.options.namespace');
    expect(tree(join(d, 'out'))).toEqual(before);

    // The check follows the option: with Velero in backup-system, "velero" is a name like any other.
    edit(d, 'base.yaml', (t) =>
      t.replace('  velero: { options: { alerts: { ruleLabels: { release: kube-prometheus-stack } } } }', '  velero: { options: { namespace: backup-system } }'),
    );
    edit(d, 'staging.yaml', (t) =>
      t.replace('  velero: { kind: telemetry, image: r/v, version: "1.0.0" }\n', '  backup-system: { kind: telemetry, image: r/v, version: "1.0.0" }\n'),
    );
    const moved = await cli(d, 'render');
    expect(moved.code).toBe(2);
    expect(moved.err).toMatch(at('velero', 'backup-system', 'backup-system', 'services.backup-system'));
    expect(moved.err).not.toContain('service "velero"');
    expect(tree(join(d, 'out'))).toEqual(before);
  });

  it("Kubernetes' own namespaces: an error at the service from the model, exit 2, nothing written", async () => {
    const d = workspace();
    edit(d, 'staging.yaml', (t) =>
      t.concat(
        '\nservices:\n  kube-system: { kind: telemetry, image: r/k, version: "1.0.0" }\n  shop: { kind: telemetry, image: r/s, version: "1.0.0", namespace: default }\n',
      ),
    );
    const r = await cli(d, 'render');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /environments\/staging\.yaml:\d+:3: error TOPOLOGY_NAME_COLLISION: service "kube-system" would run in namespace "kube-system", which Kubernetes owns.*\(field services\.kube-system\)/,
    );
    expect(r.err).toMatch(
      /environments\/staging\.yaml:\d+:\d+: error TOPOLOGY_NAME_COLLISION: service "shop" would run in namespace "default", which Kubernetes owns.*\(field services\.shop\.namespace\)/,
    );
    expect(existsSync(join(d, 'out'))).toBe(false);
  });
});

describe('the staging ledger is checked like a topology file (real CLI)', () => {
  it('a credential or a control character in it: an error at file:line and field for render and promote, exit 2, nothing changed', async () => {
    const d = bundledCopy('ledger');
    expect((await cli(d, 'render')).code).toBe(0);
    const before = tree(join(d, 'out'));
    const environments = tree(join(d, 'environments'));
    const token = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
    writeFileSync(
      join(d, 'environments/verified/staging.yaml'),
      readFileSync(join(d, 'environments/verified/staging.yaml'), 'utf8') +
        `failed:\n  online-store:\n    "7.5.0": "rolled back; paged with ${token}"\n    "7.6.0": "rolled back\\u001b]0;all good\\u0007 in stg01"\n`,
    );
    const ledger = readFileSync(join(d, 'environments/verified/staging.yaml'), 'utf8');
    const lineOf = (s: string) => ledger.split('\n').findIndex((l) => l.includes(s)) + 1;
    for (const argv of [
      ['render'],
      ['promote', '--from', 'staging', '--to', 'production', '--dry-run'],
      ['promote', '--from', 'staging', '--to', 'production', '--check'],
    ]) {
      const r = await cli(d, ...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(
        new RegExp(
          `environments/verified/staging\\.yaml:${lineOf('"7.5.0"')}:\\d+: error TOPOLOGY_PLAIN_SECRET: .*\\(field failed\\.online-store\\.7\\.5\\.0\\)`,
        ),
      );
      expect(r.err).toMatch(
        new RegExp(
          `environments/verified/staging\\.yaml:${lineOf('"7.6.0"')}:\\d+: error PROMOTE_LEDGER_INVALID: failed\\.online-store\\.7\\.6\\.0 contains the control character U\\+001B \\(field failed\\.online-store\\.7\\.6\\.0\\)`,
        ),
      );
      expect(r.out + r.err).not.toContain('AbCdEfGh');
      expect(r.out + r.err).not.toContain('\u001b');
    }
    expect(tree(join(d, 'out'))).toEqual(before);
    expect(tree(join(d, 'environments'))).toEqual({ ...environments, 'verified/staging.yaml': ledger });
  });
});
