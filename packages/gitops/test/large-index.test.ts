/** A big tree's index is larger than any rendered file may be (23 MB at 100k files): reading the tree back must not refuse it. */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@topoforge/engine';
import { MAX_TREE_FILE_BYTES, readTreeChecked } from '../src/tree.js';

describe('reading a tree back', () => {
  it('accepts an index over the per-file bound; still refuses a rendered file over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topoforge-large-index-'));
    try {
      mkdirSync(join(dir, 'production'));
      const content = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';
      writeFileSync(join(dir, 'production/a.yaml'), content);
      const index = {
        generator: 'topoforge',
        environment: 'production',
        source: 'x'.repeat(MAX_TREE_FILE_BYTES + 1),
        files: [{ path: 'a.yaml', sha256: sha256(content), plugin: 'cms' }],
      };
      writeFileSync(join(dir, 'production/topoforge-index.json'), JSON.stringify(index, null, 2) + '\n');
      const r = readTreeChecked(dir);
      expect(r.ok && r.value.get('production')!.files.get('a.yaml')).toEqual({ content, plugin: 'cms' });
      writeFileSync(join(dir, 'production/a.yaml'), 'x'.repeat(MAX_TREE_FILE_BYTES + 1));
      const big = readTreeChecked(dir);
      expect(!big.ok && big.diagnostics[0]!.code).toBe('GITOPS_UNSAFE_TREE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
