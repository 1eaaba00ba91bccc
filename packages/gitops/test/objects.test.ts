/** Where an object is applied (its scope), and the parse cache of a tree's files. */
import { describe, expect, it } from 'vitest';
import { toYaml } from '@topoforge/yaml-emit';
import { fileDocuments, scopeOf, TreeFileEntry } from '../src/objects.js';
import type { TreeFile } from '../src/tree.js';

describe('scopeOf', () => {
  it('is the DC of clusters/<dc>/…, else the top-level directory, else "."', () => {
    const cases: [string, { scope: string; dc?: string }][] = [
      ['clusters/dc01/workloads/a.yaml', { scope: 'dc01', dc: 'dc01' }],
      ['clusters/dc01/a.yaml', { scope: 'dc01', dc: 'dc01' }],
      // Not under a DC: the directory is the scope.
      ['clusters/a.yaml', { scope: 'clusters' }],
      ['clustersx/dc01/a.yaml', { scope: 'clustersx' }],
      ['Clusters/dc01/a.yaml', { scope: 'Clusters' }],
      ['x/clusters/dc01/a.yaml', { scope: 'x' }],
      ['environment/velero/a.yaml', { scope: 'environment' }],
      ['README.md', { scope: '.' }],
      ['clusters//a.yaml', { scope: '', dc: '' }],
    ];
    for (const [path, want] of cases) expect(scopeOf(path), path).toEqual(want);
  });
});

describe('fileDocuments', () => {
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } };
  const content = toYaml(object);

  it('parses a file once, and again when it is asked for under another path', () => {
    const file: TreeFile = { content, plugin: 'p' };
    const first = fileDocuments('clusters/dc01/p/a.yaml', file);
    expect(first).toEqual([object]);
    expect(fileDocuments('clusters/dc01/p/a.yaml', file)).toBe(first);
    // The same text under a name that is not YAML is not a manifest.
    expect(fileDocuments('clusters/dc01/p/a.txt', file)).toBeUndefined();
    expect(fileDocuments('clusters/dc01/p/a.yaml', file)).toEqual([object]);
  });

  it('parses a copy with other text or another object anew (a spread copies no parse)', () => {
    const other = { ...object, data: { k: 'changed' } };
    for (const file of [new TreeFileEntry(content, 'p'), { content, plugin: 'p' }]) {
      expect(fileDocuments('a.yaml', file)).toEqual([object]);
      expect(fileDocuments('a.yaml', { ...file, content: toYaml(other) })).toEqual([other]);
      expect(fileDocuments('a.yaml', { ...file, content: 'not: [yaml' })).toBeUndefined();
      expect(fileDocuments('a.yaml', { ...file, object: other })).toEqual([other]);
      expect(fileDocuments('a.yaml', file)).toEqual([object]);
      // A file changed in place (readonly only to TypeScript) is parsed anew too.
      (file as { content: string }).content = toYaml(other);
      expect(fileDocuments('a.yaml', file)).toEqual([other]);
    }
  });

  it('a file gitops makes keeps its parse out of sight: equal to the literal, no key for an absent object', () => {
    const file = new TreeFileEntry(content, 'p');
    fileDocuments('a.yaml', file);
    expect(file).toEqual({ content, plugin: 'p' });
    expect(Object.keys(file)).toEqual(['content', 'plugin']);
    expect(Object.getOwnPropertySymbols(file)).toEqual([]);
    expect(Object.keys(new TreeFileEntry(content, 'p', object))).toEqual(['content', 'plugin', 'object']);
  });

  it('caches the documents of a file a caller froze, without changing it', () => {
    const file: TreeFile = Object.freeze({ content, plugin: 'p' });
    const first = fileDocuments('a.yaml', file);
    expect(first).toEqual([object]);
    expect(fileDocuments('a.yaml', file)).toBe(first);
    expect(Object.getOwnPropertySymbols(file)).toEqual([]);
  });
});
