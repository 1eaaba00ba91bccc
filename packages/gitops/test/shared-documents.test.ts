/**
 * A diff does not parse what did not change: a rendered file's documents come from the object
 * the plugin emitted, and a file with the same content on both sides shares one parse.
 */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { toYaml, toYamlDocuments } from '@topoforge/yaml-emit';
import { fileDocuments, manifestDocuments, ordered, shareDocuments } from '../src/objects.js';
import { ENV } from './fixtures.js';
import { renderEnvs } from './helpers.js';
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
  it("a rendered file's documents are its object (no parse, no copy); ordered() gives the parse, key order included", () => {
    const content = toYaml(object);
    const rendered = fileDocuments(path, { content, plugin: 'workloads', object });
    const parsed = manifestDocuments(path, content)!;
    expect(rendered![0]).toBe(object);
    expect(rendered).toEqual(parsed);
    expect(JSON.stringify(ordered(rendered![0]!))).toBe(JSON.stringify(parsed[0]));
    // Once per object: both sides of a diff sharing it get one ordered object too.
    expect(ordered(rendered![0]!)).toBe(ordered(rendered![0]!));
  });

  it('a changed field whose value is an object shows its keys in emission order, whichever side was rendered', () => {
    const before = { ...object, spec: { ...object.spec, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } } };
    const after = { ...object, spec: { ...object.spec, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } } };
    const disk = env({ [path]: { content: toYaml(before), plugin: 'workloads' } });
    const render = env({ [path]: { content: toYaml(after), plugin: 'workloads', object: after } });
    const fields = diffTrees(new Map([['production', disk]]), new Map([['production', render]])).environments[0]!.objects[0]!.fields;
    expect(fields).toEqual([
      { path: 'spec.strategy.rollingUpdate.maxSurge', before: '0', after: '1' },
      { path: 'spec.strategy.rollingUpdate.maxUnavailable', before: '1', after: '0' },
    ]);
    const replaced = { ...object, spec: { ...object.spec, selector: { matchLabels: { b: '1', a: '2' } } } };
    const r2 = diffTrees(
      new Map([['production', disk]]),
      new Map([['production', env({ [path]: { content: toYaml(replaced), plugin: 'workloads', object: replaced } })]]),
    );
    expect(r2.environments[0]!.objects[0]!.fields.find((f) => f.path === 'spec.selector')).toEqual({
      path: 'spec.selector',
      before: '(none)',
      after: '{"matchLabels":{"a":"2","b":"1"}}',
    });
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

/** What the `yaml` library reads (the reading manifestDocuments had before its js-yaml path). */
const yamlReading = (text: string) => parseAllDocuments(text, { prettyErrors: false }).map((d) => d.toJS({ maxAliasCount: 100 }) as unknown);

describe('a changed file read back (the js-yaml path for text exactly as the emitter writes it)', () => {
  it('every rendered file of the fixture reads as `yaml` reads it, key order included', async () => {
    const tree = await renderEnvs({ 'prod.yaml': ENV });
    let n = 0;
    for (const [p, f] of tree.get('prod')!.files) {
      if (!p.endsWith('.yaml')) continue;
      const docs = manifestDocuments(p, f.content);
      if (!docs) continue;
      expect(JSON.stringify(docs), p).toBe(JSON.stringify(yamlReading(f.content)));
      n++;
    }
    expect(n).toBeGreaterThan(20);
  });

  it('strings js-yaml and `yaml` read differently keep `yaml`’s reading, as emitted (quoted) and as written by hand (plain)', () => {
    const tricky = { n: '1_000', b: '0b101', yes: 'yes', empty: '', quote: "it's", lines: 'a\nb\n', num: 1000, neg: -1.5 };
    const o = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: tricky };
    const emitted = toYaml(o);
    expect(manifestDocuments(path, emitted)).toEqual([o]);
    // By hand, unquoted: js-yaml would read 1000 and 5; this is not the emitter's text, so `yaml` reads it.
    const byHand = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  n: 1_000\n  b: 0b101\n';
    expect(manifestDocuments(path, byHand)).toEqual(yamlReading(byHand));
    expect(manifestDocuments(path, byHand)![0]!.data).toEqual({ n: '1_000', b: '0b101' });
    // Several documents, as the emitter joins them; and one that is not a Kubernetes object.
    const two = toYamlDocuments([o, { ...o, metadata: { name: 'b' } }]);
    expect(manifestDocuments(path, two)).toEqual(yamlReading(two));
    expect(manifestDocuments(path, toYaml({ name: 'project', runtime: 'nodejs' }))).toBeUndefined();
  });
});
