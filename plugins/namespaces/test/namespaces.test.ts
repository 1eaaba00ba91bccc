import { describe, expect, it } from 'vitest';
import { environmentFromYaml, synth } from '@topoforge/plugin-sdk/testing';
import namespaces from '../src/index.js';

const env = environmentFromYaml(`
kind: Environment
name: test
stage: staging
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [warehouses] }
  south: { timeZone: Europe/Rome, businessUnits: [] }
dataCenters:
  a1: { region: north, rotation: 1, cluster: { context: a1 }, backupStorage: { provider: aws, bucket: b1-backups } }
  b1: { region: south, rotation: 2, cluster: { context: b1 }, backupStorage: { provider: aws, bucket: b2-backups } }
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0" }
  stock: { kind: warehouse, image: r/stock, version: "1.0.0", namespace: inventory }
`);

describe('namespaces plugin', () => {
  it('emits a labelled Namespace per service per DC where it runs', async () => {
    const out = await synth(namespaces, env, { labels: { team: 'platform' } });
    expect(out.records('Namespace').map((r) => `${r.dc}/${r.object.metadata.name}`)).toEqual(['a1/inventory', 'a1/shop', 'b1/shop']);
    expect(out.objects('Namespace')[0]!.metadata.labels).toEqual({
      team: 'platform',
      'topoforge.io/recovery-priority': '4',
      'app.kubernetes.io/managed-by': 'topoforge',
      'topoforge.io/environment': 'test',
      'topoforge.io/service': 'stock',
      'topoforge.io/dc': 'a1',
    });
    expect(out.text('clusters/b1/namespaces/namespace-shop.yaml')).toContain('name: shop\n');
  });
});
