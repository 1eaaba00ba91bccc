import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS, errorsMarkdown, isErrorCode } from '../src/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    if (n === 'node_modules' || n === 'dist') continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(n) && !n.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

describe('the error catalog', () => {
  it('every code used in the sources is in the catalog (code: \'X\' and any CODE-shaped literal of a catalog area)', () => {
    const files = ['packages', 'plugins'].flatMap((d) => readdirSync(join(ROOT, d)).map((p) => join(ROOT, d, p, 'src'))).filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory());
    const used = new Map<string, string>();
    for (const dir of files) {
      for (const f of sources(dir)) {
        const text = readFileSync(f, 'utf8');
        for (const m of text.matchAll(/code: '([A-Z][A-Z0-9_]+)'|'((?:TOPOLOGY|PLUGIN|RENDER|GITOPS|PROMOTE)_[A-Z0-9_]+)'/g)) {
          const code = m[1] ?? m[2]!;
          if (code === 'ENOENT') continue; // a Node errno in a test file system, not a diagnostic
          used.set(code, f.slice(ROOT.length + 1));
        }
      }
    }
    expect(used.size).toBeGreaterThan(30);
    const missing = [...used].filter(([c]) => !isErrorCode(c)).map(([c, f]) => `${c} (${f})`);
    expect(missing).toEqual([]);
  });

  it('each entry has a title, a message and a hint, and codes are SCREAMING_SNAKE with an area prefix', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^(TOPOLOGY|PLUGIN|RENDER|GITOPS|PROMOTE)_[A-Z0-9_]+$/);
      expect(e.title.length, code).toBeGreaterThan(3);
      expect(e.message, code).toMatch(/\.$/);
      expect(e.hint, code).toMatch(/\.$/);
    }
  });

  it('docs/errors.md is generated from the catalog and up to date', () => {
    const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    expect(doc, 'run `pnpm --filter @topoforge/errors build docs` to regenerate docs/errors.md').toBe(errorsMarkdown());
    for (const code of Object.keys(ERRORS)) expect(doc).toContain(`### \`${code}\``);
  });
});
