import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogHint, docsAnchor, ERRORS, explainCode, similarCodes, type ErrorCode } from '../src/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('friendly text from catalog entries', () => {
  it('explains a code (any case) with title, meaning, what to do and the docs anchor', () => {
    expect(explainCode('topology_alias')).toBe(
      [
        'TOPOLOGY_ALIAS — YAML alias refused',
        '',
        ERRORS.TOPOLOGY_ALIAS.message,
        '',
        `What to do: ${ERRORS.TOPOLOGY_ALIAS.hint}`,
        '',
        'More: docs/errors.md#topology_alias--yaml-alias-refused',
      ].join('\n'),
    );
    expect(explainCode('NOPE_NOT_A_CODE')).toBeUndefined();
  });

  it("every anchor is a heading of docs/errors.md as GitHub names it (lower case, no punctuation, spaces to '-')", () => {
    const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const heading = doc.split('\n').find((l) => l.startsWith(`### \`${code}\``))!;
      const github = heading
        .slice(4)
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-');
      expect(docsAnchor(code), code).toBe(github);
    }
  });

  it('hints read like the CLI writes them; unknown codes have none', () => {
    expect(catalogHint('RENDER_UNSAFE_OUTPUT')).toBe('render into a directory of its own, e.g. --out out');
    expect(catalogHint('NOT_A_CODE')).toBeUndefined();
  });

  it('suggests codes that share words with a mistyped one, same area first', () => {
    expect(similarCodes('RENDER_LOCK')).toContain('RENDER_LOCKED');
    expect(similarCodes('GITOPS_LOCKED')[0]).toBe('GITOPS_LOCKED');
    expect(similarCodes('QWERTY')).toEqual([]);
  });
});
