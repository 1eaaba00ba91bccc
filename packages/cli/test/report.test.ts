import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '@topoforge/model';
import { formatGrouped, groupDiagnostics } from '../src/report.js';

const typo: Diagnostic = { code: 'TOPOLOGY_UNKNOWN_KEY', message: 'unknown key "timezone"', field: 'regions.eu.timezone', hint: 'did you mean "timeZone"?', position: { file: 'environments/base.yaml', line: 4, column: 7 } };

describe('a problem several environments report is printed once', () => {
  it('groups identical problems and lists the environments', () => {
    const g = groupDiagnostics([{ ...typo, environment: 'staging' }, { ...typo, environment: 'production' }, typo]);
    expect(g).toHaveLength(1);
    expect(g[0]!.environments).toEqual(['production', 'staging']);
    expect(formatGrouped(g[0]!)).toBe('environments/base.yaml:4:7: error TOPOLOGY_UNKNOWN_KEY: unknown key "timezone" (field regions.eu.timezone)\n    hint: did you mean "timeZone"?\n    in environments: production, staging');
  });

  it('keeps different problems apart, and one environment as it was', () => {
    const other = { ...typo, position: { file: 'environments/production.yaml', line: 9, column: 1 }, environment: 'production' };
    const g = groupDiagnostics([{ ...typo, environment: 'staging' }, other]);
    expect(g.map((x) => x.environments)).toEqual([['staging'], ['production']]);
    expect(formatGrouped(g[1]!)).not.toContain('in environments');
  });
});
