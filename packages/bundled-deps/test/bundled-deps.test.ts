import { describe, expect, it } from 'vitest';
import * as original from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import * as originalYaml from 'yaml';
import originalHandlebars from 'handlebars';
import * as bundled from '../dist/typebox.js';
import * as bundledYaml from '../dist/yaml.js';
import bundledHandlebars from '../dist/handlebars.js';

describe('bundled-deps: one module per dependency, the same API', () => {
  it('typebox: every name TypeBox exports, and nothing else', () => {
    expect(Object.keys(bundled).sort()).toEqual(Object.keys(original).sort());
  });

  it("typebox: the same schemas, which TypeBox's own checker reads as its own (Kind is one shared symbol)", () => {
    expect(bundled.Kind).toBe(original.Kind);
    const build = (T: typeof original.Type) =>
      T.Object(
        {
          name: T.String({ minLength: 1 }),
          replicas: T.Optional(T.Integer({ minimum: 1, default: 2 })),
          mode: T.Union([T.Literal('canary'), T.Literal('rolling')]),
        },
        { additionalProperties: false },
      );
    const a = build(bundled.Type as unknown as typeof original.Type);
    const b = build(original.Type);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(Value.Check(a, { name: 'x', mode: 'canary' })).toBe(true);
    expect(Value.Check(a, { name: '', mode: 'blue' })).toBe(false);
  });

  it('yaml: every name, the same documents, positions and errors; nodes the original recognises', () => {
    expect(Object.keys(bundledYaml).sort()).toEqual(Object.keys(originalYaml).sort());
    const text = 'a: 1\nb:\n  - x\n  - &k {c: "d"}\nbad: [1, 2\n';
    const counter = new bundledYaml.LineCounter();
    const doc = bundledYaml.parseDocument(text, { lineCounter: counter });
    const ref = originalYaml.parseDocument(text);
    expect(doc.errors.map((e) => [e.code, e.message])).toEqual(ref.errors.map((e) => [e.code, e.message]));
    expect(doc.errors.length).toBeGreaterThan(0);
    expect(counter.linePos(text.indexOf('bad'))).toEqual({ line: 5, col: 1 });
    expect(originalYaml.isMap(doc.contents)).toBe(true);
    expect(bundledYaml.parseAllDocuments('a: 1\n---\nb: 2\n').map((d) => d.toJS())).toEqual([{ a: 1 }, { b: 2 }]);
    expect(bundledYaml.stringify({ a: [1, 'x: y'] })).toBe(originalYaml.stringify({ a: [1, 'x: y'] }));
  });

  it('handlebars: the same environment, strict mode and output', () => {
    expect(Object.keys(bundledHandlebars).sort()).toEqual(Object.keys(originalHandlebars).sort());
    const hb = bundledHandlebars.create();
    const t = hb.compile('{{name}}: {{#each items}}{{this}} {{/each}}', { strict: true, noEscape: true });
    expect(t({ name: 'a<b', items: [1, 2] })).toBe('a<b: 1 2 ');
    expect(() => t({ items: [] })).toThrow(/"name" not defined/);
  });
});
