/**
 * A diff does not parse what did not change: a rendered file's documents come from the object
 * the plugin emitted, and a file with the same content on both sides shares one parse.
 */
import { describe, expect, it } from 'vitest';
import { toYaml } from '@topoforge/yaml-emit';
import { fileDocuments, manifestDocuments, shareDocuments } from '../src/objects.js';
import { diffTrees } from '../src/diff.js';
import type { TreeEnvironment, TreeFile } from '../src/tree.js';

// Keys in plugin order (not emission order), a nested list, numbers, a string that looks like a number.
const object = {
  spec: { replicas: 3, template: { spec: { containers: [{ name: 'app', image: 'r/app:1.2.3', args: ['--port', '8080'] }] } } },
  metadata: { namespace: 'shop', name: 'app', labels: { version: '1.10', 'topoforge.io/service': 'shop' } },
  kind: 'Deployment',
  apiVersion: 'apps/v1',
};
const path = 'clusters/dc01/workloads/shop/deployment-app.yaml';
const env = (files: Record<string, TreeFile>): TreeEnvironment => ({ name: 'production', files: new Map(Object.entries(files)) });

describe('documents without parsing', () => {
  it("a rendered file's documents equal its parse, key order included", () => {
    const content = toYaml(object);
    const rendered = fileDocuments(path, { content, plugin: 'workloads', object });
    const parsed = manifestDocuments(path, content);
    expect(JSON.stringify(rendered)).toBe(JSON.stringify(parsed));
  });

  it('a file with the same content on both sides shares the rendered side’s documents; a changed one is parsed on its own', () => {
    const content = toYaml(object);
    const second = { ...object, metadata: { ...object.metadata, name: 'other' } };
    const changed = toYaml({ ...second, spec: { ...object.spec, replicas: 4 } });
    const disk = env({ [path]: { content, plugin: 'workloads' }, 'clusters/dc01/workloads/shop/other.yaml': { content: changed, plugin: 'workloads' } });
    const render = env({
      [path]: { content, plugin: 'workloads', object },
      'clusters/dc01/workloads/shop/other.yaml': { content: toYaml(second), plugin: 'workloads', object: second },
    });
    shareDocuments(disk, render);
    const same = fileDocuments(path, disk.files.get(path)!);
    expect(same).toBe(fileDocuments(path, render.files.get(path)!));
    const other = 'clusters/dc01/workloads/shop/other.yaml';
    expect(fileDocuments(other, disk.files.get(other)!)).not.toBe(fileDocuments(other, render.files.get(other)!));
    const report = diffTrees(new Map([['production', disk]]), new Map([['production', render]]));
    expect(report.environments[0]!.counts).toEqual({ added: 0, changed: 1, removed: 0 });
    expect(report.environments[0]!.objects[0]!.fields.map((f) => f.path)).toEqual(['spec.replicas']);
  });
});
