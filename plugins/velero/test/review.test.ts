/**
 * Velero's own review rule (contract v2 `review`): a shorter Schedule ttl is flagged by the
 * plugin that writes Schedules. Checked on the Schedules the plugin emits for the bundled
 * production environment, before and after the retention of its backup policy shrinks.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, loadEnvironments, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import { prometheusRuleReview } from '@topoforge/review-prometheus';
import velero, { locationRemoved, locationUnused, retentionReduced, review, scheduleRemoved } from '../src/index.js';

const plugin = velero as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const production = loaded.value.find((e) => e.name === 'production') as Environment;

const ctx = { environment: 'production', where: 'dc01', tier: () => undefined };
const withTtl = (o: KubeObject, ttl: string | undefined): KubeObject => {
  const spec = o.spec as { template: Record<string, unknown> };
  const template = { ...spec.template };
  if (ttl === undefined) delete template.ttl;
  else template.ttl = ttl;
  return { ...o, spec: { ...spec, template } };
};

describe("velero's review rules", () => {
  it('are the plugin contribution diff runs, with severity and why', () => {
    // its own rules, then the shared PrometheusRule rules for its backup and drill alerts
    expect(plugin.review).toEqual([...review, ...prometheusRuleReview]);
    expect(review).toEqual([retentionReduced, scheduleRemoved, locationRemoved, locationUnused]);
    expect(retentionReduced).toMatchObject({ id: 'backup-retention-reduced', severity: 'medium', kinds: [{ group: 'velero.io', kind: 'Schedule' }] });
    expect(retentionReduced.why).toMatch(/expire sooner/);
  });

  it('flags a shorter ttl of an emitted Schedule, in Go duration and in days; not a longer or equal one', async () => {
    const r = await synth(plugin, production);
    const schedule = r.objects('Schedule')[0]!;
    const ttl = (schedule.spec as { template: { ttl: string } }).template.ttl;
    expect(ttl).toMatch(/^\d+h0m0s$/);
    const hours = Number(ttl.slice(0, ttl.indexOf('h')));
    const shorter = withTtl(schedule, `${hours - 48}h0m0s`);
    expect(retentionReduced.compare(schedule, shorter, ctx)).toEqual([`spec.template.ttl ${ttl} → ${hours - 48}h0m0s (${hours / 24}d → ${hours / 24 - 2}d)`]);
    expect(retentionReduced.compare(schedule, schedule, ctx)).toEqual([]);
    expect(retentionReduced.compare(shorter, schedule, ctx)).toEqual([]);
  });

  it("reads a missing ttl as Velero's 720h default, asks a human about a non-Go duration, ignores created and removed Schedules", async () => {
    const schedule = (await synth(plugin, production)).objects('Schedule')[0]!;
    const none = withTtl(schedule, undefined);
    expect(retentionReduced.compare(none, withTtl(schedule, '240h0m0s'), ctx)).toEqual(['spec.template.ttl (default 720h) → 240h0m0s (30d → 10d)']);
    expect(retentionReduced.compare(withTtl(schedule, '240h0m0s'), withTtl(schedule, '10 days'), ctx)).toEqual([
      'spec.template.ttl 240h0m0s → 10 days is not a Go duration; check the retention',
    ]);
    expect(retentionReduced.compare(undefined, schedule, ctx)).toEqual([]);
    expect(retentionReduced.compare(schedule, undefined, ctx)).toEqual([]);
  });

  it('flags a Schedule that is no longer rendered, with its cron expression; not a new or kept one', async () => {
    const schedule = (await synth(plugin, production)).objects('Schedule')[0]!;
    const cron = (schedule.spec as { schedule: string }).schedule;
    expect(scheduleRemoved).toMatchObject({ id: 'backup-schedule-removed', title: 'Backup schedule removed', severity: 'high' });
    expect(scheduleRemoved.compare(schedule, undefined, ctx)).toEqual([`schedule ${JSON.stringify(cron)} no longer exists`]);
    expect(scheduleRemoved.compare(schedule, schedule, ctx)).toEqual([]);
    expect(scheduleRemoved.compare(undefined, schedule, ctx)).toEqual([]);
  });

  it('flags a BackupStorageLocation that is no longer rendered, with its bucket', async () => {
    const location = (await synth(plugin, production)).objects('BackupStorageLocation')[0]!;
    const bucket = (location.spec as { objectStorage: { bucket: string } }).objectStorage.bucket;
    expect(locationRemoved.compare(location, undefined, ctx)).toEqual([`BackupStorageLocation removed (bucket ${JSON.stringify(bucket)})`]);
    expect(locationRemoved.compare(location, location, ctx)).toEqual([]);
  });

  it('flags a storage location no Schedule writes to any more, across every Schedule of the environment', async () => {
    const schedules = (await synth(plugin, production)).objects('Schedule');
    const at = (o: KubeObject, where: string) => ({ object: o, where });
    const writingTo = (o: KubeObject, location: string): KubeObject => {
      const spec = o.spec as { template: Record<string, unknown> };
      return { ...o, spec: { ...spec, template: { ...spec.template, storageLocation: location } } };
    };
    const [s1, s2] = [schedules[0]!, schedules[1]!];
    const env = { environment: 'production', tier: () => undefined };
    const before = [at(writingTo(s1, 'backups-a'), 'dc01'), at(writingTo(s2, 'backups-b'), 'dc02')];
    expect(locationUnused.compareAll(before, before, env)).toEqual([]);
    // both Schedules now write to backups-a: nothing lands in backups-b
    expect(locationUnused.compareAll(before, [at(writingTo(s1, 'backups-a'), 'dc01'), at(writingTo(s2, 'backups-a'), 'dc02')], env)).toEqual([
      { subject: 'storage location backups-b', detail: 'no Schedule writes to backups-b any more (it was used by Schedules in dc02)' },
    ]);
    expect(locationUnused.compareAll(before, [], env).map((f) => f.subject)).toEqual(['storage location backups-a', 'storage location backups-b']);
  });
});
