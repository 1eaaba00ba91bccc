/**
 * Input that is not exactly a valid environment is an error with a position, never a
 * skip, a stack trace or an unbounded read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic, loadEnvironments, type Diagnostic } from '../src/index.js';
import { loadTree, valid } from './helpers.js';

const dirs: string[] = [];
function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'topoforge-hostile-'));
  dirs.push(d);
  mkdirSync(join(d, 'environments'));
  for (const [n, c] of Object.entries(files)) writeFileSync(join(d, 'environments', n), c);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const load = (cwd: string) => loadEnvironments('environments', { cwd });
const text = (ds: readonly Diagnostic[]) => ds.map(formatDiagnostic).join('\n');
const errors = (cwd: string): string => {
  const r = load(cwd);
  return r.ok ? '' : text(r.diagnostics);
};

describe('a file is an environment, a base, or an error', () => {
  const other = valid().replace('name: prod', 'name: other');
  it.each([
    ['kind: "Environment" (quoted) with a trailing comment loads', valid().replace('kind: Environment', 'kind: "Environment"   # the real one'), ''],
    [
      'a misspelt kind',
      valid().replace('kind: Environment', 'kind: Enviroment'),
      'env.yaml:1:7: error TOPOLOGY_INVALID_VALUE: kind must be "Environment" or "Base" (got "Enviroment") (field kind)\n    hint: did you mean "Environment"?',
    ],
    ['no kind at all', valid().replace('kind: Environment\n', ''), 'env.yaml:1:1: error TOPOLOGY_MISSING_FIELD: environments/env.yaml has no "kind"'],
    ['a YAML syntax error far from kind', valid() + 'services: {\n', 'error TOPOLOGY_YAML_SYNTAX'],
    ['a duplicate key', valid() + 'stage: staging\n', 'error TOPOLOGY_YAML_SYNTAX'],
  ])('%s', (_what, content, expected) => {
    const cwd = dir({ 'env.yaml': content, 'other.yaml': other });
    const r = load(cwd);
    if (expected === '') {
      expect(r.ok && r.value.map((e) => e.name)).toEqual(['other', 'prod']);
    } else {
      expect(r.ok).toBe(false);
      expect(text(!r.ok ? r.diagnostics : [])).toContain(expected);
    }
  });
});

describe('extends', () => {
  // Taken as "no base", the environment loaded without its base and a render removed most of its output.
  it.each([
    ['null', 'extends: null', ''],
    ['empty', 'extends:', ''],
    ['a number', 'extends: 65536', ' (got 65536)'],
    ['a list', 'extends: [base.yaml]', ''],
    ['an empty string', 'extends: ""', ' (got "")'],
  ])('an extends that is %s is an error at its position', (_what, line, got) => {
    const base = 'kind: Base\nplugins: { one: { options: { a: 1 } } }\n';
    const r = load(dir({ 'env.yaml': valid().replace('kind: Environment\n', `kind: Environment\n${line}\n`), 'base.yaml': base }));
    expect(r.ok).toBe(false);
    const [d, ...rest] = r.ok ? [] : r.diagnostics;
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ code: 'TOPOLOGY_INVALID_VALUE', field: 'extends', position: { file: 'environments/env.yaml', line: 2 } });
    expect(d!.message).toMatch(new RegExp(`^extends must .*${got.replace(/[()]/g, '\\$&')}$`));
  });

  it('a base whose extends is not a file name is reported once, at the base', () => {
    const r = load(
      dir({ 'env.yaml': valid().replace('kind: Environment\n', 'kind: Environment\nextends: base.yaml\n'), 'base.yaml': 'kind: Base\nextends: 7\n' }),
    );
    expect(r.ok ? [] : r.diagnostics.map(formatDiagnostic)).toEqual([
      'environments/base.yaml:2:10: error TOPOLOGY_INVALID_VALUE: extends must be string (got 7) (field extends)\n    hint: expected file this one overrides, relative to it',
    ]);
  });
});

describe('prototype-ish names are plain names', () => {
  it('a DC named in placement as "constructor" is an unknown DC, not a pass of the ≥ 2 DCs rule', () => {
    const { text } = loadTree({
      'env.yaml': valid().replace(
        'social: { kind: social-network, image: r/social, version: "1.0.0" }',
        'social: { kind: social-network, image: r/social, version: "1.0.0", placement: { dataCenters: [n1, constructor] } }',
      ),
    });
    expect(text).toContain('error TOPOLOGY_UNKNOWN_REFERENCE: unknown data centre "constructor" (field services.social.placement.dataCenters.1)');
    expect(text).toContain('TOPOLOGY_REDUNDANCY');
  });

  it('a service, a region and a service kind named constructor or toString work like any other name', () => {
    const env =
      valid()
        .replace('  east:  { timeZone: Asia/Tokyo, businessUnits: [] }', '  constructor: { timeZone: Asia/Tokyo, businessUnits: [] }')
        .replace('e1: { region: east,', 'e1: { region: constructor,')
        .replace('  delivery:', '  constructor: { kind: tostring, image: r/c, version: "1.0.0" }\n  delivery:') +
      'serviceKinds:\n  tostring: { tier: client-facing, recoveryPriority: 5 }\n';
    const r = loadTree({ 'env.yaml': env });
    expect(r.text).toBe('');
    expect(r.env!.services.find((s) => s.name === 'constructor')!.dataCenters).toEqual(['n1', 's1', 'e1']);
    expect(r.env!.regions.map((x) => x.name)).toContain('constructor');
  });

  it('a region "constructor" that is not defined is an unknown reference ("toString" is not a region name at all)', () => {
    const { text } = loadTree({ 'env.yaml': valid().replace('e1: { region: east,', 'e1: { region: constructor,') });
    expect(text).toContain('unknown region "constructor"');
    const upper = loadTree({ 'env.yaml': valid().replace('e1: { region: east,', 'e1: { region: toString,') }).text;
    expect(upper).toMatch(/env\.yaml:\d+:\d+: error TOPOLOGY_INVALID_VALUE: dataCenters\.e1\.region must match pattern .*\(got "toString"\)/);
  });

  it('__proto__ as a key is a plain (invalid) name and pollutes nothing', () => {
    const { text } = loadTree({ 'env.yaml': valid().replace('services:\n', 'services:\n  __proto__: { kind: warehouse, image: r/x, version: "1.0.0" }\n') });
    expect(text).toContain('service name "__proto__" is not a DNS-1123 label');
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
  });
});

describe('names that collide after derivation', () => {
  it('two services in one namespace', () => {
    const { text } = loadTree({
      'env.yaml': valid().replace(
        'stock: { kind: warehouse, image: r/stock, version: "1.0.0" }',
        'stock: { kind: warehouse, image: r/stock, version: "1.0.0", namespace: social }',
      ),
    });
    expect(text).toContain('error TOPOLOGY_NAME_COLLISION: service "stock" and service "social" would share namespace "social"');
  });
  it.each(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kube-anything'])('a service in namespace %s, which Kubernetes owns', (ns) => {
    const named = loadTree({ 'env.yaml': valid().replace('  delivery:', `  ${ns}: { kind: telemetry, image: r/k, version: "1.0.0" }\n  delivery:`) });
    expect(named.env).toBeUndefined();
    expect(named.text).toMatch(
      new RegExp(
        `^env\\.yaml:\\d+:3: error TOPOLOGY_NAME_COLLISION: service "${ns}" would run in namespace "${ns}", which Kubernetes owns.*\\(field services\\.${ns}\\)$`,
        'm',
      ),
    );
    const set = loadTree({
      'env.yaml': valid().replace(
        'stock: { kind: warehouse, image: r/stock, version: "1.0.0" }',
        `stock: { kind: warehouse, image: r/stock, version: "1.0.0", namespace: ${ns} }`,
      ),
    });
    expect(set.text).toMatch(
      new RegExp(
        `^env\\.yaml:\\d+:\\d+: error TOPOLOGY_NAME_COLLISION: service "stock" would run in namespace "${ns}", which Kubernetes owns.*\\(field services\\.stock\\.namespace\\)$`,
        'm',
      ),
    );
  });
  it("a namespace that only starts like one of Kubernetes' is a namespace like any other", () => {
    expect(
      loadTree({ 'env.yaml': valid().replace('  delivery:', '  kubernetes-dashboard: { kind: telemetry, image: r/k, version: "1.0.0" }\n  delivery:') }).text,
    ).toBe('');
  });
  it('a staging service named like the restore drill of another', () => {
    const { text } = loadTree({
      'env.yaml': valid('', 'staging').replace('  delivery:', '  drill-stock: { kind: telemetry, image: r/d, version: "1.0.0" }\n  delivery:'),
    });
    expect(text).toContain('error TOPOLOGY_NAME_COLLISION: service "drill-stock" runs in namespace "drill-stock", which the restore drill of "stock" deletes');
  });
});

describe('bounds', () => {
  it('extends: /dev/zero and a FIFO are refused without reading them', () => {
    const cwd = dir({ 'env.yaml': valid().replace('kind: Environment\n', 'kind: Environment\nextends: /dev/zero\n') });
    const t0 = Date.now();
    expect(errors(cwd)).toContain('env.yaml:2:10: error TOPOLOGY_FILE_TYPE: /dev/zero is a device, not a YAML file (field extends)');
    execFileSync('mkfifo', [join(cwd, 'environments/pipe.yaml')]);
    expect(errors(cwd)).toContain('error TOPOLOGY_FILE_TYPE: environments/pipe.yaml is a FIFO, not a YAML file');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('bytes that are not UTF-8 are an error at their line and column, not U+FFFD rendered', () => {
    const cwd = dir({ 'env.yaml': valid().replace('kind: Environment\n', 'kind: Environment\nextends: base.yaml\n') });
    // Line 3: "é" (two bytes, one character), then a lone continuation byte, an overlong "/" and a truncated sequence.
    for (const [bytes, column] of [
      [[0x80], 12],
      [[0xc0, 0xaf], 12],
      [[0xe2, 0x82], 12],
    ] as const) {
      const base = Buffer.concat([Buffer.from('kind: Base\nplugins:\n  x: { é: "'), Buffer.from(bytes), Buffer.from('" }\n')]);
      writeFileSync(join(cwd, 'environments/base.yaml'), base);
      expect(errors(cwd)).toMatch(
        new RegExp(
          `^environments/base\\.yaml:3:${column}: error TOPOLOGY_YAML_SYNTAX: environments/base\\.yaml is not UTF-8 text: byte 0x${bytes[0].toString(16)} at line 3, column ${column} is not UTF-8`,
        ),
      );
    }
    writeFileSync(join(cwd, 'environments/base.yaml'), 'kind: Base\nplugins:\n  x: { é: "€ \u{1F600}" }\n');
    expect(errors(cwd)).not.toContain('UTF-8');
  });

  it('a 100 MB file is refused by its size, at once', () => {
    const cwd = dir({ 'env.yaml': valid() });
    writeFileSync(join(cwd, 'environments/huge.yaml'), Buffer.alloc(100 * 1024 * 1024, 'a'));
    const t0 = Date.now();
    expect(errors(cwd)).toContain('error TOPOLOGY_LIMIT_EXCEEDED: environments/huge.yaml is too large (104857600 bytes)');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a list with a million items (in under 1 MB: a flow list), deep nesting, a cyclic alias and an alias bomb', () => {
    const million = `kind: Base\nitems: [${'0,'.repeat(300_000)}0]\n`;
    expect(errors(dir({ 'env.yaml': valid(), 'base.yaml': million }))).toContain(
      'TOPOLOGY_LIMIT_EXCEEDED: environments/base.yaml has more than 50000 keys, values and list items',
    );
    const deep = `kind: Base\nx: ${'['.repeat(40)}${']'.repeat(40)}\n`;
    expect(errors(dir({ 'env.yaml': valid(), 'base.yaml': deep }))).toContain('more than 32 levels deep');
    expect(errors(dir({ 'env.yaml': valid() + 'x: &a [*a]\n' }))).toMatch(/env\.yaml:\d+:8: error TOPOLOGY_ALIAS: alias \*a refers to a node that contains it/);
    const bomb = [
      'a: &a [x,x,x,x,x,x,x,x,x]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    ].join('\n');
    expect(errors(dir({ 'env.yaml': valid() + bomb + '\n' }))).toContain('error TOPOLOGY_ALIAS: aliases expand too far');
  });

  it('a mapping with 45,000 keys (under 1 MB) is parsed in linear time, and its duplicate key still found', () => {
    // yaml's own duplicate check compared each key with every one before it: 90 s of CPU.
    const keys = Array.from({ length: 45_000 }, (_, i) => `k${i}: 0`).join(', ');
    const t0 = Date.now();
    const text = errors(dir({ 'env.yaml': valid(), 'base.yaml': `kind: Base\nx: { ${keys}, k7: 1 }\n` }));
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(text).toContain(`environments/base.yaml:2:${'x: { '.length + keys.length + ', '.length + 1}: error TOPOLOGY_YAML_SYNTAX: Map keys must be unique`);
  }, 120_000);

  it.each([
    ['a block mapping', 'a: 1\nb: 2\na: 3\n', [[3, 1]]],
    ['a flow mapping', 'x: { p: 1, q: 2, p: 3 }\n', [[1, 18]]],
    [
      'a nested mapping, with a syntax error after it (all reported)',
      'x:\n  - m: 1\n    m: 2\na: 1\na: 2\nb: [\n',
      [
        [3, 5],
        [5, 1],
        [7, 1],
      ],
    ],
    ['"a" and a (the same string), not 1 and "1"', '"a": 1\na: 2\n1: a\n"1": b\n', [[2, 1]]],
  ])('a duplicate key in %s is reported where yaml reported it', (_what, yaml, at) => {
    const r = load(dir({ 'env.yaml': valid(), 'base.yaml': `kind: Base\n${yaml}` }));
    expect(r.ok ? [] : r.diagnostics.map((d) => [d.code, d.position!.line - 1, d.position!.column])).toEqual(
      at.map(([l, c]) => ['TOPOLOGY_YAML_SYNTAX', l, c]),
    );
  });
});

describe('control characters', () => {
  it.each([
    [
      'a newline in a traffic selector',
      'selector: { service: "shop\\nevil" }',
      'services.social.traffic.selector.service contains the control character U+000A',
    ],
    ['DEL in an image', 'image: "r/so\\u007fcial"', 'services.social.image contains the control character U+007F'],
    // Shown as "r/social" reversed in part by a terminal or a review page: not what is deployed.
    ['a bidi override in an image', 'image: "r/\\u202elaicos"', 'services.social.image contains the control character U+202E'],
    ['a bidi isolate in a selector', 'selector: { service: "shop\\u2066" }', 'services.social.traffic.selector.service contains the control character U+2066'],
  ])('%s is refused with its position', (_what, field, expected) => {
    const svc = field.startsWith('selector') ? `traffic: { metric: http_requests_total, ${field} }` : field;
    const { text } = loadTree({
      'env.yaml': valid().replace(
        'social: { kind: social-network, image: r/social, version: "1.0.0" }',
        `social: { kind: social-network, version: "1.0.0", ${svc.startsWith('image') ? svc : `image: r/social, ${svc}`} }`,
      ),
    });
    expect(text).toMatch(/^env\.yaml:\d+:\d+: error TOPOLOGY_INVALID_VALUE: /);
    expect(text).toContain(expected);
  });
});

describe('values that end up in object names, paths, scripts and argv have their pattern', () => {
  const n1 = 'n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }';
  const withN1 = (dc: string, service = '') =>
    valid()
      .replace(n1, `n1: ${dc}`)
      .replace(
        'social: { kind: social-network, image: r/social, version: "1.0.0" }',
        `social: { ${service || 'kind: social-network, image: r/social, version: "1.0.0"'} }`,
      );
  const dc = (o: { region?: string; context?: string; provider?: string; bucket?: string; secret?: string; key?: string }) =>
    `{ region: ${o.region ?? 'north'}, rotation: 1, cluster: { context: ${o.context ?? 'n1'} }, backupStorage: { provider: ${o.provider ?? 'aws'}, bucket: ${o.bucket ?? 'n1-backups'}, credentialSecret: { name: ${o.secret ?? 'velero-n1'}, key: ${o.key ?? 'cloud'} } } }`;
  const svc = (o: { kind?: string; db?: string; primary?: string; policy?: string }) =>
    `kind: ${o.kind ?? 'social-network'}, image: r/social, version: "1.0.0", database: { engine: postgresql, name: ${o.db ?? 'social'}${o.primary ? `, primary: ${o.primary}` : ''} }${o.policy ? `, policies: { canary: ${o.policy} }` : ''}`;

  it('kubeconfig contexts, providers, buckets, Secret names and keys and database names that are valid where they go load', () => {
    for (const context of ['"arn:aws:eks:eu-west-1:123456789012:cluster/prod"', 'admin@prod', 'gke_project_europe-west1_prod', 'prod-dc01'])
      for (const [provider, bucket, secret, key, db] of [
        ['aws', 'commerce.prod-n1', 'velero.n1-credentials', 'cloud', 'social'],
        ['velero.io/aws', 'abc', 'v', 'credentials.ini', 'Social_DB-1'],
        // GCS takes "_" and, with dots, up to 222 characters.
        ['velero.io/gcp', 'commerce_prod_n1', 'velero-gcp', 'cloud', 'social'],
        ['velero.io/gcp', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(30)}`, 'velero-gcp', 'cloud', 'social'],
      ] as const) {
        const r = loadTree({ 'env.yaml': withN1(dc({ context, provider, bucket, secret, key }), svc({ db })) });
        expect(r.text, `${context} ${provider}`).toBe('');
      }
  });

  it.each([
    ['a region reference with a space', dc({ region: '"no rth"' }), '', 'dataCenters.n1.region'],
    ['a kubeconfig context with a space', dc({ context: '"prod dc01"' }), '', 'dataCenters.n1.cluster.context'],
    ['a kubeconfig context starting with "-"', dc({ context: '"-prod"' }), '', 'dataCenters.n1.cluster.context'],
    ['a kubeconfig context with a bidi override', dc({ context: '"prod\\u202edc"' }), '', 'dataCenters.n1.cluster.context'],
    ['a provider with a quote', dc({ provider: `"aws'"` }), '', 'dataCenters.n1.backupStorage.provider'],
    ['a provider with a path', dc({ provider: '"../aws"' }), '', 'dataCenters.n1.backupStorage.provider'],
    ['an upper-case bucket', dc({ bucket: 'Backups' }), '', 'dataCenters.n1.backupStorage.bucket'],
    ['a two-character bucket', dc({ bucket: 'n1' }), '', 'dataCenters.n1.backupStorage.bucket'],
    ['a bucket with a slash', dc({ bucket: 'n1/x-backups' }), '', 'dataCenters.n1.backupStorage.bucket'],
    ['a bucket of 223 characters', dc({ bucket: 'a'.repeat(223) }), '', 'dataCenters.n1.backupStorage.bucket'],
    ['a bucket ending with "_"', dc({ bucket: 'n1-backups_' }), '', 'dataCenters.n1.backupStorage.bucket'],
    ['a Secret name with a slash', dc({ secret: 'velero/n1' }), '', 'dataCenters.n1.backupStorage.credentialSecret.name'],
    ['an upper-case Secret name', dc({ secret: 'Velero' }), '', 'dataCenters.n1.backupStorage.credentialSecret.name'],
    ['a Secret key with a slash', dc({ key: 'a/b' }), '', 'dataCenters.n1.backupStorage.credentialSecret.key'],
    ['a Secret key ".."', dc({ key: '".."' }), '', 'dataCenters.n1.backupStorage.credentialSecret.key'],
    ['a service kind with a space', dc({}), svc({ kind: '"online store"' }), 'services.social.kind'],
    ['a database name with a slash', dc({}), svc({ db: '"../social"' }), 'services.social.database.name'],
    ['a database name with a quote and a semicolon', dc({}), svc({ db: `"x'; drop database y; --"` }), 'services.social.database.name'],
    ['a database name with "="', dc({}), svc({ db: '"host=evil dbname=x"' }), 'services.social.database.name'],
    ['a database primary with a space', dc({}), svc({ primary: '"n 1"' }), 'services.social.database.primary'],
    ['a policy reference with a slash', dc({}), svc({ policy: '"a/b"' }), 'services.social.policies.canary'],
  ])('%s is TOPOLOGY_INVALID_VALUE at its line and field', (_what, dcText, service, field) => {
    const { env, text } = loadTree({ 'env.yaml': withN1(dcText, service) });
    expect(env).toBeUndefined();
    expect(text).toMatch(new RegExp(`^env\\.yaml:\\d+:\\d+: error TOPOLOGY_INVALID_VALUE: ${field.replace(/\./g, '\\.')} must match pattern `, 'm'));
    expect(text).toContain(`(field ${field})`);
  });
});
