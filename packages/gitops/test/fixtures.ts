/**
 * A small topology and a test plugin that turns it into the kinds of objects the risk
 * rules read (Velero Schedule and BackupStorageLocation, Flagger Canary, PrometheusRule,
 * per-DC service objects, optionally a Secret). The real plugins are written elsewhere;
 * this one derives every field from the model, so an edit of an environment file is what
 * changes the output — as it will with the real plugins.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { definePlugin, Type, type PluginDefinition } from '@topoforge/plugin-sdk';
// The backup and canary rules are velero's and flagger's, the alert rules @topoforge/review-prometheus' (contract v2 `review`); the fixture carries the real ones.
import { CanaryPolicySchema, canaryPolicyOf, review as flaggerReview } from '@topoforge/plugin-flagger';
import { BackupPolicySchema, backupPolicyOf, review as veleroReview } from '@topoforge/plugin-velero';
import { TrafficDropPolicySchema, trafficDropPolicyOf } from '@topoforge/plugin-traffic-alerts';
import { prometheusRuleReview } from '@topoforge/review-prometheus';

export const ENV = `kind: Environment
name: prod
stage: production
regions:
  west: { timeZone: Europe/Lisbon, businessUnits: [warehouses] }
  east: { timeZone: Europe/Berlin, businessUnits: [warehouses] }
dataCenters:
  n1: { region: west, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: bucket-n1 } }
  n2: { region: east, rotation: 2, cluster: { context: n2 }, backupStorage: { provider: aws, bucket: bucket-n2 } }
  n3: { region: west, rotation: 3, cluster: { context: n3 }, backupStorage: { provider: aws, bucket: bucket-n3 } }
policies:
  backup:
    daily:
      full: { everyDays: 1 }
      window: { start: "00:00", end: "00:30" }
      retentionDays: 7
  canary:
    web:
      interval: 1m
      threshold: 5
      maxWeight: 50
      stepWeight: 10
      successRateMin: 99
      durationMaxMs: 500
  trafficDrop:
    client:
      dropRatio: 0.5
      minRequestsPerSecond: 5
      rateWindow: 5m
      for: 5m
      severity: critical
  sessionCache:
    recent:
      windowSeconds: 240
      ttlSeconds: 240
      maxMemory: 256mb
      replication: standalone
      replicas: 0
services:
  shop:
    kind: online-store
    image: r/shop
    version: "1.0.0"
    rollout: canary
    database: { engine: postgresql, name: shop }
    policies: { backup: daily, canary: web, trafficDrop: client, sessionCache: recent }
  stock:
    kind: warehouse
    image: r/stock
    version: "1.0.0"
    policies: { backup: daily }
plugins:
  platform:
    options:
      excludeFromRotation: []
`;

/** Replaces text that must be present: a test edit that silently does nothing would prove nothing. */
export function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`fixture edit: "${from}" not found`);
  return text.replace(from, to);
}

const alertName = (prefix: string, service: string) => `${prefix}_${service.replace(/-/g, '_')}`;

export const platform = definePlugin({
  name: 'platform',
  description: 'test plugin: backups, canaries, alerts and service objects from the model',
  options: Type.Object(
    {
      excludeFromRotation: Type.Array(Type.String(), { default: [] }),
      databasePassword: Type.Optional(Type.String()),
      connectionNote: Type.Optional(Type.String()),
      fail: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  review: [...veleroReview, ...flaggerReview, ...prometheusRuleReview],
  // It reads backup, canary and trafficDrop policies, so it owns their groups here, with velero's, flagger's and traffic-alerts'
  // schemas (none of them is enabled in these tests).
  policies: { backup: BackupPolicySchema, canary: CanaryPolicySchema, trafficDrop: TrafficDropPolicySchema },
  render(ctx) {
    if (ctx.options.fail) ctx.error('asked to fail', { field: 'plugins.platform.options.fail' });
    const env = ctx.env;
    const rotation = env.dataCenters.filter((d) => !ctx.options.excludeFromRotation.includes(d.name));
    for (const dc of env.dataCenters) {
      const target = { dc: dc.name };
      for (const loc of env.dataCenters) {
        ctx.object(target, {
          apiVersion: 'velero.io/v1',
          kind: 'BackupStorageLocation',
          metadata: { name: `backups-${loc.name}`, namespace: 'velero' },
          spec: { provider: loc.backupStorage.provider, objectStorage: { bucket: loc.backupStorage.bucket } },
        });
      }
      for (const name of dc.services) {
        const s = env.services.find((x) => x.name === name)!;
        ctx.object(
          target,
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${s.name}-app`, namespace: s.namespace }, data: { version: s.version } },
          { service: s.name },
        );
        const backup = backupPolicyOf(s);
        if (backup && rotation.length > 0) {
          // each DC backs up to the next DC of the rotation
          const to = rotation[dc.rotation % rotation.length]!;
          ctx.object(
            target,
            {
              apiVersion: 'velero.io/v1',
              kind: 'Schedule',
              metadata: { name: `${s.name}-daily`, namespace: 'velero' },
              spec: {
                schedule: 'CRON_TZ=UTC 0 0 * * *',
                template: { ttl: `${backup.retentionDays * 24}h0m0s`, includedNamespaces: [s.namespace], storageLocation: `backups-${to.name}` },
              },
            },
            { service: s.name },
          );
        }
        const canary = canaryPolicyOf(s);
        if (canary && s.rollout === 'canary') {
          ctx.object(
            target,
            {
              apiVersion: 'flagger.app/v1beta1',
              kind: 'Canary',
              metadata: { name: s.name, namespace: s.namespace },
              spec: {
                targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
                service: { port: s.port },
                analysis: {
                  interval: canary.interval,
                  threshold: canary.threshold,
                  maxWeight: canary.maxWeight,
                  stepWeight: canary.stepWeight,
                  metrics: [
                    { name: 'request-success-rate', interval: '1m', thresholdRange: { min: canary.successRateMin } },
                    { name: 'request-duration', interval: '1m', thresholdRange: { max: canary.durationMaxMs } },
                  ],
                },
              },
            },
            { service: s.name },
          );
        }
        const drop = trafficDropPolicyOf(s);
        const cache = s.policies.sessionCache;
        const rules: Record<string, unknown>[] = [];
        if (drop) {
          const m = s.traffic.metric;
          const w = drop.rateWindow;
          rules.push({
            alert: alertName('TrafficDrop', s.name),
            expr: `(sum(rate(${m}{service="${s.name}"}[${w}])) / sum(rate(${m}{service="${s.name}"}[${w}] offset 1w))) < ${drop.dropRatio} and sum(rate(${m}{service="${s.name}"}[${w}] offset 1w)) > ${drop.minRequestsPerSecond}`,
            for: drop.for,
            labels: { severity: drop.severity },
          });
        }
        if (cache) {
          rules.push({
            alert: alertName('SessionWindowWrong', s.name),
            expr: `topoforge_session_window_seconds{service="${s.name}"} != ${cache.windowSeconds}`,
            for: '10m',
            labels: { severity: 'warning' },
          });
        }
        if (rules.length > 0) {
          ctx.object(
            target,
            {
              apiVersion: 'monitoring.coreos.com/v1',
              kind: 'PrometheusRule',
              metadata: { name: `${s.name}-alerts`, namespace: s.namespace },
              spec: { groups: [{ name: s.name, rules }] },
            },
            { service: s.name },
          );
        }
        if (ctx.options.databasePassword !== undefined && s.database === undefined) {
          ctx.object(
            target,
            {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: `${s.name}-db`, namespace: s.namespace },
              type: 'Opaque',
              stringData: { password: ctx.options.databasePassword },
            },
            { service: s.name },
          );
        }
      }
    }
    if (ctx.options.connectionNote !== undefined) ctx.file('notes/connection.txt', `${ctx.options.connectionNote}\n`);
  },
});

export const builtins = [platform] as unknown as readonly PluginDefinition<never>[];

const made: string[] = [];
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `topoforge-gitops-${prefix}-`));
  made.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), content);
  }
}

/** A git repository with a local identity (tests never depend on the machine's git config). */
export async function initRepo(dir: string, options: { bare?: boolean } = {}): Promise<SimpleGit> {
  mkdirSync(dir, { recursive: true });
  const git = simpleGit({ baseDir: dir });
  await git.raw(['init', '-q', '-b', 'main', ...(options.bare ? ['--bare'] : [])]);
  if (!options.bare) {
    await git.addConfig('user.name', 'Topoforge Test');
    await git.addConfig('user.email', 'test@topoforge.invalid');
    await git.addConfig('commit.gpgsign', 'false');
  }
  return git;
}

export const IDENTITY = { name: 'Topoforge Publisher', email: 'publisher@topoforge.invalid' } as const;
