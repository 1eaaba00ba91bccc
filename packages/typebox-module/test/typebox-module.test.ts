import { describe, expect, it } from 'vitest';
import * as original from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import * as bundled from '../dist/index.js';

describe('typebox-module: TypeBox as one module', () => {
  it('exports every name TypeBox exports, and nothing else', () => {
    expect(Object.keys(bundled).sort()).toEqual(Object.keys(original).sort());
  });

  it("builds the same schemas, which TypeBox's own checker reads as its own (Kind is one shared symbol)", () => {
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
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(Value.Check(a, { name: 'x', mode: 'canary' })).toBe(true);
    expect(Value.Check(a, { name: '', mode: 'blue' })).toBe(false);
  });
});
