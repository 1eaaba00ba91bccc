/**
 * The `backup` policy group is this plugin's (contract v2 `policies` + `check`), as
 * `sessionCache` is plugins/session-cache's: the schema and the rules across fields moved
 * here from the model with their messages, codes and positions.
 */
import { describe, expect, it } from 'vitest';
import { environmentFromYaml, synth, synthDiagnostics, synthErrors, threeRegionTopology } from '@topoforge/plugin-sdk/testing';
import { formatDiagnostic, type Diagnostic } from '@topoforge/model';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import velero, { maxWeekdayGap } from '../src/index.js';

const plugin = velero as PluginDefinition<never>;

// The model's own test topology, from the harness.
const valid = (extra = '') => threeRegionTopology(extra);
const policies = (retention: number, full: string, more = '') => `
policies:
  backup:
    p: { full: ${full}, window: { start: "00:00", end: "00:30" }, retentionDays: ${retention}${more} }
`;

/** The render's problems (none when it succeeds), as the CLI prints them. */
async function problems(yaml: string): Promise<{ errors: readonly Diagnostic[]; text: string }> {
  const env = environmentFromYaml(yaml);
  try {
    await synth(plugin, env);
    return { errors: [], text: '' };
  } catch {
    const errors = await synthDiagnostics(plugin, env);
    return { errors, text: errors.map(formatDiagnostic).join('\n') };
  }
}

describe("the backup policy group is velero's", () => {
  it('rejects backup retention shorter than the gap between full backups', async () => {
    expect((await problems(valid(policies(1, '{ everyDays: 2 }')))).text).toContain('retention of 1 days is shorter than the 2-day gap');
    expect((await problems(valid(policies(3, '{ weekdays: [tuesday, friday] }')))).text).toContain('shorter than the 4-day gap');
    expect((await problems(valid(policies(4, '{ weekdays: [tuesday, friday] }')))).text).toBe('');
    expect((await problems(valid(policies(7, '{ everyDays: 1, weekdays: [monday] }')))).text).toContain('exactly one of everyDays or weekdays');
  });

  it('reports each rule under the code the model used, at the field to change, with its hint', async () => {
    const { errors } = await problems(valid(policies(1, '{ everyDays: 2 }')));
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'TOPOLOGY_INVALID_VALUE',
        plugin: 'velero',
        field: 'policies.backup.p.retentionDays',
        hint: 'keep backups at least 2 days so a restorable full always exists',
        position: expect.objectContaining({ file: 'environment.yaml', line: 19 }),
      }),
    ]);
    const window = await problems(valid(policies(7, '{ everyDays: 2 }').replace('start: "00:00", end: "00:30"', 'start: "03:00", end: "01:00"')));
    expect(window.errors.map((e) => [e.code, e.field, e.message])).toEqual([
      ['TOPOLOGY_INVALID_VALUE', 'policies.backup.p.window', 'window ends (01:00) before it starts (03:00)'],
    ]);
    const differential = await problems(valid(policies(7, '{ everyDays: 1 }', ', differential: { everyDays: 1 }')));
    expect(differential.errors.map((e) => [e.code, e.field, e.message])).toEqual([
      ['TOPOLOGY_INVALID_VALUE', 'policies.backup.p.differential', 'a daily full backup leaves no day for a differential'],
    ]);
  });

  it("validates each policy against the plugin's schema, with the plugin named", async () => {
    const { text } = await problems(valid(policies(7, '{ everyDays: 1 }', ', extra: 1')));
    expect(text).toMatch(/^environment\.yaml:19:\d+: error TOPOLOGY_UNKNOWN_KEY: \[plugin velero\] unknown key "extra" \(field policies\.backup\.p\.extra\)/);
  });

  it('reports a policy without window or full once, as the missing field: its rules across fields do not throw on it', async () => {
    const noWindow = await problems(valid(policies(7, '{ everyDays: 1 }').replace(', window: { start: "00:00", end: "00:30" }', '')));
    expect(noWindow.errors.map((e) => [e.code, e.field])).toEqual([['TOPOLOGY_MISSING_FIELD', 'policies.backup.p.window']]);
    const noFull = await problems(valid(policies(7, '{ everyDays: 1 }').replace('full: { everyDays: 1 }, ', '')));
    expect(noFull.errors.map((e) => [e.code, e.field])).toEqual([['TOPOLOGY_MISSING_FIELD', 'policies.backup.p.full']]);
    expect(`${noWindow.text}\n${noFull.text}`).not.toContain('PLUGIN_THREW');
  });

  it('measures the longest gap between full backups of a weekday set, across the week end', () => {
    expect(maxWeekdayGap(['tuesday', 'friday'])).toBe(4);
    expect(maxWeekdayGap(['monday'])).toBe(7);
    expect(maxWeekdayGap(['sunday', 'saturday'])).toBe(6);
  });
  it('refuses names it derives that Kubernetes would refuse, at the service key (moved from the model)', async () => {
    const backup = 'policies:\n  backup:\n    b: { full: { everyDays: 1 }, window: { start: "00:00", end: "00:30" }, retentionDays: 7 }\n';
    // restore-drill-<39> = 53 characters: on a test stand with restore drills only
    const drilled = 's' + 'x'.repeat(38);
    const stand = valid(`${backup}plugins:\n  velero: { options: { restoreDrill: { fromEnvironment: production } } }\n`)
      .replace('stage: production', 'stage: staging')
      .replace('  social: {', `  ${drilled}: { policies: { backup: b },`);
    expect(await synthErrors(plugin, environmentFromYaml(stand))).toEqual([
      `environment.yaml:13:3: error TOPOLOGY_NAME_TOO_LONG: [plugin velero] "restore-drill-${drilled}" (restore-drill CronJob (plugins/velero)) has 53 characters; Kubernetes allows 52 (field services.${drilled})\n    hint: shorten the name by at least 1 characters`,
    ]);
    // <61>-<dc> = 64 characters: the Schedule name is a label value
    const long = 's' + 'x'.repeat(60);
    const errors = await synthErrors(plugin, environmentFromYaml(valid(backup).replace('  social: {', `  ${long}: { policies: { backup: b },`)));
    expect(errors.map((e) => e.split('\n')[0])).toEqual(
      ['n1', 's1', 'e1'].map(
        (dc) =>
          `environment.yaml:13:3: error TOPOLOGY_NAME_TOO_LONG: [plugin velero] "${long}-${dc}" (Velero Schedule name and velero.io/schedule-name label in ${dc} (plugins/velero)) has 64 characters; Kubernetes allows 63 (field services.${long})`,
      ),
    );
  });
});
