import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AREA_PREFIXES, ERRORS, errorsMarkdown, isErrorCode } from '../src/index.js';

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
  it('every code used in the sources is in the catalog', () => {
    const files = ['packages', 'plugins']
      .flatMap((d) => readdirSync(join(ROOT, d)).map((p) => join(ROOT, d, p, 'src')))
      .filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory());
    const area = AREA_PREFIXES.map((p) => p.replace(/_$/, '')).join('|');
    // How a code appears where it is raised: `code: 'X'` / `code = 'X'` (diagnostics, error
    // classes), `new SomeError('X', …)`, a message that starts with `X:` (a plugin's own
    // code inside ctx.error), and any literal of an area (e.g. the orchestrator's HTTP
    // error bodies; its plain NOT_FOUND / INTERNAL are HTTP statuses, not codes).
    const patterns = [
      /\bcode\s*[:=]\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g,
      /\bnew [A-Z][A-Za-z]*Error\(\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g,
      /\.error\(`([A-Z][A-Z0-9]*_[A-Z0-9_]+):/g,
      new RegExp(`'((?:${area})_[A-Z0-9_]+)'`, 'g'),
    ];
    // Names that look like codes but are not topoforge's: Node's errno codes, the
    // session-cache library's environment variables and the restore-drill job's pod name
    // (an environment variable from the downward API, plugins/velero/src/drill.ts).
    const notCodes = (c: string) =>
      /^(ERR_|E[A-Z]+$)/.test(c) || c === 'MODULE_NOT_FOUND' || c === 'DRILL_HOLDER' || (/^SESSION_CACHE_/.test(c) && !c.endsWith('_INVALID'));
    const used = new Map<string, string>();
    for (const dir of files) {
      for (const f of sources(dir)) {
        const text = readFileSync(f, 'utf8');
        for (const re of patterns) {
          for (const m of text.matchAll(re)) {
            const code = m[1]!;
            if (!notCodes(code)) used.set(code, f.slice(ROOT.length + 1));
          }
        }
      }
    }
    expect(used.size).toBeGreaterThan(80);
    const missing = [...used].filter(([c]) => !isErrorCode(c)).map(([c, f]) => `${c} (${f})`);
    expect(missing).toEqual([]);
  });

  it('the scan finds codes as each package raises them (so the check above could fail)', () => {
    // One code per way of raising it; if the scan stopped seeing one of these, the check
    // above would pass vacuously for codes raised the same way.
    const sample = readFileSync(join(ROOT, 'plugins/traffic-alerts/src/index.ts'), 'utf8');
    expect(sample).toMatch(/\.error\(`TRAFFIC_SELECTOR_INVALID:/);
    expect(readFileSync(join(ROOT, 'packages/robfig-cron/src/index.ts'), 'utf8')).toMatch(/code = 'CRON_PARSE_ERROR'/);
    expect(readFileSync(join(ROOT, 'packages/failover-orchestrator/src/server.ts'), 'utf8')).toMatch(/error: 'WEBHOOK_INVALID'/);
    expect(readFileSync(join(ROOT, 'packages/sandbox/src/sandbox.ts'), 'utf8')).toMatch(/new SandboxError\('SANDBOX_BAD_INPUT'/);
  });

  it('each entry has a title, a message and a hint, and codes are SCREAMING_SNAKE with an area prefix', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/);
      expect(
        AREA_PREFIXES.some((p) => code.startsWith(p)),
        `${code} has no area in docs.ts`,
      ).toBe(true);
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
