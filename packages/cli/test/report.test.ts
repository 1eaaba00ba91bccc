import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '@topoforge/model';
import { explainLine, formatGrouped, groupDiagnostics } from '../src/report.js';

const typo: Diagnostic = {
  code: 'TOPOLOGY_UNKNOWN_KEY',
  message: 'unknown key "timezone"',
  field: 'regions.eu.timezone',
  hint: 'did you mean "timeZone"?',
  position: { file: 'environments/base.yaml', line: 4, column: 7 },
};

describe('a problem several environments report is printed once', () => {
  it('groups identical problems and lists the environments', () => {
    const g = groupDiagnostics([{ ...typo, environment: 'staging' }, { ...typo, environment: 'production' }, typo]);
    expect(g).toHaveLength(1);
    expect(g[0]!.environments).toEqual(['production', 'staging']);
    expect(formatGrouped(g[0]!)).toBe(
      'environments/base.yaml:4:7: error TOPOLOGY_UNKNOWN_KEY: unknown key "timezone" (field regions.eu.timezone)\n    hint: did you mean "timeZone"?\n    in environments: production, staging',
    );
  });

  it('keeps different problems apart, and one environment as it was', () => {
    const other = { ...typo, position: { file: 'environments/production.yaml', line: 9, column: 1 }, environment: 'production' };
    const g = groupDiagnostics([{ ...typo, environment: 'staging' }, other]);
    expect(g.map((x) => x.environments)).toEqual([['staging'], ['production']]);
    expect(formatGrouped(g[1]!)).not.toContain('in environments');
  });
});

describe('friendly text from the error catalog', () => {
  it("a problem without a hint of its own gets its code's hint from the catalog; one with a hint keeps it", () => {
    const bare: Diagnostic = { code: 'RENDER_LOCKED', message: 'another render is writing out' };
    expect(formatGrouped(groupDiagnostics([bare])[0]!)).toBe(
      'error RENDER_LOCKED: another render is writing out\n    hint: wait for it to finish; if no topoforge is running, delete the stale lock file the message names',
    );
    expect(formatGrouped(groupDiagnostics([typo])[0]!)).toContain('hint: did you mean "timeZone"?');
  });

  it('the closing line names `topoforge explain` with the one code printed, or CODE for several', () => {
    expect(explainLine(groupDiagnostics([typo]))).toBe('what a code means: topoforge explain TOPOLOGY_UNKNOWN_KEY (all codes: docs/errors.md)');
    expect(explainLine(groupDiagnostics([typo, { code: 'RENDER_LOCKED', message: 'x' }]))).toContain('topoforge explain CODE');
  });
});
