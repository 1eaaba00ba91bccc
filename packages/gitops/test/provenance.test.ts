import { describe, expect, it } from 'vitest';
import type { InputValue, Located, SourceMap } from '@topoforge/model';
import { causesOf, detailEvidence, inputChanges, type TreeSource } from '../src/index.js';

/** A source from `pointer: value@line` entries (file a.yaml). */
function source(values: Record<string, [string, number]>, provenance: Record<string, string[]> = {}): TreeSource {
  const inputs = new Map<string, InputValue>();
  const positions: SourceMap = new Map();
  for (const [pointer, [value, line]] of Object.entries(values)) {
    const position = { file: 'a.yaml', line, column: 3 };
    inputs.set(pointer, { pointer, field: pointer.slice(1).split('/').join('.'), value, position });
    // every ancestor is a key of the file
    for (let p = pointer; p !== ''; p = p.slice(0, p.lastIndexOf('/')))
      if (!positions.has(p))
        positions.set(p, { key: { ...position, line: line - (pointer.split('/').length - p.split('/').length) }, value: position } satisfies Located);
  }
  return { inputs, positions, provenance: new Map(Object.entries(provenance)) };
}

describe('provenance: which input value produced a change', () => {
  const before = source(
    {
      '/policies/backup/daily/retentionDays': ['7', 4],
      '/policies/canary/web/threshold': ['5', 9],
      '/dataCenters/n3/region': ['west', 20],
      '/dataCenters/n3/rotation': ['3', 21],
      '/services/shop/password': ['hunter2-hunter2', 30],
    },
    { 's.yaml': ['/policies/backup/daily', '/policies/canary/web', '/dataCenters'] },
  );
  const after = source(
    { '/policies/backup/daily/retentionDays': ['5', 4], '/policies/canary/web/threshold': ['8', 9], '/services/shop/password': ['s3cret-s3cret', 30] },
    { 's.yaml': ['/policies/backup/daily', '/policies/canary/web', '/dataCenters'] },
  );
  const all = inputChanges(before, after);

  it('lists changed values with their line, a removed subtree once at its key, and never a credential', () => {
    expect(all.map((c) => `${c.position?.line} ${c.type} ${c.field} ${c.before ?? ''}→${c.after ?? ''}`)).toEqual([
      '19 removed dataCenters.n3 →',
      '4 changed policies.backup.daily.retentionDays 7→5',
      '9 changed policies.canary.web.threshold 5→8',
      '30 changed services.shop.password (redacted)→(redacted)',
    ]);
  });

  it('picks the cause whose values read in the output (7 days → 168h), not every value the object draws on', () => {
    const ttl = causesOf(all, ['s.yaml'], [], before, after, [['168h0m0s', '120h0m0s']]);
    expect(ttl.map((c) => c.field)).toEqual(['policies.backup.daily.retentionDays']);
    const threshold = causesOf(all, ['s.yaml'], [], before, after, detailEvidence('analysis.threshold 5 → 8 (more failed checks)'));
    expect(threshold.map((c) => c.field)).toEqual(['policies.canary.web.threshold']);
  });

  it('without evidence: the structural change (a DC removed); several plain candidates and no evidence give none', () => {
    expect(causesOf(all, ['s.yaml'], [], before, after).map((c) => c.field)).toEqual(['dataCenters.n3']);
    const noDc = all.filter((c) => c.type === 'changed');
    expect(causesOf(noDc, ['s.yaml'], [], before, after, [['x', 'y']])).toEqual([]);
    expect(causesOf(noDc, ['other.yaml'], ['/policies/canary'], before, after).map((c) => c.field)).toEqual(['policies.canary.web.threshold']);
  });
});
