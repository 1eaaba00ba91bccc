import { describe, expect, it } from 'vitest';
import * as engine from '../src/index.js';
import * as checkEntry from '../src/check.js';

describe("the engine's entries", () => {
  it('export its API by name (not the rendering half check imports), and one check through both', () => {
    expect(Object.keys(engine)).not.toContain('checkRendering');
    for (const name of ['check', 'render', 'renderInMemory', 'plan', 'unsafeOutput', 'sourceId', 'unitSalt', 'writeTree', 'prescanOutput'])
      expect(typeof (engine as Record<string, unknown>)[name], name).toBe('function');
    expect(checkEntry.check).toBe(engine.check);
  });
});
