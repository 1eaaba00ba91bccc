import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, definePlugin, Type } from '../src/index.js';

describe('definePlugin', () => {
  it('stamps contract 2 and fills the v2 fields', () => {
    const p = definePlugin({ name: 'x', description: 'd', options: Type.Object({}), render() {} });
    expect(CONTRACT_VERSION).toBe(2);
    expect(p).toMatchObject({ $$type: 'topoforge.plugin', contract: 2, after: [], policies: {}, review: [] });
    expect(Object.keys(p.hooks)).toEqual(['render']);
  });

  it('carries policies, check and review rules', () => {
    const rule = { id: 'r', title: 'R', kinds: [{ group: 'apps', kind: 'Deployment' }], compare: () => [] };
    const p = definePlugin({
      name: 'x',
      description: 'd',
      options: Type.Object({}),
      policies: { quota: Type.Object({ cpu: Type.Integer() }) },
      check() {},
      render() {},
      review: [rule],
    });
    expect(Object.keys(p.policies)).toEqual(['quota']);
    expect(Object.keys(p.hooks).sort()).toEqual(['check', 'render']);
    expect(p.review).toEqual([rule]);
  });
});
