import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { environmentFromYaml, synth, synthErrors } from '@topoforge/plugin-sdk/testing';
import { ruleTestFile, type PluginDefinition, type RuleTest } from '@topoforge/plugin-sdk';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import trafficAlerts, {
  failoverPlan,
  operatorAlertmanagerConfig,
  priorityClassName,
  PLATFORM_PRIORITY_CLASS,
  promqlSyntaxErrors,
  quoteLabelValue,
  orchestratorHealthRules,
  ruleGroups,
} from '../src/index.js';

const plugin = trafficAlerts as PluginDefinition<never>;
const envDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const loaded = loadEnvironments(envDir);
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
const options = { orchestrator: { webhookUrl: 'http://failover-orchestrator.platform.svc:8080/alerts' } };
const work = mkdtempSync(join(tmpdir(), 'topoforge-promtool-'));
/** The webhook token Secret the platform creates in the AlertmanagerConfig's namespace (what the operator reads). */
const WEBHOOK_TOKEN = 'test-webhook-token-0123456789abcdef';
const webhookSecret = (namespace = 'monitoring', data: Record<string, string> = { token: Buffer.from(WEBHOOK_TOKEN).toString('base64') }) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'failover-orchestrator-webhook', namespace },
  data,
});
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
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const BASE = `kind: Base
policies:
  trafficDrop:
    client-facing: { dropRatio: 0.5, minRequestsPerSecond: 5, rateWindow: 5m, for: 5m, severity: critical }
services:
  online-store:
    kind: online-store
    image: registry.example.com/store
    version: "1.0.0"
`;
const STAGING_WITH_SELECTOR = (selector: string) => `kind: Environment
name: staging
stage: staging
extends: base.yaml
regions:
  eu-west: { timeZone: Europe/Lisbon, businessUnits: [] }
dataCenters:
  stg01:
    region: eu-west
    rotation: 1
    cluster: { context: stg01 }
    backupStorage: { provider: aws, bucket: b1-backups, config: { region: eu-west-1 } }
  stg02:
    region: eu-west
    rotation: 2
    cluster: { context: stg02 }
    backupStorage: { provider: aws, bucket: b2-backups, config: { region: eu-west-1 } }
services:
  online-store:
    policies: { trafficDrop: client-facing }
    traffic:
      metric: http_requests_total
      selector:
        ${selector}
`;

describe('traffic-drop rules', () => {
  it('one rule group per client-facing service in every cluster that runs it, with what routing and the orchestrator need', async () => {
    const out = await synth(plugin, production, options);
    const all = out.records('PrometheusRule');
    // beside the services' rules, one group for the orchestrator's own health in every cluster
    expect(all.filter((r) => r.object.metadata.name === 'failover-orchestrator-health').map((r) => r.dc)).toEqual(production.dataCenters.map((d) => d.name));
    const rules = all.filter((r) => r.object.metadata.name !== 'failover-orchestrator-health');
    expect([...new Set(rules.map((r) => r.dc))]).toEqual(production.dataCenters.map((d) => d.name));
    // one object per service and DC: a one-service change touches only that service's files
    expect(rules.every((r) => r.path === `clusters/${r.dc}/traffic-alerts/monitoring/prometheusrule-traffic-drop-${r.service}.yaml`)).toBe(true);
    expect(new Set(rules.map((r) => r.path)).size).toBe(rules.length);
    const group = (rules.find((r) => r.service === 'online-store' && r.dc === 'dc03')!.object.spec as { groups: { rules: Rule[] }[] }).groups[0]!;
    expect(group.rules.map((r) => r.alert ?? r.record)).toEqual([
      'topoforge:service_dc_requests:rate',
      'topoforge:service_dc_requests:rate_1w_ago',
      'topoforge:service_dc_requests:rate_1w_baseline',
      'topoforge:service_dc_requests:ratio_1w',
      'topoforge:service_dc_requests:others_ratio_1w',
      'TrafficDrop',
      'TrafficVanished',
      'TrafficMetricMissing',
      'TrafficFailbackReady',
    ]);
    const drop = group.rules.find((r) => r.alert === 'TrafficDrop')!;
    expect(drop).toMatchObject({
      for: '5m',
      // namespace: prometheus-operator's OnNamespace matcher routes only alerts of the AlertmanagerConfig's namespace
      labels: { service: 'online-store', recovery_priority: '3', severity: 'critical', action: 'failover', environment: 'production', namespace: 'monitoring' },
    });
    expect(drop.expr).toBe(
      '((topoforge:service_dc_requests:ratio_1w{service="online-store"} < 0.5 * topoforge:service_dc_requests:others_ratio_1w{service="online-store"}) and on(dc) (topoforge:service_dc_requests:rate_1w_ago{service="online-store"} > 5) and on() (sum(topoforge:service_dc_requests:rate{service="online-store"}) > 5)) unless on(dc) (topoforge_failover_drained{service="online-store"} == 1)',
    );
    expect(group.rules.find((r) => r.alert === 'TrafficMetricMissing')!.labels!.action).toBeUndefined();
    for (const r of rules.flatMap((x) => (x.object.spec as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules)))
      expect(promqlSyntaxErrors(r.expr), r.expr).toEqual([]);
    // no alerts for regional services
    expect(rules.some((r) => r.service === 'warehouse')).toBe(false);
  });

  it('labels PrometheusRules for the Prometheus ruleSelector when asked (kube-prometheus-stack selects on release)', async () => {
    const out = await synth(plugin, staging, { ...options, ruleLabels: { release: 'kube-prometheus-stack' } });
    expect(out.objects('PrometheusRule').every((o) => o.metadata.labels?.release === 'kube-prometheus-stack')).toBe(true);
  });

  it('escapes selector values and refuses a line break or quote mistake at load, naming the field', async () => {
    expect(quoteLabelValue('a"b\\c')).toBe('"a\\"b\\\\c"');
    // A line break never reaches the plugin: the model refuses control characters at load, with the position.
    let errs = '';
    try {
      environmentFromYaml(STAGING_WITH_SELECTOR('service: "store\\n\\"x"'), { 'base.yaml': BASE });
    } catch (e) {
      errs = String(e);
    }
    expect(errs).toMatch(/TOPOLOGY_INVALID_VALUE: services\.online-store\.traffic\.selector\.service contains the control character U\+000A/);
    expect(errs).toMatch(/environment\.yaml:\d+:\d+/);
    // a quote alone is fine: escaped, and the rule parses
    const ok = environmentFromYaml(STAGING_WITH_SELECTOR("service: 'store\"x'"), { 'base.yaml': BASE });
    const out = await synth(plugin, ok, options);
    const expr = (out.objects('PrometheusRule').find((o) => o.metadata.name === 'traffic-drop-online-store')!.spec as { groups: { rules: Rule[] }[] })
      .groups[0]!.rules[0]!.expr;
    expect(expr).toContain('{service="store\\"x"}');
    expect(promqlSyntaxErrors(expr)).toEqual([]);
  });

  it.runIf(hasPromtool)(
    'pass promtool check rules and the generated promtool unit tests (holiday dip, canary, quiet night, clock change silent; loss, vanish fire; drain resolves; failback; metric missing warns)',
    async () => {
      const jobs: { dir: string; service: string }[] = [];
      for (const [env, services] of [
        [staging, ['online-store', 'social-network', 'telemetry']],
        [production, ['social-network']],
      ] as const) {
        const out = await synth(plugin, env, options);
        const dir = join(work, env.name);
        mkdirSync(dir, { recursive: true });
        for (const service of services) {
          for (const ext of ['rules', 'test'])
            writeFileSync(join(dir, `${service}.${ext}.yaml`), out.text(`environment/traffic-alerts/promtool/${service}.${ext}.yaml`));
          jobs.push({ dir, service });
        }
      }
      const check = spawnSync('promtool', ['check', 'rules', ...jobs.map((j) => join(j.dir, `${j.service}.rules.yaml`))], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(check.stdout.match(/SUCCESS: 9 rules found/g)).toHaveLength(jobs.length);
      const results = await Promise.all(jobs.map((j) => run('promtool', ['test', 'rules', `${j.service}.test.yaml`], j.dir)));
      for (const [i, r] of results.entries()) expect(r.code, `${jobs[i]!.dir}/${jobs[i]!.service}: ${r.out}`).toBe(0);
    },
    1_200_000,
  );

  it.runIf(hasPromtool)(
    'promtool catches the old criterion (the DC against its own last week): the clock change and holiday tests fail',
    async () => {
      const out = await synth(plugin, staging, options);
      const dir = join(work, 'broken');
      mkdirSync(dir, { recursive: true });
      // compare the DC with its own last week only: demand changes now look like losses
      const doc = parse(out.text('environment/traffic-alerts/promtool/telemetry.rules.yaml')) as { groups: { rules: Rule[] }[] };
      const drop = doc.groups[0]!.rules.find((r) => r.alert === 'TrafficDrop')!;
      const before = drop.expr;
      drop.expr = drop.expr.replace('< 0.5 * topoforge:service_dc_requests:others_ratio_1w{service="telemetry"}', '< 0.5');
      expect(drop.expr).not.toBe(before);
      writeFileSync(join(dir, 'telemetry.rules.yaml'), stringify(doc));
      writeFileSync(join(dir, 'telemetry.test.yaml'), out.text('environment/traffic-alerts/promtool/telemetry.test.yaml'));
      const r = await run('promtool', ['test', 'rules', 'telemetry.test.yaml'], dir);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/alertname: TrafficDrop, time: 7d9h54m/); // the holiday dip (at 8:30 the clock-change baseline still covers 0.3 × peak)
    },
    600_000,
  );
});

describe.runIf(hasPromtool)("the orchestrator's own health, through promtool", () => {
  // Failover alerts go to the orchestrator only: with it down, unscraped, leaderless, or cut off
  // from Alertmanager (a rejected AlertmanagerConfig, a wrong token), a lost DC is drained by
  // nobody and nobody is told. Every cluster's rules must say so.
  it('fires when no replica leads, when routed failover alerts stop arriving, and when the webhook is refused; stays silent when healthy', async () => {
    const out = await synth(plugin, staging, options);
    const dir = join(work, 'health');
    mkdirSync(dir, { recursive: true });
    const groups = out
      .records('PrometheusRule')
      .filter((r) => r.dc === 'stg01')
      .flatMap((r) => (r.object.spec as { groups: unknown[] }).groups);
    writeFileSync(join(dir, 'all.rules.yaml'), stringify({ groups }));
    const labels = { severity: 'critical', environment: 'staging', namespace: 'monitoring' };
    const health = orchestratorHealthRules(staging, {
      dcLabel: 'dc',
      runbookBaseUrl: 'https://runbooks.example.com/traffic',
      namespace: 'monitoring',
      health: { metric: 'probe_success', failbackFor: '10m' },
    });
    const expect1 = (alertname: string, extra: Record<string, string> = {}) => [
      {
        exp_labels: { alertname, ...labels, ...extra },
        exp_annotations: Object.fromEntries(
          Object.entries(health.rules.find((r) => r.alert === alertname)!.annotations!).map(([k, v]) => [
            k,
            v.replace('{{ $labels.reason }}', extra.reason ?? ''),
          ]),
        ),
      },
    ];
    const firing = 'ALERTS{alertname="TrafficDrop",alertstate="firing",action="failover",namespace="monitoring",service="social-network",dc="stg01"}';
    // As scraped: the target's labels only (the process adds none); a and b are two replicas.
    const replica = (r: 'a' | 'b', extra = '') =>
      `{job="failover-orchestrator",namespace="platform",pod="failover-orchestrator-${r}",instance="failover-orchestrator-${r}:8080"${extra}}`;
    const healthy = [
      { series: `topoforge_failover_leader${replica('a')}`, values: '1x60' },
      { series: `topoforge_failover_leader${replica('b')}`, values: '0x60' },
    ];
    /** A firing failover alert delivered every 5 minutes (repeat_interval). */
    const everyFiveMinutes = '1 1 1 1 1 2 2 2 2 2 3 3 3 3 3 4 4 4 4 4 5 5 5 5 5 6 6 6 6 6 7 7 7 7 7 8 8 8 8 8';
    const received = (r: 'a' | 'b', status: 'firing' | 'resolved') => `topoforge_failover_alerts_received_total${replica(r, `,status="${status}"`)}`;
    // Both counters of both replicas exist from the start at 0 (orchestrator.ts).
    const zeros = (['a', 'b'] as const).flatMap((r) => (['firing', 'resolved'] as const).map((s) => ({ series: received(r, s), values: '0x40' })));
    const silent = (t: number) =>
      ['FailoverOrchestratorNoLeader', 'FailoverAlertsNotReceived', 'FailoverWebhookRejected'].map((alertname) => ({
        eval_time: `${t}m`,
        alertname,
        exp_alerts: [],
      }));
    // Every replica's counters at 0 but `r`'s firing receipts, one every 5 minutes.
    const receivedOnlyBy = (r: 'a' | 'b') => [
      ...zeros.filter((z) => z.series !== received(r, 'firing')),
      { series: received(r, 'firing'), values: everyFiveMinutes },
    ];
    const tests: RuleTest[] = [
      {
        name: 'healthy: a leader, a firing failover alert delivered every 5 minutes (repeat_interval)',
        interval: '1m',
        input_series: [...healthy, { series: firing, values: '1x60' }, ...receivedOnlyBy('a')],
        alert_rule_test: silent(39),
      },
      {
        // A standby keeps the alerts for a take-over but decides nothing (orchestrator.ts tick):
        // its receipts must not hide that the leader gets none (the Service or the URL reaches
        // only a standby, or every delivery to the leader fails).
        name: 'a failover alert fires and only a standby receives it, the leader nothing: not received',
        interval: '1m',
        input_series: [...healthy, { series: firing, values: '1x60' }, ...receivedOnlyBy('b')],
        alert_rule_test: [
          { eval_time: '9m', alertname: 'FailoverAlertsNotReceived', exp_alerts: [] },
          { eval_time: '11m', alertname: 'FailoverAlertsNotReceived', exp_alerts: expect1('FailoverAlertsNotReceived') },
          { eval_time: '39m', alertname: 'FailoverAlertsNotReceived', exp_alerts: expect1('FailoverAlertsNotReceived') },
        ],
      },
      {
        name: 'leadership moves to the standby that receives: received again once it leads',
        interval: '1m',
        input_series: [
          { series: `topoforge_failover_leader${replica('a')}`, values: '1x19 0x40' },
          { series: `topoforge_failover_leader${replica('b')}`, values: '0x19 1x40' },
          { series: firing, values: '1x60' },
          ...receivedOnlyBy('b'),
        ],
        alert_rule_test: [
          { eval_time: '15m', alertname: 'FailoverAlertsNotReceived', exp_alerts: expect1('FailoverAlertsNotReceived') },
          { eval_time: '21m', alertname: 'FailoverAlertsNotReceived', exp_alerts: [] },
          ...silent(39),
        ],
      },
      {
        // Nobody holds a majority: the standbys receive every notification, so delivery is not the
        // fault and FailoverOrchestratorNoLeader says what is; a second page pointing at the
        // AlertmanagerConfig and the URL would send the operator the wrong way.
        name: 'replicas up and receiving, none leads: no leader, and the alerts are not "not received"',
        interval: '1m',
        input_series: [
          { series: `topoforge_failover_leader${replica('a')}`, values: '0x60' },
          { series: `topoforge_failover_leader${replica('b')}`, values: '0x60' },
          { series: firing, values: '1x60' },
          ...zeros.filter((z) => z.series !== received('a', 'firing') && z.series !== received('b', 'firing')),
          { series: received('a', 'firing'), values: everyFiveMinutes },
          { series: received('b', 'firing'), values: everyFiveMinutes },
        ],
        alert_rule_test: [
          { eval_time: '39m', alertname: 'FailoverOrchestratorNoLeader', exp_alerts: expect1('FailoverOrchestratorNoLeader') },
          { eval_time: '39m', alertname: 'FailoverAlertsNotReceived', exp_alerts: [] },
        ],
      },
      {
        name: 'no replica scraped (orchestrator down): no leader',
        interval: '1m',
        input_series: [{ series: 'probe_success{service="social-network",dc="stg01"}', values: '1x30' }],
        alert_rule_test: [
          { eval_time: '4m', alertname: 'FailoverOrchestratorNoLeader', exp_alerts: [] },
          { eval_time: '6m', alertname: 'FailoverOrchestratorNoLeader', exp_alerts: expect1('FailoverOrchestratorNoLeader') },
        ],
      },
      {
        name: 'replicas up, none holds the majority: no leader',
        interval: '1m',
        input_series: [{ series: 'topoforge_failover_leader{pod="a"}', values: '1 1 1 1 1 0x30' }],
        alert_rule_test: [{ eval_time: '12m', alertname: 'FailoverOrchestratorNoLeader', exp_alerts: expect1('FailoverOrchestratorNoLeader') }],
      },
      {
        name: 'a failover alert fires and the orchestrator receives nothing (not routed, not delivered)',
        interval: '1m',
        input_series: [...healthy, { series: firing, values: '1x60' }, ...zeros],
        alert_rule_test: [
          { eval_time: '9m', alertname: 'FailoverAlertsNotReceived', exp_alerts: [] },
          { eval_time: '11m', alertname: 'FailoverAlertsNotReceived', exp_alerts: expect1('FailoverAlertsNotReceived') },
        ],
      },
      {
        name: "the orchestrator refuses the webhook (the token Alertmanager sends is not the orchestrator's)",
        interval: '1m',
        input_series: [
          ...healthy,
          { series: 'topoforge_failover_webhook_rejected_total{path="/alerts",reason="wrong"}', values: '0 0 0 1 1 1 2 2 2 2 2 2 2 2 2 2 2 2 2 2' },
        ],
        alert_rule_test: [
          { eval_time: '2m', alertname: 'FailoverWebhookRejected', exp_alerts: [] },
          { eval_time: '4m', alertname: 'FailoverWebhookRejected', exp_alerts: expect1('FailoverWebhookRejected', { reason: 'wrong' }) },
        ],
      },
    ];
    writeFileSync(join(dir, 'health.test.yaml'), stringify(ruleTestFile('all.rules.yaml', '1m', tests)));
    const r = await run('promtool', ['test', 'rules', 'health.test.yaml'], dir);
    expect(r.code, r.out).toBe(0);
  }, 300_000);
});

const hasAmtool = spawnSync('sh', ['-c', 'command -v amtool'], { stdio: 'ignore' }).status === 0;
if (!hasAmtool) console.warn('amtool is not installed: run `pnpm run setup:tools` (Debian package prometheus-alertmanager)');

describe.runIf(hasAmtool)('routing through the real Alertmanager (amtool) with the configuration prometheus-operator generates', () => {
  it('every failover and failback alert reaches the orchestrator receiver; the blind-criterion warning does not', async () => {
    for (const env of [staging, production]) {
      const out = await synth(plugin, env, options);
      const amc = out.objects('AlertmanagerConfig')[0]!;
      const file = join(work, `alertmanager-${env.name}.yaml`);
      writeFileSync(file, stringify(operatorAlertmanagerConfig([amc], undefined, { secrets: [webhookSecret()] })));
      const check = spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      const receiver = 'monitoring/failover-orchestrator/failover-orchestrator';
      const group = (out.objects('PrometheusRule').find((o) => o.metadata.name === 'traffic-drop-social-network')!.spec as { groups: { rules: Rule[] }[] })
        .groups[0]!;
      for (const s of env.services.filter((x) => x.tier === 'client-facing')) {
        for (const r of ruleGroups(env, {
          dcLabel: 'dc',
          runbookBaseUrl: 'https://x',
          namespace: 'monitoring',
          health: { metric: 'probe_success', failbackFor: '10m' },
        })
          .find((g) => g.name === `traffic-${s.name}`)!
          .rules.filter((x) => x.alert)) {
          const labels = Object.entries({ ...r.labels, alertname: r.alert!, dc: s.dataCenters[0]! }).map(([k, v]) => `${k}=${v}`);
          const res = spawnSync('amtool', ['config', 'routes', 'test', `--config.file=${file}`, ...labels], { encoding: 'utf8' });
          expect(res.stdout.trim(), `${s.name} ${r.alert}`).toBe(r.labels!.action ? receiver : 'null');
        }
      }
      // without the namespace label (the old rules) the operator's matcher sends it to null
      const old = Object.entries({ ...group.rules.find((x) => x.alert === 'TrafficDrop')!.labels, alertname: 'TrafficDrop', dc: 'x' })
        .filter(([k]) => k !== 'namespace')
        .map(([k, v]) => `${k}=${v}`);
      expect(spawnSync('amtool', ['config', 'routes', 'test', `--config.file=${file}`, ...old], { encoding: 'utf8' }).stdout.trim()).toBe('null');
      const verify = spawnSync(
        'amtool',
        [
          'config',
          'routes',
          'test',
          `--config.file=${file}`,
          `--verify.receivers=${receiver}`,
          'alertname=TrafficDrop',
          'action=failover',
          'namespace=monitoring',
          'service=social-network',
          'dc=x',
        ],
        { encoding: 'utf8' },
      );
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    }
  });
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
    expect(amc.spec).toMatchObject({
      route: { receiver: 'failover-orchestrator', matchers: [{ name: 'action', value: 'failover|failback', matchType: '=~' }] },
      receivers: [
        {
          webhookConfigs: [
            {
              url: options.orchestrator.webhookUrl,
              sendResolved: true,
              // a reference to the Secret in the AlertmanagerConfig's namespace, never a value
              httpConfig: { authorization: { type: 'Bearer', credentials: { name: 'failover-orchestrator-webhook', key: 'token' } } },
            },
          ],
        },
      ],
    });
    const gslbs = out.records('Gslb');
    expect(
      gslbs
        .filter((r) => r.dc === 'dc07')
        .map((r) => r.service)
        .sort(),
    ).toEqual(['online-store', 'social-network', 'social-web', 'storefront-web', 'telemetry']);
    // weighted round robin over every DC (one geo tag per cluster): traffic stays distributed
    expect(gslbs[0]!.object.spec).toEqual({
      resourceRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: gslbs[0]!.service },
      strategy: { type: 'roundRobin', dnsTtlSeconds: 30, weight: Object.fromEntries(production.dataCenters.map((d) => [d.name, 10])) },
    });
    // the same Gslb in every cluster
    expect(new Set(gslbs.filter((r) => r.service === 'telemetry').map((r) => JSON.stringify(r.object.spec))).size).toBe(1);
  });

  it('emits orchestrator replicas in the first DC of three regions and least-privilege RBAC (patch Gslbs in service namespaces only, one Lease) in every DC', async () => {
    const out = await synth(plugin, production, options);
    const deployments = out.records('Deployment');
    expect(deployments.map((r) => r.dc)).toEqual(['dc01', 'dc03', 'dc05']);
    expect(new Set(['dc01', 'dc03', 'dc05'].map((dc) => production.dataCenters.find((d) => d.name === dc)!.region)).size).toBe(3);
    expect(out.records('Service').map((r) => `${r.dc}/${r.object.metadata.namespace}/${r.object.metadata.name}`)).toEqual(
      ['dc01', 'dc03', 'dc05'].map((dc) => `${dc}/platform/failover-orchestrator`),
    );
    // Each replica names its DC and pod as the Lease holder.
    const container = (deployments[1]!.object.spec as { template: { spec: { containers: { args: string[]; env: unknown[] }[] } } }).template.spec
      .containers[0]!;
    expect(container.args.slice(-2)).toEqual(['--identity', 'dc03/$(POD_NAME)']);
    expect(container.env).toEqual([{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
    // The election Lease: get/update on its name only; create cannot be limited by name.
    const leaseRoles = out.records('Role').filter((r) => r.object.metadata.name === 'failover-orchestrator-lease');
    expect(leaseRoles.map((r) => `${r.dc}/${r.object.metadata.namespace}`)).toEqual(production.dataCenters.map((d) => `${d.name}/platform`));
    expect((leaseRoles[0]!.object as unknown as { rules: unknown }).rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['failover-orchestrator'], verbs: ['get', 'update'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    ]);
    expect(out.records('RoleBinding').filter((r) => r.object.metadata.name === 'failover-orchestrator-lease')).toHaveLength(production.dataCenters.length);
    const cms = out.records('ConfigMap').filter((r) => r.object.metadata.name === 'failover-orchestrator');
    expect(cms.map((r) => r.dc)).toEqual(['dc01', 'dc03', 'dc05']);
    const election = (JSON.parse((cms[0]!.object.data as Record<string, string>)['config.json']!) as { election: unknown }).election;
    expect(election).toEqual({
      replicas: ['dc01', 'dc03', 'dc05'],
      namespace: 'platform',
      leaseName: 'failover-orchestrator',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
    });
    const roles = out.records('Role').filter((r) => r.dc === 'dc05' && r.object.metadata.name === 'failover-orchestrator');
    expect(roles.map((r) => r.object.metadata.namespace).sort()).toEqual(
      [...new Set(production.services.filter((s) => s.tier === 'client-facing').map((s) => s.namespace))].sort(),
    );
    for (const r of roles)
      expect((r.object as unknown as { rules: unknown }).rules).toEqual([
        { apiGroups: ['k8gb.io'], resources: ['gslbs'], verbs: ['get', 'list', 'watch', 'patch'] },
      ]);
    expect(out.records('ClusterRole')).toEqual([]);
    const cm = out.records('ConfigMap').find((r) => r.object.metadata.name === 'failover-orchestrator')!;
    const config = JSON.parse((cm.object.data as Record<string, string>)['config.json']!) as { services: { name: string; dcs: unknown[] }[] };
    expect(config.services.map((s) => s.name)).toEqual(['social-network', 'telemetry', 'online-store', 'social-web', 'storefront-web']);
  });

  it('runs one replica, as before, with fewer than three DCs (a majority of two cannot lose one), and checks the replica options', async () => {
    const out = await synth(plugin, staging, options);
    expect(out.records('Deployment').map((r) => r.dc)).toEqual(['stg01']);
    expect(out.records('Role').filter((r) => r.object.metadata.name === 'failover-orchestrator-lease')).toEqual([]);
    const cm = out.records('ConfigMap').find((r) => r.object.metadata.name === 'failover-orchestrator')!;
    expect(JSON.parse((cm.object.data as Record<string, string>)['config.json']!)).not.toHaveProperty('election');
    expect(
      (out.records('Deployment')[0]!.object.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args,
    ).not.toContain('--identity');
    const errors = async (env: Environment, orchestrator: Record<string, unknown>) =>
      (await synthErrors([plugin], env, { 'traffic-alerts': { orchestrator: { ...options.orchestrator, ...orchestrator } } })).join('\n');
    expect(await errors(staging, { replicaDcs: ['stg01', 'stg02'] })).toContain('2 replicas need at least 3 DC clusters');
    expect(await errors(production, { replicaDcs: ['dc01', 'dc99'] })).toContain('no DC named "dc99"');
    expect(await errors(production, { replicaDcs: ['dc01'], hostDc: 'dc02' })).toContain('not both');
    // hostDc alone keeps its old meaning: one replica there.
    const one = await synth(plugin, production, { orchestrator: { ...options.orchestrator, hostDc: 'dc07' } });
    expect(one.records('Deployment').map((r) => r.dc)).toEqual(['dc07']);
  });

  it('with {dc} in the webhook URL every Alertmanager notifies every replica', async () => {
    const out = await synth(plugin, production, {
      orchestrator: { webhookUrl: 'https://failover-orchestrator.{dc}.platform.example.com/alerts', replicaDcs: ['dc02', 'dc06', 'dc09'] },
    });
    const amcs = out.records('AlertmanagerConfig');
    expect(amcs.length).toBeGreaterThan(3);
    for (const r of amcs) {
      expect((r.object.spec as { receivers: { webhookConfigs: { url: string }[] }[] }).receivers[0]!.webhookConfigs.map((w) => w.url)).toEqual(
        ['dc02', 'dc06', 'dc09'].map((dc) => `https://failover-orchestrator.${dc}.platform.example.com/alerts`),
      );
    }
    const am = operatorAlertmanagerConfig([amcs[0]!.object], undefined, { secrets: [webhookSecret()] });
    expect((am.receivers.find((r) => r.name === 'monitoring/failover-orchestrator/failover-orchestrator')!.webhook_configs as unknown[]).length).toBe(3);
  });

  it('authenticates the webhook: the AlertmanagerConfig sends the token of a Secret the Deployment mounts, named by validated options', async () => {
    const out = await synth(plugin, production, options);
    const refs = out
      .records('AlertmanagerConfig')
      .map((r) => (r.object.spec as { receivers: { webhookConfigs: { httpConfig: unknown }[] }[] }).receivers[0]!.webhookConfigs[0]!.httpConfig);
    expect(refs.length).toBe(production.dataCenters.length);
    for (const ref of refs) expect(ref).toEqual({ authorization: { type: 'Bearer', credentials: { name: 'failover-orchestrator-webhook', key: 'token' } } });
    type Pod = {
      template: {
        spec: {
          containers: { args: string[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[] }[];
          volumes: { name: string; secret?: unknown }[];
        };
      };
    };
    for (const d of out.records('Deployment')) {
      const pod = (d.object.spec as Pod).template.spec;
      const c = pod.containers[0]!;
      expect(c.args.join(' ')).toContain('--webhook-token-file /var/run/failover-orchestrator-webhook/token');
      // a directory mount (a subPath would never see the Secret rotated)
      expect(c.volumeMounts.find((m) => m.name === 'webhook-token')).toEqual({
        name: 'webhook-token',
        mountPath: '/var/run/failover-orchestrator-webhook',
        readOnly: true,
      });
      expect(pod.volumes.find((v) => v.name === 'webhook-token')).toEqual({
        name: 'webhook-token',
        secret: { secretName: 'failover-orchestrator-webhook', items: [{ key: 'token', path: 'token' }] },
      });
    }
    // no Secret is rendered, and no token value anywhere
    expect(out.records('Secret')).toEqual([]);
    // Other names: the same Secret in both places.
    const other = await synth(plugin, staging, {
      orchestrator: { ...options.orchestrator, webhookTokenSecret: { name: 'alerts.webhook-token', key: 'bearer_token.v2' } },
    });
    expect(JSON.stringify(other.objects('AlertmanagerConfig')[0]!.spec)).toContain('"credentials":{"name":"alerts.webhook-token","key":"bearer_token.v2"}');
    expect((other.objects('Deployment')[0]!.spec as Pod).template.spec.volumes.find((v) => v.name === 'webhook-token')!.secret).toEqual({
      secretName: 'alerts.webhook-token',
      items: [{ key: 'bearer_token.v2', path: 'token' }],
    });
    const errors = async (webhookTokenSecret: Record<string, unknown>) =>
      (await synthErrors([plugin], staging, { 'traffic-alerts': { orchestrator: { ...options.orchestrator, webhookTokenSecret } } })).join('\n');
    for (const name of ['Webhook-Token', 'token_secret', '-token', 'a..b', 'token.', 'x'.repeat(254)])
      expect(await errors({ name }), name).toMatch(/PLUGIN_INVALID_OPTIONS.*orchestrator\.webhookTokenSecret\.name/);
    for (const key of ['.', '..', '..token', 'to/ken', 'to ken', '', 'k'.repeat(254)])
      expect(await errors({ key }), JSON.stringify(key)).toMatch(/PLUGIN_INVALID_OPTIONS.*orchestrator\.webhookTokenSecret\.key/);
    expect(await errors({ value: 'secret' })).toMatch(/PLUGIN_INVALID_OPTIONS/);
  });

  it("converts httpConfig.authorization as prometheus-operator does: the Secret's value from the AlertmanagerConfig's namespace only", async () => {
    const amc = (await synth(plugin, staging, options)).objects('AlertmanagerConfig')[0]!;
    const webhook = (secrets: unknown[]) =>
      (operatorAlertmanagerConfig([amc], undefined, { secrets: secrets as never }).receivers.at(-1)!.webhook_configs as Record<string, unknown>[])[0];
    expect(webhook([webhookSecret()])).toEqual({
      url: options.orchestrator.webhookUrl,
      send_resolved: true,
      http_config: { authorization: { type: 'Bearer', credentials: WEBHOOK_TOKEN } },
    });
    expect(webhook([{ ...webhookSecret(), data: undefined, stringData: { token: 'plain' } }])).toMatchObject({
      http_config: { authorization: { credentials: 'plain' } },
    });
    // an empty value: the operator sets no authorization at all (the orchestrator then answers 401)
    expect(webhook([webhookSecret('monitoring', { token: '' })])).not.toHaveProperty('http_config');
    // only the AlertmanagerConfig's namespace counts: the orchestrator's copy in platform is not read
    expect(() => webhook([webhookSecret('platform')])).toThrow(
      'monitoring/failover-orchestrator: failed to get Authorization credentials: secret "failover-orchestrator-webhook" not found in namespace "monitoring"',
    );
    expect(() => webhook([webhookSecret('monitoring', { other: 'eA==' })])).toThrow('key "token" in secret "failover-orchestrator-webhook" not found');
  });

  it('makes the recovery order concrete: PriorityClasses from social network (highest) to warehouse and logistics', async () => {
    const out = await synth(plugin, production, options);
    const pcs = out
      .records('PriorityClass')
      .filter((r) => r.dc === 'dc01')
      .map((r) => r.object as unknown as { metadata: { name: string }; value: number });
    expect(pcs.map((p) => p.metadata.name).sort()).toEqual([PLATFORM_PRIORITY_CLASS, ...[1, 2, 3, 4].map(priorityClassName)]);
    const tiers = [1, 2, 3, 4].map((n) => pcs.find((p) => p.metadata.name === priorityClassName(n))!);
    expect(tiers.map((p) => p.value)).toEqual([...tiers.map((p) => p.value)].sort((a, b) => b - a));
    // The platform class outranks every app tier: failover's own components get capacity first.
    expect(pcs.find((p) => p.metadata.name === PLATFORM_PRIORITY_CLASS)!.value).toBeGreaterThan(Math.max(...tiers.map((p) => p.value)));
    expect(Math.max(...pcs.map((p) => p.value))).toBeLessThanOrEqual(1_000_000_000);
    expect(out.text('environment/recovery-order.yaml')).toContain('priorityClassName: topoforge-recovery-p1\n    services:\n      - social-network');
  });

  it('describes each recovery tier by what it means, not by its services: adding a service rewrites no PriorityClass', async () => {
    const classes = async (extra: string) => {
      const env = environmentFromYaml(readFileSync(join(envDir, 'production.yaml'), 'utf8') + extra, {
        'base.yaml': readFileSync(join(envDir, 'base.yaml'), 'utf8'),
      });
      return (await synth(plugin, env, options)).objects('PriorityClass');
    };
    const plain = await classes('');
    const added = await classes('\nservices:\n  returns:\n    kind: logistics\n    image: registry.example.com/commerce/returns\n    version: "1.0.0"\n');
    expect(added).toEqual(plain);
    const p4 = plain.find((p) => p.metadata.name === priorityClassName(4))!;
    expect(p4['description']).toMatch(/^Recovery tier 4: pods of services with recoveryPriority 4 /);
    expect(p4['description']).not.toMatch(/warehouse|logistics/);
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
    // quiet nights: silence alerts only when last week's same quarter hour had logs
    expect(wh.rules[1]!.expr).toBe(
      '(sum(count_over_time({namespace="warehouse", dc="dc09"} [15m] offset 1w)) > 100) unless sum(count_over_time({namespace="warehouse", dc="dc09"} [15m]))',
    );
    // node-local discovery: a DaemonSet instance tails only its node's pods (no duplicate ingestion)
    expect(alloy).toContain('field = "spec.nodeName=" + coalesce(sys.env("HOSTNAME"), constants.hostname)');
  });

  it("lists the log rule groups by service: one service's recoveryPriority moves no other service's group", async () => {
    const groups = async (extra: string) => {
      const env = environmentFromYaml(readFileSync(join(envDir, 'production.yaml'), 'utf8') + extra, {
        'base.yaml': readFileSync(join(envDir, 'base.yaml'), 'utf8'),
      });
      const cm = (await synth(plugin, env, options)).records('ConfigMap').find((r) => r.dc === 'dc01' && r.object.metadata.name === 'loki-rules-topoforge')!;
      return (parse((cm.object.data as Record<string, string>)['topoforge-logs.yaml']!) as { groups: { name: string }[] }).groups;
    };
    const plain = await groups('');
    const first = await groups('\nservices:\n  warehouse:\n    recoveryPriority: 1\n');
    expect(plain.map((g) => g.name)).toEqual([...plain.map((g) => g.name)].sort());
    expect(first.map((g) => g.name)).toEqual(plain.map((g) => g.name));
    const others = (gs: typeof plain) => gs.filter((g) => g.name !== 'logs-warehouse-dc01');
    expect(others(first)).toEqual(others(plain));
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
    const objs = [...(await synth(plugin, production, options)).objects(), ...(await synth(plugin, staging, options)).objects()].filter((o) =>
      catalog.has(o.apiVersion, o.kind),
    );
    expect(new Set(objs.map((o) => o.kind))).toEqual(new Set(['PrometheusRule', 'AlertmanagerConfig', 'Gslb']));
    expect(objs.flatMap((o) => catalog.validate(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path} ${p.message}`))).toEqual([]);
  });
});
