import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth, synthErrors } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import trafficAlerts, { failoverPlan, priorityClassName, PLATFORM_PRIORITY_CLASS } from '../src/index.js';

const plugin = trafficAlerts as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
const options = { orchestrator: { webhookUrl: 'http://failover-orchestrator.platform.svc:8080/alerts' } };
const work = mkdtempSync(join(tmpdir(), 'topoforge-promtool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hasPromtool = spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'ignore' }).status === 0;
if (!hasPromtool) console.warn('promtool is not installed: run `pnpm run setup:tools` (Debian package prometheus)');

/** Runs a command without blocking, so promtool runs use both cores. */
function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { cwd });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ code, out }));
  });
}

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe('traffic-drop rules', () => {
  it('cover every client-facing service in every DC where it runs, with the labels the orchestrator needs', async () => {
    const out = await synth(plugin, production, options);
    const rules = out.records('PrometheusRule');
    expect([...new Set(rules.map((r) => r.dc))]).toEqual(production.dataCenters.map((d) => d.name));
    // one object per service and DC: a one-service change touches only that service's files
    expect(rules.every((r) => r.path === `clusters/${r.dc}/traffic-alerts/monitoring/prometheusrule-traffic-drop-${r.service}.yaml`)).toBe(true);
    expect(new Set(rules.map((r) => r.path)).size).toBe(rules.length);
    const all = rules.flatMap((r) => (r.object.spec as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules));
    const clientFacing = production.services.filter((s) => s.tier === 'client-facing');
    const expected = clientFacing.flatMap((s) => s.dataCenters.map((dc) => `${s.name}@${dc}`)).sort();
    for (const alert of ['TrafficDrop', 'TrafficVanished']) {
      expect(all.filter((r) => r.alert === alert).map((r) => `${r.labels.service}@${r.labels.dc}`).sort()).toEqual(expected);
    }
    const drop = all.find((r) => r.alert === 'TrafficDrop' && r.labels.service === 'online-store' && r.labels.dc === 'dc03')!;
    expect(drop).toMatchObject({
      for: '5m',
      labels: { service: 'online-store', dc: 'dc03', recovery_priority: '3', severity: 'critical', action: 'failover', environment: 'production' },
      annotations: { failover_targets: 'dc04,dc01,dc02,dc05,dc06,dc07,dc08,dc09,dc10', runbook_url: 'https://runbooks.example.com/traffic#traffic-drop' },
    });
    expect(drop.expr).toBe(
      '(sum(rate(http_requests_total{dc="dc03",service="online-store"}[5m])) < 0.5 * sum(rate(http_requests_total{dc="dc03",service="online-store"}[5m] offset 1w))) and (sum(rate(http_requests_total{dc="dc03",service="online-store"}[5m] offset 1w)) > 5)',
    );
    for (const r of all) {
      const tree = parser.parse(r.expr);
      let error = false;
      tree.iterate({ enter: (n) => { if (n.type.isError) error = true; } });
      expect(error, r.expr).toBe(false);
    }
    // no alerts for regional services
    expect(all.some((r) => r.labels.service === 'warehouse')).toBe(false);
  });

  it.runIf(hasPromtool)('pass promtool check rules and the generated promtool unit tests (quiet night, normal day, sharp drop, vanished)', async () => {
    // Every file of one staging and one production DC (about 5 s each: promtool simulates a week).
    const jobs: { dir: string; service: string }[] = [];
    for (const [env, dc] of [[staging, 'stg01'], [production, 'dc10']] as const) {
      const out = await synth(plugin, env, options);
      const dir = join(work, env.name, dc);
      mkdirSync(dir, { recursive: true });
      const services = [...out.files.keys()].filter((p) => p.startsWith(`environment/traffic-alerts/promtool/${dc}/`) && p.endsWith('.test.yaml'));
      expect(services.length).toBe(env.dataCenters.find((d) => d.name === dc)!.services.filter((n) => env.services.find((x) => x.name === n)!.tier === 'client-facing').length);
      for (const path of services) {
        const service = path.split('/').pop()!.replace('.test.yaml', '');
        writeFileSync(join(dir, `${service}.rules.yaml`), out.text(path.replace('.test.yaml', '.rules.yaml')));
        writeFileSync(join(dir, `${service}.test.yaml`), out.text(path));
        jobs.push({ dir, service });
      }
    }
    const check = spawnSync('promtool', ['check', 'rules', ...jobs.map((j) => join(j.dir, `${j.service}.rules.yaml`))], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout.match(/SUCCESS: 2 rules found/g)).toHaveLength(jobs.length);
    const results = await Promise.all(jobs.map((j) => run('promtool', ['test', 'rules', `${j.service}.test.yaml`], j.dir)));
    for (const [i, r] of results.entries()) expect(r.code, `${jobs[i]!.dir}/${jobs[i]!.service}: ${r.out}`).toBe(0);
  }, 600_000);

  it.runIf(hasPromtool)('promtool catches a broken rule: the generated tests are not vacuous', async () => {
    const out = await synth(plugin, staging, options);
    const dir = join(work, 'broken');
    mkdirSync(dir, { recursive: true });
    // a threshold so low that the sharp drop no longer fires
    writeFileSync(join(dir, 'online-store.rules.yaml'), out.text('environment/traffic-alerts/promtool/stg01/online-store.rules.yaml').replaceAll('< 0.5 *', '< 0.01 *'));
    writeFileSync(join(dir, 'online-store.test.yaml'), out.text('environment/traffic-alerts/promtool/stg01/online-store.test.yaml'));
    const r = await run('promtool', ['test', 'rules', 'online-store.test.yaml'], dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/alertname: TrafficDrop, time: 7d8h11m/);
  }, 300_000);
});

describe('failover, routing, recovery order and logs', () => {
  it('plans, for the loss of each DC, where each service goes: same region first, in recovery order', () => {
    const plan = failoverPlan(production);
    const dc01 = plan.find((p) => p.lost === 'dc01')!;
    expect(dc01.moves.map((m) => m.service)).toEqual(['social-network', 'telemetry', 'online-store', 'social-web', 'storefront-web']);
    expect(dc01.moves[0]!.targets[0]).toBe('dc02'); // same region eu-west
    expect(plan.find((p) => p.lost === 'dc05')!.moves[0]!.targets.slice(0, 2)).toEqual(['dc01', 'dc02']); // eu-north has one DC
    expect(plan.every((p) => p.moves.every((m) => !m.targets.includes(p.lost) && m.targets.length > 0))).toBe(true);
  });

  it('routes failover alerts to the orchestrator webhook and emits a Gslb per client-facing service', async () => {
    const out = await synth(plugin, production, options);
    const amc = out.objects('AlertmanagerConfig')[0]!;
    expect(amc.spec).toMatchObject({ route: { receiver: 'failover-orchestrator', matchers: [{ name: 'action', value: 'failover', matchType: '=' }] }, receivers: [{ webhookConfigs: [{ url: options.orchestrator.webhookUrl }] }] });
    const gslbs = out.records('Gslb');
    expect(gslbs.filter((r) => r.dc === 'dc07').map((r) => r.service).sort()).toEqual(['online-store', 'social-network', 'social-web', 'storefront-web', 'telemetry']);
    expect(gslbs[0]!.object.spec).toEqual({ resourceRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: gslbs[0]!.service }, strategy: { type: 'failover', primaryGeoTag: 'eu-west', dnsTtlSeconds: 30 } });
  });

  it('makes the recovery order concrete: PriorityClasses from social network (highest) to warehouse and logistics', async () => {
    const out = await synth(plugin, production, options);
    const pcs = out.records('PriorityClass').filter((r) => r.dc === 'dc01').map((r) => r.object as unknown as { metadata: { name: string }; value: number });
    expect(pcs.map((p) => p.metadata.name).sort()).toEqual([PLATFORM_PRIORITY_CLASS, ...[1, 2, 3, 4].map(priorityClassName)]);
    const tiers = [1, 2, 3, 4].map((n) => pcs.find((p) => p.metadata.name === priorityClassName(n))!);
    expect(tiers.map((p) => p.value)).toEqual([...tiers.map((p) => p.value)].sort((a, b) => b - a));
    // The platform class outranks every app tier: failover's own components get capacity first.
    expect(pcs.find((p) => p.metadata.name === PLATFORM_PRIORITY_CLASS)!.value).toBeGreaterThan(Math.max(...tiers.map((p) => p.value)));
    expect(Math.max(...pcs.map((p) => p.value))).toBeLessThanOrEqual(1_000_000_000);
    expect(out.text('environment/recovery-order.yaml')).toContain('priorityClassName: topoforge-recovery-p1\n    services:\n      - social-network');
  });

  it('collects logs per DC and alerts on them', async () => {
    const out = await synth(plugin, production, options);
    const cm = out.records('ConfigMap').filter((r) => r.dc === 'dc09');
    const alloy = (cm.find((r) => r.object.metadata.name === 'alloy-logs')!.object.data as Record<string, string>)['config.alloy']!;
    expect(alloy).toContain('dc          = "dc09"');
    const rules = (cm.find((r) => r.object.metadata.name === 'loki-rules-topoforge')!.object.data as Record<string, string>)['topoforge-logs.yaml']!;
    const parsed = parse(rules) as { groups: { name: string; rules: { alert: string; expr: string }[] }[] };
    const wh = parsed.groups.find((g) => g.name === 'logs-warehouse-dc09')!;
    expect(wh.rules.map((r) => r.alert)).toEqual(['LogErrorRatioHigh', 'LogsVanished']);
    expect(wh.rules[1]!.expr).toBe('absent_over_time({namespace="warehouse", dc="dc09"} [15m])');
  });

  it('requires the orchestrator webhook', async () => {
    expect((await synthErrors([plugin], production, { 'traffic-alerts': {} })).join('\n')).toContain('missing required field "orchestrator"');
  });
});

const shared = findSharedDir();
if (!shared) console.warn(SHARED_MISSING);
describe.runIf(shared)('custom resources validate against the upstream CRDs', () => {
  it('PrometheusRule, AlertmanagerConfig and Gslb', async () => {
    const catalog = CrdCatalog.fromDir(join(shared!, 'crds'));
    const objs = [...(await synth(plugin, production, options)).objects(), ...(await synth(plugin, staging, options)).objects()].filter((o) => catalog.has(o.apiVersion, o.kind));
    expect(new Set(objs.map((o) => o.kind))).toEqual(new Set(['PrometheusRule', 'AlertmanagerConfig', 'Gslb']));
    expect(objs.flatMap((o) => catalog.validate(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path} ${p.message}`))).toEqual([]);
  });
});
