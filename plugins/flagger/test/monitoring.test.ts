/**
 * Monitoring of the promotion gate (src/monitoring.ts): what is emitted and where; the rules
 * and their unit tests through the real promtool (and a sabotaged rule caught by them); the
 * routing through the real Alertmanager (amtool) on the configuration prometheus-operator
 * generates; and the ServiceMonitor, PrometheusRule and AlertmanagerConfig applied with strict
 * server-side validation to a real kube-apiserver with the upstream CRDs installed.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { KubeObject } from '@topoforge/plugin-sdk';
import { findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { kubectlSync, readState, SETUP_HINT, startSandbox, stopSandbox, toolsAvailable } from '@topoforge/sandbox';
import { operatorAlertmanagerConfig } from '@topoforge/plugin-traffic-alerts';
import { all, inlineEnvironment, production, staging } from './fixtures.js';
import { COMPONENT, COMPONENT_LABEL, GATE_ALERTS, GATE_NAME, GATE_PORT, progressingBoundMinutes, type RuleGroup } from '../src/index.js';

vi.setConfig({ testTimeout: 600_000, hookTimeout: 300_000 });

const inline = (stage: 'staging' | 'production') => inlineEnvironment(stage);

const work = mkdtempSync(join(tmpdir(), 'topoforge-flagger-monitoring-'));
const sandboxDir = join(work, 'sandbox');
afterAll(async () => {
  if (readState(sandboxDir)) await stopSandbox(sandboxDir);
  rmSync(work, { recursive: true, force: true });
}, 300_000);

const groupOf = (o: KubeObject) => (o.spec as { groups: RuleGroup[] }).groups[0]!;
const canaryDcs = (env: Environment) => env.dataCenters.filter((d) => env.services.some((s) => s.rollout === 'canary' && s.dataCenters.includes(d.name)));

describe('promotion gate monitoring objects', () => {
  it('per DC where the gate runs: a ServiceMonitor on the port that serves /metrics, a PrometheusRule and an AlertmanagerConfig; nothing elsewhere', async () => {
    for (const env of [production, staging]) {
      const out = await synth(all, env, {}, [staging]);
      const mine = (kind: string) => out.records(kind).filter((r) => r.plugin === 'flagger');
      const dcs = canaryDcs(env).map((d) => d.name);
      for (const kind of ['ServiceMonitor', 'PrometheusRule', 'AlertmanagerConfig'])
        expect(
          mine(kind)
            .map((r) => r.dc)
            .sort(),
          kind,
        ).toEqual([...dcs].sort());
      for (const dc of dcs) {
        const at = (kind: string) => mine(kind).find((r) => r.dc === dc)!.object as KubeObject & { spec: Record<string, unknown> };
        const sm = at('ServiceMonitor');
        const svc = at('Service');
        const deploy = at('Deployment') as unknown as {
          spec: { template: { spec: { containers: { args: string[]; ports: { name: string; containerPort: number }[] }[] } } };
        };
        // It selects the gate's Service by its labels, in its namespace, on the named port the container serves /metrics on.
        expect(sm.metadata.namespace).toBe(svc.metadata.namespace);
        expect(sm.spec.namespaceSelector).toEqual({ matchNames: [svc.metadata.namespace] });
        for (const [k, v] of Object.entries((sm.spec.selector as { matchLabels: Record<string, string> }).matchLabels))
          expect(svc.metadata.labels?.[k]).toBe(v);
        const endpoint = (sm.spec.endpoints as { port: string; path: string }[])[0]!;
        expect(endpoint.path).toBe('/metrics');
        const port = (svc.spec as { ports: { name: string; port: number; targetPort: string }[] }).ports.find((p) => p.name === endpoint.port)!;
        const container = deploy.spec.template.spec.containers[0]!;
        expect(container.ports.find((p) => p.name === port.targetPort)!.containerPort).toBe(GATE_PORT);
        expect(container.args).toContain(`--port=${GATE_PORT}`);
        // Rules and their routing in the same namespace: the OnNamespace matcher needs every alert to carry it.
        const rule = at('PrometheusRule');
        const amc = at('AlertmanagerConfig');
        expect(rule.metadata.namespace).toBe(amc.metadata.namespace);
        const group = groupOf(rule);
        expect(group.name).toBe(`promotion-gate-${dc}`);
        for (const r of group.rules)
          expect(r.labels).toMatchObject({ namespace: amc.metadata.namespace, [COMPONENT_LABEL]: COMPONENT, dc, environment: env.name });
        expect((amc.spec.route as { matchers: unknown[] }).matchers).toEqual([{ name: COMPONENT_LABEL, value: COMPONENT, matchType: '=' }]);
        // The Slack URL stays in a Secret.
        expect(JSON.stringify(amc)).not.toMatch(/hooks\.slack\.com/);
        const alerts = new Set(group.rules.map((r) => r.alert));
        expect([...alerts].sort()).toEqual(GATE_ALERTS.filter((a) => env.stage === 'production' || a !== 'PromotionGateHoldingRollout').sort());
        // One stuck-canary rule per canary of this DC.
        expect(group.rules.filter((r) => r.alert === 'FlaggerCanaryStuckProgressing').map((r) => r.labels['service'])).toEqual(
          env.services.filter((s) => s.rollout === 'canary' && s.dataCenters.includes(dc)).map((s) => s.name),
        );
      }
    }
  });

  it('labels the PrometheusRule and the ServiceMonitor for the Prometheus selectors when asked; monitoring.enabled: false emits none of it', async () => {
    const labelled = await synth(all, production, { flagger: { monitoring: { ruleLabels: { release: 'kube-prometheus-stack' } } } }, [staging]);
    for (const kind of ['PrometheusRule', 'ServiceMonitor']) {
      const objs = labelled
        .records(kind)
        .filter((r) => r.plugin === 'flagger')
        .map((r) => r.object);
      expect(objs.length).toBeGreaterThan(0);
      expect(objs.every((o) => o.metadata.labels?.['release'] === 'kube-prometheus-stack')).toBe(true);
    }
    const plain = await synth(all, production, { flagger: { monitoring: { ruleLabels: {} } } }, [staging]);
    expect(
      plain
        .records('PrometheusRule')
        .filter((r) => r.plugin === 'flagger')
        .every((r) => r.object.metadata.labels?.['release'] === undefined),
    ).toBe(true);
    const off = await synth(all, production, { flagger: { monitoring: { enabled: false } } }, [staging]);
    expect(off.objects('ServiceMonitor')).toEqual([]);
    expect(off.records('AlertmanagerConfig').filter((r) => r.plugin === 'flagger')).toEqual([]);
    expect([...off.files.keys()].filter((p) => p.startsWith('environment/flagger/'))).toEqual([]);
  });

  it("bounds a canary's Progressing time by its own policy", () => {
    const shop = inline('production').services[0]!;
    // 8 steps + 3 failed checks + 2 promotion intervals of 30 s, + 600 s deadline = 990 s → 17 min, + 5
    expect(progressingBoundMinutes(shop, { progressDeadlineSeconds: 600 } as never)).toBe(22);
    const store = production.services.find((s) => s.name === 'online-store')!;
    // (5 + 5 + 2) × 60 s + 600 s = 1320 s = 22 min, + 5
    expect(progressingBoundMinutes(store, { progressDeadlineSeconds: 600 } as never)).toBe(27);
  });
});

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
const hasPromtool = has('promtool');
const hasAmtool = has('amtool');
if (!hasPromtool) console.warn('promtool is not installed: run `pnpm run setup:tools` (Debian package prometheus)');
if (!hasAmtool) console.warn('amtool is not installed: run `pnpm run setup:tools` (Debian package prometheus-alertmanager)');

/** The rendered promtool files of an environment, written under work/<name>; returns the test files. */
async function writePromtool(name: string, env: Environment, others: readonly Environment[]): Promise<string[]> {
  // The inline topologies configure no plugins: flagger alone there (traffic-alerts needs its orchestrator, workloads its PriorityClasses).
  const out = await synth(env.plugins.length > 0 ? all : all.slice(2), env, {}, others);
  const tests: string[] = [];
  for (const [path, { content }] of out.files) {
    if (!path.startsWith('environment/flagger/promtool/')) continue;
    const file = join(work, name, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    if (file.endsWith('.test.yaml')) tests.push(file);
  }
  return tests;
}
const promtool = (args: string[], cwd: string) => spawnSync('promtool', args, { cwd, encoding: 'utf8' });

describe.runIf(hasPromtool)('the alerts through the real promtool', () => {
  it('every DC of both environments and an inline policy: promtool check rules and the generated unit tests pass', async () => {
    const sets = [
      ['production', production, [staging]],
      ['staging', staging, []],
      ['live', inline('production'), [inline('staging')]],
    ] as const;
    let n = 0;
    for (const [name, env, others] of sets) {
      const tests = await writePromtool(name, env, others);
      expect(tests).toHaveLength(canaryDcs(env).length);
      for (const t of tests) {
        const check = promtool(['check', 'rules', 'promotion-gate.rules.yaml'], dirname(t));
        expect(check.status, check.stdout + check.stderr).toBe(0);
        const test = promtool(['test', 'rules', 'promotion-gate.test.yaml'], dirname(t));
        expect(test.status, `${t}\n${test.stdout}${test.stderr}`).toBe(0);
        n++;
      }
    }
    console.info(`promtool: ${n} rule files checked and their unit tests passed`);
  });

  it('the unit tests catch a broken rule (so passing them means something)', async () => {
    const [t] = await writePromtool('sabotage', production, [staging]);
    const dir = dirname(t!);
    const rules = join(dir, 'promotion-gate.rules.yaml');
    const good = readFileSync(rules, 'utf8');
    const broken: [string, RegExp, string, string][] = [
      ['down on any replica', /max\(up\{/, 'min(up{', 'PromotionGateDown'],
      ['more than 10 undecided answers per 5 minutes', /\[5m\]\)\) > 0"/, '[5m])) > 10"', 'PromotionGateUndecided'],
      ['only namespace, not exported_namespace', /exported_namespace=\\"(?!\\")[^"\\]+\\"/g, 'exported_namespace=\\"nope\\"', 'FlaggerCanaryStuckProgressing'],
      ['Waiting (1) taken for stuck', /\) == 0"/g, ') == 1"', 'FlaggerCanaryStuckProgressing'],
    ];
    for (const [what, from, to, alert] of broken) {
      const text = good.replace(from, to);
      expect(text, what).not.toBe(good);
      writeFileSync(rules, text);
      const r = promtool(['test', 'rules', 'promotion-gate.test.yaml'], dir);
      expect(r.status, what).not.toBe(0);
      expect(r.stdout + r.stderr, what).toContain(`alertname: ${alert}`);
    }
    writeFileSync(rules, good);
    expect(promtool(['test', 'rules', 'promotion-gate.test.yaml'], dir).status).toBe(0);
  });
});

describe.runIf(hasAmtool)('routing through the real Alertmanager (amtool) on what prometheus-operator generates', () => {
  it("every alert of the gate reaches the platform receiver, next to traffic-alerts' route; none goes to null", async () => {
    for (const env of [production, staging]) {
      const out = await synth(all, env, {}, [staging]);
      const dc = canaryDcs(env)[0]!.name;
      const amcs = out
        .records('AlertmanagerConfig')
        .filter((r) => r.dc === dc)
        .map((r) => r.object as KubeObject);
      expect(amcs.map((a) => a.metadata.name).sort()).toEqual(['failover-orchestrator', GATE_NAME]);
      // traffic-alerts' webhook token Secret, as the platform creates it (its value is never rendered)
      const secret: KubeObject = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'failover-orchestrator-webhook', namespace: 'monitoring' },
        stringData: { token: 't' },
      } as never;
      const file = join(work, `alertmanager-${env.name}.yaml`);
      writeFileSync(file, stringify(operatorAlertmanagerConfig(amcs, undefined, { secrets: [secret] })));
      const check = spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      const group = groupOf(out.records('PrometheusRule').find((r) => r.dc === dc && r.object.metadata.name === GATE_NAME)!.object as KubeObject);
      const route = (labels: Record<string, string>) =>
        spawnSync('amtool', ['config', 'routes', 'test', `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)], {
          encoding: 'utf8',
        }).stdout.trim();
      for (const r of group.rules) expect(route({ ...r.labels, alertname: r.alert }), r.alert).toBe(`monitoring/${GATE_NAME}/platform`);
      // Without the namespace label the operator's matcher leaves it to the stack's null receiver.
      const { namespace: _ns, ...rest } = group.rules[0]!.labels;
      expect(route({ ...rest, alertname: group.rules[0]!.alert })).toBe('null');
    }
  });
});

// The ServiceMonitor CRD is not in ../shared/crds: the repository keeps the upstream file in test/crds (README there).
const shared = findSharedDir(fileURLToPath(new URL('../../..', import.meta.url)));
if (!shared) console.warn(`monitoring.test.ts ${SHARED_MISSING}`);
const tools = toolsAvailable();
if (!tools) console.warn(`monitoring.test.ts: kube-apiserver tests skipped: ${SETUP_HINT}`);
const repoCrds = fileURLToPath(new URL('../../../test/crds', import.meta.url));

describe.runIf(shared && tools)('on a real kube-apiserver with the upstream CRDs', () => {
  it('the ServiceMonitor, PrometheusRule and AlertmanagerConfig of every DC apply with strict server-side validation; a broken one is refused', async () => {
    const crdDirs = [join(shared!, 'crds', 'prometheus-operator'), join(repoCrds, 'prometheus-operator')];
    const state = await startSandbox({ dir: sandboxDir, clusters: [{ name: 'dc', context: 'monitoring-test' }], crdDirs });
    const k = (args: string[], input?: string) => kubectlSync(state, 'monitoring-test', args, input);
    const kinds = ['PrometheusRule', 'AlertmanagerConfig', 'ServiceMonitor'];
    let applied = 0;
    for (const env of [production, staging]) {
      const out = await synth(all, env, { flagger: { monitoring: { ruleLabels: { release: 'kube-prometheus-stack' } } } }, [staging]);
      // Each DC's objects in turn (same names in every DC): the last DC's stay for the check below.
      for (const dc of canaryDcs(env).map((d) => d.name)) {
        const items = out
          .records()
          .filter((r) => r.plugin === 'flagger' && r.dc === dc && kinds.includes(r.object.kind))
          .map((r) => r.object);
        expect(items).toHaveLength(kinds.length);
        const r = k(
          ['apply', '--server-side', '--validate=strict', '--field-manager=topoforge', '-f', '-'],
          JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
        );
        expect(r.code, `${env.name}/${dc}: ${r.err}`).toBe(0);
        applied += items.length;
      }
    }
    const got = JSON.parse(k(['-n', 'monitoring', 'get', `prometheusrules.monitoring.coreos.com/${GATE_NAME}`, '-o', 'json']).out) as KubeObject;
    expect(groupOf(got).rules.length).toBeGreaterThan(5);
    // Strict validation refuses an unknown field, and the CRD a bad value.
    const bad = parse(k(['-n', 'monitoring', 'get', `alertmanagerconfigs.monitoring.coreos.com/${GATE_NAME}`, '-o', 'yaml']).out) as {
      metadata: Record<string, unknown>;
      spec: { route: { matchers: { matchType: string }[] }; receivers: { slackConfigs: Record<string, unknown>[] }[] };
    };
    for (const key of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields']) delete bad.metadata[key];
    bad.spec.receivers[0]!.slackConfigs[0]!['channnel'] = 'typo';
    expect(k(['apply', '--server-side', '--validate=strict', '--field-manager=topoforge', '-f', '-'], JSON.stringify(bad)).code).not.toBe(0);
    delete bad.spec.receivers[0]!.slackConfigs[0]!['channnel'];
    bad.spec.route.matchers[0]!.matchType = '==';
    expect(k(['apply', '--server-side', '--validate=strict', '--field-manager=topoforge', '-f', '-'], JSON.stringify(bad)).code).not.toBe(0);
    const sm = JSON.parse(k(['-n', 'platform', 'get', `servicemonitors.monitoring.coreos.com/${GATE_NAME}`, '-o', 'json']).out) as KubeObject;
    expect(sm.metadata.labels?.['release']).toBe('kube-prometheus-stack');
    console.info(`kube-apiserver: ${applied} objects (${kinds.join(', ')}) applied with --validate=strict; 2 broken AlertmanagerConfigs refused`);
  });
});
