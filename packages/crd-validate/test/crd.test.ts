import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '../src/index.js';

const shared = findSharedDir();
if (!shared) console.warn(SHARED_MISSING);

describe.runIf(shared)('CrdCatalog against the upstream CRDs', () => {
  // Built in beforeAll: describe's body runs even when the suite is skipped, and
  // join(undefined) would crash a clone without ../shared.
  let catalog: CrdCatalog;
  beforeAll(() => {
    catalog = CrdCatalog.fromDir(join(shared!, 'crds'));
  });

  it('knows every shared kind', () => {
    expect(catalog.kinds()).toEqual(
      expect.arrayContaining([
        'velero.io/v1/Schedule',
        'flagger.app/v1beta1/Canary',
        'monitoring.coreos.com/v1/PrometheusRule',
        'k8gb.io/v1beta1/Gslb',
        'monitoring.coreos.com/v1alpha1/AlertmanagerConfig',
      ]),
    );
  });

  it('accepts a valid Schedule and rejects a wrong field type with its path', () => {
    const ok = {
      apiVersion: 'velero.io/v1',
      kind: 'Schedule',
      metadata: { name: 'x' },
      spec: { schedule: '0 0 * * *', template: { ttl: '168h0m0s', includedNamespaces: ['a'] } },
    };
    expect(catalog.validate(ok)).toEqual([]);
    const bad = { ...ok, spec: { ...ok.spec, template: { includedNamespaces: 'a' } } };
    expect(catalog.validate(bad)[0]).toMatchObject({ path: '/spec/template/includedNamespaces' });
    expect(catalog.validate({ apiVersion: 'velero.io/v1', kind: 'Schedule', metadata: { name: 'x' }, spec: { template: {} } })).toEqual([
      expect.objectContaining({ message: expect.stringContaining('schedule') }),
    ]);
  });

  it('compiles the Go (?i) patterns of AlertmanagerConfig case-insensitively', () => {
    const amc = {
      apiVersion: 'monitoring.coreos.com/v1alpha1',
      kind: 'AlertmanagerConfig',
      metadata: { name: 'x' },
      spec: { route: { receiver: 'r' }, receivers: [{ name: 'r', webhookConfigs: [{ url: 'http://orchestrator/hook' }] }] },
    };
    expect(catalog.validate(amc)).toEqual([]);
  });

  it('reports an unknown kind', () => {
    expect(catalog.validate({ apiVersion: 'x/v1', kind: 'Nope' })[0]!.message).toContain('no CRD for x/v1/Nope');
  });
});
