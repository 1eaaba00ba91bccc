import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./fixtures/emit-many.mjs', import.meta.url));

describe('runPlugins at scale', () => {
  // A spread such as push(...objects) passes every object as an argument: at ~300k objects it
  // overflowed the default stack ("Maximum call stack size exceeded", issue 19). With a stack of
  // 100 KB the same spread fails at 20k objects, so the test stays fast and still catches one.
  it('collects 20k objects of one plugin with a 100 KB stack (no argument spread over emitted objects)', () => {
    const r = spawnSync(process.execPath, ['--stack-size=100', script, '20000'], { encoding: 'utf8', cwd: fileURLToPath(new URL('..', import.meta.url)) });
    expect(r.stderr).not.toContain('Maximum call stack size exceeded');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ emitted: 20000, files: 20000 });
  });
});
