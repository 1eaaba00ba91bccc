import { describe, expect, it } from 'vitest';
import { Claims } from '../src/index.js';
import type { Environment } from '@topoforge/model';

// Claims reads only the names of the DCs and services an output may be scoped to.
const ENV = { dataCenters: [{ name: 'd1' }], services: [{ name: 'web' }] } as unknown as Environment;

/** Claims by plugin and path; each complaint as `code: message`. */
function claimAll(claims: Claims, list: readonly (readonly [string, string])[]): { accepted: boolean[]; complaints: string[] } {
  const complaints: string[] = [];
  const accepted = list.map(([plugin, path]) => claims.claim(plugin, path, (code, message) => void complaints.push(`${code}: ${message}`)));
  return { accepted, complaints };
}

describe('Claims', () => {
  it('names the plugin that claimed a path first, however many claims and plugins came between', () => {
    const claims = new Claims(ENV);
    const list: [string, string][] = [];
    for (const plugin of ['a', 'b', 'c']) for (let i = 0; i < 1000; i++) list.push([plugin, `${plugin}/${i}.yaml`]);
    list.push(['d', 'b/500.yaml'], ['d', 'a/0.yaml'], ['d', 'c/999.yaml'], ['b', 'b/7.yaml'], ['d', 'd/1.yaml'], ['d', 'd/1.yaml']);
    const { accepted, complaints } = claimAll(claims, list);
    expect(accepted.slice(0, 3000).every(Boolean)).toBe(true);
    expect(accepted.slice(3000)).toEqual([false, false, false, false, true, false]);
    expect(complaints).toEqual([
      'PLUGIN_PATH_CONFLICT: writes "b/500.yaml", which plugin "b" already wrote',
      'PLUGIN_PATH_CONFLICT: writes "a/0.yaml", which plugin "a" already wrote',
      'PLUGIN_PATH_CONFLICT: writes "c/999.yaml", which plugin "c" already wrote',
      'PLUGIN_PATH_CONFLICT: writes "b/7.yaml" twice',
      'PLUGIN_PATH_CONFLICT: writes "d/1.yaml" twice',
    ]);
  });

  it('keeps the first claimer after a conflict, and finds it when plugins take turns', () => {
    const claims = new Claims(ENV);
    const { complaints } = claimAll(claims, [
      ['a', 'x.yaml'],
      ['b', 'y.yaml'],
      ['a', 'z.yaml'],
      ['b', 'z.yaml'],
      ['c', 'z.yaml'],
      ['c', 'y.yaml'],
    ]);
    expect(complaints).toEqual([
      'PLUGIN_PATH_CONFLICT: writes "z.yaml", which plugin "a" already wrote',
      'PLUGIN_PATH_CONFLICT: writes "z.yaml", which plugin "a" already wrote',
      'PLUGIN_PATH_CONFLICT: writes "y.yaml", which plugin "b" already wrote',
    ]);
  });

  it('refuses a path that leaves the environment directory without claiming it', () => {
    const claims = new Claims(ENV);
    const { accepted, complaints } = claimAll(claims, [
      ['a', '../x.yaml'],
      ['b', 'ok.yaml'],
    ]);
    expect(accepted).toEqual([false, true]);
    expect(complaints).toHaveLength(1);
    expect(complaints[0]).toMatch(/^PLUGIN_PATH_ESCAPE: cannot write "\.\.\/x\.yaml"/);
  });
});
