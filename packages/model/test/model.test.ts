import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '../src/index.js';
import { loadTree, valid, REGIONS, DCS } from './helpers.js';

const bundledDir = fileURLToPath(new URL('../../../environments', import.meta.url));

describe('loading a directory', () => {
  it('reads (and parses) each environment file once', () => {
    const reads = new Map<string, number>();
    const r = loadEnvironments(bundledDir, {
      readFile: (p) => {
        reads.set(relative(bundledDir, p), (reads.get(relative(bundledDir, p)) ?? 0) + 1);
        return readFileSync(p, 'utf8');
      },
    });
    expect(r.ok).toBe(true);
    const environments = [...reads.keys()].filter((n) => /^kind: Environment$/m.test(readFileSync(`${bundledDir}/${n}`, 'utf8')));
    expect(environments.sort()).toEqual(['production.yaml', 'staging.yaml']);
    for (const n of environments) expect(reads.get(n), n).toBe(1);
  });
});

describe('the bundled environments', () => {
  const r = loadEnvironments(bundledDir);
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  const [production, staging] = ['production', 'staging'].map((n) => r.value.find((e) => e.name === n)!) as [Environment, Environment];

  it('has production with 10 DCs in several time zones, and a smaller staging test stand', () => {
    expect(production.stage).toBe('production');
    expect(production.dataCenters.map((d) => d.rotation)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(production.regions.map((x) => x.timeZone)).size).toBeGreaterThanOrEqual(5);
    expect(production.regions.some((x) => x.businessUnits.length === 0)).toBe(true);
    expect(staging.stage).toBe('staging');
    expect(staging.dataCenters.length).toBeGreaterThanOrEqual(2);
    expect(staging.dataCenters.length).toBeLessThan(production.dataCenters.length);
  });

  it('places warehouse and logistics services only where their business unit exists', () => {
    for (const env of [production, staging]) {
      for (const s of env.services.filter((x) => x.tier === 'regional')) {
        for (const dcName of s.dataCenters) {
          const dc = env.dataCenters.find((d) => d.name === dcName)!;
          const region = env.regions.find((x) => x.name === dc.region)!;
          expect(region.businessUnits, `${env.name}/${s.name} in ${dcName}`).toContain(s.businessUnit);
        }
        // and everywhere it can run
        const eligible = env.dataCenters.filter((d) => env.regions.find((x) => x.name === d.region)!.businessUnits.includes(s.businessUnit!));
        expect(s.dataCenters).toEqual(eligible.map((d) => d.name));
      }
      for (const region of env.regions.filter((x) => x.businessUnits.length === 0)) {
        for (const dc of region.dataCenters) {
          const there = env.dataCenters.find((d) => d.name === dc)!.services;
          expect(
            there.filter((n) => env.services.find((s) => s.name === n)!.tier === 'regional'),
            dc,
          ).toEqual([]);
        }
      }
    }
  });

  it('runs every client-facing production service in at least 2 DCs across 2 regions', () => {
    for (const s of production.services.filter((x) => x.tier === 'client-facing')) {
      expect(s.dataCenters.length).toBeGreaterThanOrEqual(2);
      expect(new Set(s.dataCenters.map((d) => production.dataCenters.find((x) => x.name === d)!.region)).size).toBeGreaterThanOrEqual(2);
    }
  });

  it('orders recovery: social network, telemetry, online store, then warehouse and logistics', () => {
    const prio = (kind: string) => production.services.find((s) => s.kind === kind)!.recoveryPriority;
    expect(prio('social-network')).toBeLessThan(prio('telemetry'));
    expect(prio('telemetry')).toBeLessThan(prio('online-store'));
    expect(prio('online-store')).toBeLessThan(prio('warehouse'));
    expect(prio('warehouse')).toBe(prio('logistics'));
    expect(production.recoveryOrder.map((t) => t.priority)).toEqual([1, 2, 3, 4]);
    expect(production.services.map((s) => s.recoveryPriority)).toEqual([...production.services.map((s) => s.recoveryPriority)].sort((a, b) => a - b));
  });

  it('staging inherits the base and overrides only what differs', () => {
    const p = production.policies.sessionCache[0]!;
    const s = staging.policies.sessionCache[0]!;
    expect(s.maxMemory).not.toBe(p.maxMemory);
    expect(s.windowSeconds).toBe(p.windowSeconds);
    expect(staging.services.map((x) => x.version)).toEqual(production.services.map((x) => x.version));
  });
});

describe('placement and resolution', () => {
  it('derives per-DC service lists in recovery order and DCs in rotation order', () => {
    const { env, text } = loadTree({ 'env.yaml': valid() });
    expect(text).toBe('');
    expect(env!.dataCenters.map((d) => [d.name, d.services])).toEqual([
      ['n1', ['social', 'stock']],
      ['s1', ['social', 'delivery']],
      ['e1', ['social']],
    ]);
    expect(env!.services.find((s) => s.name === 'stock')!.dataCenters).toEqual(['n1']);
    expect(env!.recoveryOrder).toEqual([
      { priority: 1, services: ['social'] },
      { priority: 4, services: ['delivery', 'stock'] },
    ]);
  });

  it('gives a region with neither warehouses nor couriers neither service', () => {
    const { env } = loadTree({ 'env.yaml': valid() });
    expect(env!.dataCenters.find((d) => d.name === 'e1')!.services).toEqual(['social']);
  });

  it('accepts a custom service kind a team adds', () => {
    const { env, text } = loadTree({
      'env.yaml': valid(`
serviceKinds:
  loyalty: { tier: regional, businessUnit: couriers, recoveryPriority: 5 }
  search: { tier: client-facing, recoveryPriority: 3 }
`).replace('services:\n', 'services:\n  points: { kind: loyalty, image: r/p, version: "1" }\n  find: { kind: search, image: r/f, version: "1" }\n'),
    });
    expect(text).toBe('');
    expect(env!.services.find((s) => s.name === 'points')).toMatchObject({ tier: 'regional', dataCenters: ['s1'], recoveryPriority: 5 });
    expect(env!.services.find((s) => s.name === 'find')!.dataCenters).toEqual(['n1', 's1', 'e1']);
  });
});

describe('validation reports every problem at once with file:line:column, field and hint', () => {
  it('suggests the right key for a misspelt one', () => {
    const { text, errors } = loadTree({ 'env.yaml': valid().replace('n1: { region: north,', 'n1: { regoin: north,') });
    expect(errors[0]).toMatchObject({ code: 'TOPOLOGY_UNKNOWN_KEY', field: 'dataCenters.n1.regoin', position: { file: 'env.yaml', line: 11, column: 9 } });
    expect(text).toContain('env.yaml:11:9: error TOPOLOGY_UNKNOWN_KEY: unknown key "regoin"');
    expect(text).toContain('did you mean "region"?');
  });

  it('collects several independent problems in one run', () => {
    const bad = valid()
      .replace('timeZone: Asia/Tokyo', 'timeZone: Mars/Olympus')
      .replace('s1: { region: south, rotation: 2', 's1: { region: suoth, rotation: 2')
      .replace('kind: logistics', 'kind: logistic');
    const { errors, text } = loadTree({ 'env.yaml': bad });
    expect(errors.map((e) => e.code).sort()).toEqual(['TOPOLOGY_UNKNOWN_REFERENCE', 'TOPOLOGY_UNKNOWN_REFERENCE', 'TOPOLOGY_UNKNOWN_TIME_ZONE']);
    expect(text).toContain('unknown region "suoth"');
    expect(text).toContain('did you mean "south"?');
    expect(text).toContain('unknown service kind "logistic"');
    expect(text).toMatch(/env\.yaml:8:\d+: error TOPOLOGY_UNKNOWN_TIME_ZONE: unknown time zone "Mars\/Olympus"/);
  });

  it.each([
    ['a name that is not a DNS label', (t: string) => t.replace('  social: {', '  Social_Net: {'), 'TOPOLOGY_INVALID_NAME', 'services.Social_Net'],
    ['a wrong type', (t: string) => t.replace('rotation: 3', 'rotation: three'), 'TOPOLOGY_INVALID_VALUE', 'dataCenters.e1.rotation'],
    ['a duplicate rotation position', (t: string) => t.replace('rotation: 3', 'rotation: 2'), 'TOPOLOGY_ROTATION_INVALID', 'dataCenters.e1.rotation'],
    ['a gap in the rotation', (t: string) => t.replace('rotation: 3', 'rotation: 4'), 'TOPOLOGY_ROTATION_INVALID', 'dataCenters.e1.rotation'],
    ['a missing field', (t: string) => t.replace(', cluster: { context: e1 }', ''), 'TOPOLOGY_MISSING_FIELD', 'dataCenters.e1.cluster'],
    ['an unknown stage', (t: string) => t.replace('stage: production', 'stage: prod'), 'TOPOLOGY_INVALID_VALUE', 'stage'],
    [
      'a regional service placed where its unit is absent',
      (t: string) => t.replace('stock: { kind: warehouse,', 'stock: { kind: warehouse, placement: { dataCenters: [e1] },'),
      'TOPOLOGY_PLACEMENT_INVALID',
      'services.stock.placement.dataCenters.0',
    ],
    [
      'a client-facing production service in one DC',
      (t: string) => t.replace('social: { kind: social-network,', 'social: { kind: social-network, placement: { dataCenters: [n1] },'),
      'TOPOLOGY_REDUNDANCY',
      'services.social.placement',
    ],
    [
      'a client-facing production service in one region',
      (t: string) =>
        t
          .replace('social: { kind: social-network,', 'social: { kind: social-network, placement: { dataCenters: [n1, n1x] },')
          .replace('e1: { region: east,  rotation: 3', 'e1: { region: east,  rotation: 3')
          .replace(
            'dataCenters:\n',
            'dataCenters:\n  n1x: { region: north, rotation: 4, cluster: { context: n1x }, backupStorage: { provider: aws, bucket: n1x } }\n',
          ),
      'TOPOLOGY_REDUNDANCY',
      'services.social.placement',
    ],
    [
      'an unknown policy reference',
      (t: string) => t.replace('stock: { kind: warehouse,', 'stock: { kind: warehouse, policies: { backup: nightly },'),
      'TOPOLOGY_UNKNOWN_REFERENCE',
      'services.stock.policies.backup',
    ],
    // A canary rollout without a canary policy is flagger's to reject now: plugins/flagger/test/policy.test.ts.
    ['a regional service with nowhere to run', (t: string) => t.replace('[warehouses]', '[]'), 'TOPOLOGY_PLACEMENT_INVALID', 'services.stock'],
    ['a YAML syntax error', (t: string) => t.replace('name: prod', 'name: [prod'), 'TOPOLOGY_YAML_SYNTAX', undefined],
    ['a duplicate key', (t: string) => t.replace('name: prod', 'name: prod\nname: other'), 'TOPOLOGY_YAML_SYNTAX', undefined],
  ])('rejects %s', (_what, edit, code, field) => {
    const { errors, text } = loadTree({ 'env.yaml': edit(valid()) });
    expect(errors.length, text).toBeGreaterThan(0);
    const hit = errors.find((e) => e.code === code);
    expect(hit, text).toBeDefined();
    if (field) expect(hit!.field).toBe(field);
    expect(hit!.position?.file).toBe('env.yaml');
    expect(hit!.position!.line).toBeGreaterThan(0);
  });

  it.each([
    [
      'a replicated database whose primary is not where the service runs',
      (t: string) => t.replace('social: { kind: social-network,', 'social: { kind: social-network, database: { engine: postgresql, name: s, primary: e9 },'),
      'TOPOLOGY_PLACEMENT_INVALID',
      'services.social.database.primary',
    ],
    [
      'a primary on per-DC data',
      (t: string) => t.replace('stock: { kind: warehouse,', 'stock: { kind: warehouse, database: { engine: postgresql, name: s, primary: n1 },'),
      'TOPOLOGY_INVALID_VALUE',
      'services.stock.database.primary',
    ],
    [
      'an unknown database topology',
      (t: string) => t.replace('stock: { kind: warehouse,', 'stock: { kind: warehouse, database: { engine: postgresql, name: s, topology: sharded },'),
      'TOPOLOGY_INVALID_VALUE',
      'services.stock.database.topology',
    ],
    [
      'a drill check without a query',
      (t: string) =>
        t.replace('stock: { kind: warehouse,', 'stock: { kind: warehouse, database: { engine: postgresql, name: s, check: { query: "", expect: "1" } },'),
      'TOPOLOGY_INVALID_VALUE',
      'services.stock.database.check.query',
    ],
  ])('rejects %s, with its position', (_what, edit, code, field) => {
    const { errors, text } = loadTree({ 'env.yaml': edit(valid()) });
    const hit = errors.find((e) => e.code === code);
    expect(hit, text).toBeDefined();
    expect(hit!.field).toBe(field);
    const edited = edit(valid());
    const line = edited.split('\n').findIndex((l) => l.includes(`  ${field.split('.')[1]}: {`)) + 1;
    expect(hit!.position).toMatchObject({ file: 'env.yaml', line });
  });

  it('says where each database instance lives: one per DC for regional data, one replicated database with a primary otherwise', () => {
    const { env, text } = loadTree({
      'env.yaml': valid()
        .replace(
          'social: { kind: social-network,',
          'social: { kind: social-network, database: { engine: postgresql, name: s, check: { query: "select 1", expect: "1" } },',
        )
        .replace('stock: { kind: warehouse,', 'stock: { kind: warehouse, placement: { dataCenters: [n1] }, database: { engine: postgresql, name: st },')
        .replace('delivery: { kind: logistics,', 'delivery: { kind: logistics, database: { engine: postgresql, name: d, topology: replicated, primary: s1 },'),
    });
    expect(text).toBe('');
    const db = (n: string) => env!.services.find((s) => s.name === n)!.database!;
    expect(db('social')).toMatchObject({
      topology: 'replicated',
      instances: [{ name: 'social', primary: 'n1', replicas: ['s1', 'e1'] }],
      check: { query: 'select 1', expect: '1' },
    });
    expect(db('stock')).toMatchObject({ topology: 'per-dc', instances: [{ name: 'stock-n1', primary: 'n1', replicas: [] }] });
    expect(db('delivery')).toMatchObject({ topology: 'replicated', instances: [{ name: 'delivery', primary: 's1', replicas: [] }] });
  });

  it('allows a client-facing service in one DC on the staging test stand', () => {
    const { text } = loadTree({
      'env.yaml': valid('', 'staging').replace('social: { kind: social-network,', 'social: { kind: social-network, placement: { dataCenters: [n1] },'),
    });
    expect(text).toBe('');
  });
  // Backup cadence against retention is velero's rule now: plugins/velero/test/policy.test.ts.
});

describe('inheritance', () => {
  const base = `kind: Base
${REGIONS}${DCS}
services:
  social: { kind: social-network, image: r/social, version: "1.0.0" }
  stock: { kind: warehouse, image: r/stock, version: "1.0.0" }
plugins:
  one: { options: { a: 1, b: 2 } }
  two: {}
`;
  it('merges maps, replaces scalars, and removes keys set to null', () => {
    const { env, text } = loadTree({
      'base.yaml': base,
      'env.yaml': `kind: Environment
name: stg
stage: staging
extends: base.yaml
services:
  social: { version: "1.1.0" }
  stock: null
plugins:
  one: { options: { b: 3 } }
  two: { enabled: false }
`,
    });
    expect(text).toBe('');
    expect(env!.services.map((s) => [s.name, s.version, s.image])).toEqual([['social', '1.1.0', 'r/social']]);
    expect(env!.plugins).toEqual([expect.objectContaining({ name: 'one', options: { a: 1, b: 3 }, package: '@topoforge/plugin-one' })]);
    expect(env!.files).toEqual(['base.yaml', 'env.yaml']);
  });

  it('points errors at the file that supplied the value', () => {
    const { errors } = loadTree({
      'base.yaml': base.replace('version: "1.0.0" }\n  stock', 'version: "1.0.0", colour: red }\n  stock'),
      'env.yaml': 'kind: Environment\nname: stg\nstage: staging\nextends: base.yaml\nservices:\n  social: { version: "bad version" }\n',
    });
    expect(errors.map((e) => [e.position?.file, e.field])).toEqual([
      ['base.yaml', 'services.social.colour'],
      ['env.yaml', 'services.social.version'],
    ]);
  });

  it('reports an extends cycle and a missing base', () => {
    expect(loadTree({ 'env.yaml': 'kind: Environment\nextends: b.yaml\n', 'b.yaml': 'kind: Base\nextends: env.yaml\n' }).errors[0]!.code).toBe(
      'TOPOLOGY_EXTENDS_CYCLE',
    );
    const missing = loadTree({ 'env.yaml': 'kind: Environment\nname: x\nextends: nope.yaml\n' });
    expect(missing.errors[0]).toMatchObject({ code: 'TOPOLOGY_EXTENDS_NOT_FOUND', position: { file: 'env.yaml', line: 3 } });
  });
});
