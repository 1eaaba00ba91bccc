import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadEnvironments, formatDiagnostic } from '@topoforge/model';
import { environmentFromYaml, synth, synthErrors } from '@topoforge/plugin-sdk/testing';
import type { KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { all, inlineEnvironment, production, staging } from './fixtures.js';
import flagger, { P99_TEMPLATE, type Webhook } from '../src/index.js';

const plugin = flagger as PluginDefinition<never>;
const inline = (stage: 'staging' | 'production') => inlineEnvironment(stage, '  feed: { kind: social-network, image: r/feed, version: "9.0.0" }\n');

interface Analysis {
  interval: string;
  threshold: number;
  maxWeight: number;
  stepWeight: number;
  metrics: { name: string; interval: string; thresholdRange: { min?: number; max?: number }; templateRef?: { name: string; namespace: string } }[];
  alerts: unknown[];
  webhooks: Webhook[];
}
const spec = (o: KubeObject) => o.spec as Record<string, unknown> & { analysis: Analysis; service: Record<string, unknown> };

describe('flagger canaries', () => {
  it('cover every canary service in every DC where it runs, in both environments, and nothing else', async () => {
    for (const env of [production, staging]) {
      const out = await synth(all, env, {}, [staging]);
      const mine = (kind: string) => out.records(kind).filter((r) => r.plugin === 'flagger');
      const want = env.services
        .filter((s) => s.rollout === 'canary')
        .flatMap((s) => s.dataCenters.map((d) => `${s.name}@${d}`))
        .sort();
      expect(want.length).toBeGreaterThan(env.dataCenters.length);
      expect(
        out
          .records('Canary')
          .map((r) => `${r.service}@${r.dc}`)
          .sort(),
      ).toEqual(want);
      // Every Canary's autoscalerRef exists (workloads emits it, so flagger does not).
      const hpas = new Set(out.records('HorizontalPodAutoscaler').map((r) => `${r.service}@${r.dc}`));
      for (const w of want) expect(hpas.has(w), w).toBe(true);
      expect(mine('HorizontalPodAutoscaler')).toEqual([]);
      for (const kind of ['AlertProvider', 'MetricTemplate', 'Deployment', 'Service', 'ServiceAccount'])
        expect(mine(kind).map((r) => r.dc)).toEqual(env.dataCenters.map((d) => d.name));
      // The gate's configuration everywhere; the ledger only where the gate decides (production).
      expect(
        mine('ConfigMap')
          .map((r) => `${r.dc}/${r.object.metadata.name}`)
          .sort(),
      ).toEqual(
        env.dataCenters
          .flatMap((d) => (env.stage === 'production' ? [`${d.name}/promotion-gate`, `${d.name}/promotion-gate-ledger`] : [`${d.name}/promotion-gate`]))
          .sort(),
      );
    }
  });

  it('takes the analysis from the canary policy, with the built-in checks of the provider', async () => {
    const out = await synth(plugin, inline('production'), {}, [inline('staging')]);
    expect(out.objects('Canary').map((c) => c.metadata.name)).toEqual(['shop', 'shop']);
    const c = out.objects('Canary')[0]!;
    expect(c.metadata.namespace).toBe('commerce');
    const s = spec(c);
    expect(s.analysis).toMatchObject({ interval: '30s', threshold: 3, maxWeight: 40, stepWeight: 5 });
    expect(s.analysis.metrics).toEqual([
      { name: 'request-success-rate', interval: '30s', thresholdRange: { min: 98.5 } },
      { name: 'request-duration', interval: '30s', thresholdRange: { max: 750 } },
      // ingress-nginx's built-in duration is a mean: the P99 the policy asks for comes from a template
      { name: P99_TEMPLATE, interval: '30s', templateRef: { name: P99_TEMPLATE, namespace: 'flagger-system' }, thresholdRange: { max: 750 } },
    ]);
    expect(s).toMatchObject({
      provider: 'nginx',
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop' },
      autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'shop' },
      ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'shop' },
      service: { port: 80, targetPort: 8080 },
    });
    expect(s['replicas']).toBeUndefined();
    expect(out.objects('HorizontalPodAutoscaler')[0]!.spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'shop' },
      minReplicas: 2,
      maxReplicas: 10,
    });
  });

  it('with Gateway API: HTTPRoute parents instead of an Ingress, built-in P99, no MetricTemplate', async () => {
    const out = await synth(
      plugin,
      inline('production'),
      { provider: 'gatewayapi:v1', gateway: { name: 'public', namespace: 'gateways' }, autoscaler: { emit: false } },
      [inline('staging')],
    );
    const s = spec(out.objects('Canary')[0]!);
    expect(s.provider).toBe('gatewayapi:v1');
    expect(s['ingressRef']).toBeUndefined();
    expect(s.service['gatewayRefs']).toEqual([{ name: 'public', namespace: 'gateways' }]);
    expect(s.analysis.metrics.map((m) => m.name)).toEqual(['request-success-rate', 'request-duration']);
    expect(out.objects('MetricTemplate')).toEqual([]);
    expect(out.objects('HorizontalPodAutoscaler')).toEqual([]);
  });

  it("refuses a gate that reads another ledger than the environment's test stand", async () => {
    // The bundled production names staging.
    expect(production.testStand).toBe('staging');
    expect(await synthErrors([plugin], production, { flagger: { gate: { testStand: 'qa' } } }, [staging])).toEqual([
      expect.stringContaining(
        `error PLUGIN_VALIDATION_FAILED: [plugin flagger] the gate would read the ledger of "qa", but production names "staging" as its test stand`,
      ),
    ]);
  });

  it("reads the environment's test stand without being told again: a stand named qa, no gate option", async () => {
    const qa = { ...staging, name: 'qa' };
    const prod = { ...production, testStand: 'qa' };
    const out = await synth(all, prod, {}, [qa]);
    const gate = out.records('ConfigMap').find((r) => r.dc === 'dc01' && r.object.metadata.name === 'promotion-gate')!.object as KubeObject & {
      data: Record<string, string>;
    };
    expect(parse(gate.data['gate.yaml']!)).toMatchObject({ mode: 'gate', testStand: 'qa', ledger: 'environments/verified/qa.yaml' });
    for (const c of out.objects('Canary'))
      for (const h of spec(c).analysis.webhooks) expect(h.metadata).toMatchObject({ requires: 'qa', ledger: 'environments/verified/qa.yaml' });
    const ledger = out.records('ConfigMap').find((r) => r.dc === 'dc01' && r.object.metadata.name === 'promotion-gate-ledger')!.object as KubeObject & {
      data: Record<string, string>;
    };
    expect(ledger.data['ledger.yaml']).toContain('# The qa ledger (environments/verified/qa.yaml)');
    // qa's own gate (it records evidence) names qa, not a stand called staging.
    const own = (await synth(all, qa)).objects('ConfigMap').find((c) => c.metadata.name === 'promotion-gate') as KubeObject & {
      data: Record<string, string>;
    };
    expect(parse(own.data['gate.yaml']!)).toMatchObject({ mode: 'record', testStand: 'qa', ledger: 'environments/verified/qa.yaml' });
    // Said explicitly, the same value is accepted; another is refused (above).
    expect((await synth(all, prod, { flagger: { gate: { testStand: 'qa' } } }, [qa])).objects('Canary').length).toBe(out.objects('Canary').length);
  });

  it('refuses a provider it cannot wire, and Gateway API without a Gateway', async () => {
    const kube = await synthErrors([plugin], inline('production'), { flagger: { provider: 'kubernetes' } });
    expect(kube.join('\n')).toMatch(/plugins\.flagger\.options\.provider must be one of: .*\(got "kubernetes"\)/);
    const gw = await synthErrors([plugin], inline('production'), { flagger: { provider: 'gatewayapi:v1' } });
    expect(gw.join('\n')).toContain('provider gatewayapi:v1 needs the Gateway the HTTPRoutes attach to');
  });

  it('runs acceptance and load tests through the load tester on the test stand, and reports the result', async () => {
    const out = await synth(plugin, inline('staging'), { loadTester: { rps: 7, acceptancePaths: ['/health'] } });
    const hooks = spec(out.objects('Canary')[1]!).analysis.webhooks;
    expect(hooks.map((h) => [h.name, h.type])).toEqual([
      ['acceptance-test', 'pre-rollout'],
      ['load-test', 'rollout'],
      ['record-result', 'post-rollout'],
    ]);
    // Before the first step the edge sends the canary nothing: the functional check goes to it directly.
    expect(hooks[0]).toMatchObject({
      url: 'http://flagger-loadtester.test/',
      metadata: { type: 'bash', cmd: "curl -sf 'http://shop-canary.commerce:80/health'" },
    });
    // The load goes through ingress-nginx with the service's Host, so the analysis (ingress metrics) sees the canary's share.
    expect(hooks[1]).toMatchObject({
      url: 'http://flagger-loadtester.test/',
      metadata: { type: 'cmd', cmd: "hey -z 1m -q 7 -c 2 -host 'shop.example.org' 'http://ingress-nginx-controller.ingress-nginx/'" },
    });
    expect(hooks[2]).toEqual({
      name: 'record-result',
      type: 'post-rollout',
      url: 'http://promotion-gate.platform.svc:8080/post-rollout',
      timeout: '15s',
      metadata: { environment: 'staging', dc: 'b1', service: 'shop' },
    });
    expect(hooks.some((h) => h.type.startsWith('confirm-'))).toBe(false);
  });

  it('gates production on the test stand: no traffic and no promotion for a version not in the ledger', async () => {
    const out = await synth(all, production, {}, [staging]);
    for (const c of out.objects('Canary')) {
      const hooks = spec(c).analysis.webhooks;
      expect(hooks.map((h) => h.type)).toEqual(['confirm-rollout', 'confirm-promotion', 'rollback']);
      for (const h of hooks) {
        expect(h.url).toBe(`http://promotion-gate.platform.svc:8080/${h.type}`);
        // No version: the gate reads what the Deployment runs, and a bump touches only the Deployment.
        expect(h.metadata).toEqual({
          environment: 'production',
          dc: expect.any(String) as string,
          service: c.metadata.name,
          requires: 'staging',
          ledger: 'environments/verified/staging.yaml',
        });
      }
      // Production does not load-test: it has real traffic and the test stand did that.
      expect(hooks.some((h) => h.url.includes('loadtester'))).toBe(false);
    }
    const gate = out.records('ConfigMap').find((r) => r.dc === 'dc01' && r.object.metadata.name === 'promotion-gate')!.object as KubeObject & {
      data: Record<string, string>;
    };
    expect(gate.metadata).toMatchObject({ name: 'promotion-gate', namespace: 'platform' });
    const config = parse(gate.data['gate.yaml']!) as { mode: string; ledger: string; canaries: { service: string; namespace: string }[] };
    expect(config).toMatchObject({ mode: 'gate', environment: 'production', dc: 'dc01', testStand: 'staging', ledger: 'environments/verified/staging.yaml' });
    const stand = (await synth(all, staging)).objects('ConfigMap').find((c) => c.metadata.name === 'promotion-gate') as KubeObject & {
      data: Record<string, string>;
    };
    expect(parse(stand.data['gate.yaml']!)).toMatchObject({ mode: 'record', environment: 'staging' });
    expect(config.canaries.map((c) => `${c.namespace}/${c.service}`)).toEqual(
      production.services
        .filter((s) => s.rollout === 'canary' && s.dataCenters.includes('dc01'))
        .map((s) => `${s.namespace}/${s.name}`)
        .sort(),
    );
    // A version bump touches the Deployment only: neither the gate nor the Canary carries versions.
    expect(gate.data['gate.yaml']).not.toContain('version');
    expect(JSON.stringify(out.objects('Canary'))).not.toContain(production.services.find((s) => s.name === 'online-store')!.version);
  });

  it("lists the gate's canaries by name: one service's recoveryPriority rewrites no DC's gate configuration", async () => {
    const envDir = fileURLToPath(new URL('../../../environments', import.meta.url));
    const gates = async (extra: string) => {
      const env = environmentFromYaml(readFileSync(join(envDir, 'production.yaml'), 'utf8') + extra, {
        'base.yaml': readFileSync(join(envDir, 'base.yaml'), 'utf8'),
      });
      return (await synth(all, env, {}, [staging])).objects('ConfigMap').filter((c) => c.metadata.name === 'promotion-gate');
    };
    const plain = await gates('');
    expect(plain.length).toBeGreaterThan(0);
    expect(await gates('\nservices:\n  storefront-web:\n    recoveryPriority: 1\n')).toEqual(plain);
  });

  it('notifies canary events through an AlertProvider whose address stays in a Secret', async () => {
    const out = await synth(plugin, production, { alertProvider: { type: 'msteams', secretName: 'teams-hook', severity: 'warn' } }, [staging]);
    const ap = out.objects('AlertProvider');
    expect(ap).toHaveLength(production.dataCenters.length);
    expect(ap[0]!.metadata.namespace).toBe('flagger-system');
    expect(ap[0]!.spec).toEqual({ type: 'msteams', channel: 'deployments', username: 'flagger-production-dc01', secretRef: { name: 'teams-hook' } });
    expect(spec(out.objects('Canary')[0]!).analysis.alerts).toEqual([
      { name: 'canary-events', severity: 'warn', providerRef: { name: 'canary-events', namespace: 'flagger-system' } },
    ]);
    for (const a of ap) expect(Object.keys(a.spec as object)).not.toContain('address');
    const text = [...out.files.values()].map((f) => f.content).join('\n');
    expect(text.match(/hooks\.slack\.com|webhook\.office|discord\.com\/api\/webhooks/g)).toBeNull();
  });
});

describe('the promotion gate it deploys', () => {
  it('runs in platform with the platform PriorityClass, reads the ledger rendered from environments/verified/staging.yaml', async () => {
    const out = await synth(all, production, {}, [staging]);
    const dc01 = out.records().filter((r) => r.dc === 'dc01' && r.plugin === 'flagger' && r.object.metadata.namespace === 'platform');
    expect(dc01.map((r) => `${r.object.kind}/${r.object.metadata.name}`).sort()).toEqual([
      'ConfigMap/promotion-gate',
      'ConfigMap/promotion-gate-ledger',
      'Deployment/promotion-gate',
      'Service/promotion-gate',
      'ServiceAccount/promotion-gate',
      'ServiceMonitor/promotion-gate',
    ]);
    const ledger = parse(
      (dc01.find((r) => r.object.metadata.name === 'promotion-gate-ledger')!.object['data'] as Record<string, string>)['ledger.yaml']!,
    ) as unknown;
    expect(ledger).toEqual({ verified: staging.ledger!.verified, failed: staging.ledger!.failed });
    const pod = (
      (dc01.find((r) => r.object.kind === 'Deployment')!.object['spec'] as Record<string, unknown>)['template'] as {
        spec: { serviceAccountName: string; priorityClassName: string; containers: { args: string[] }[] };
      }
    ).spec;
    expect(pod).toMatchObject({ serviceAccountName: 'promotion-gate', priorityClassName: 'topoforge-platform' });
    expect(pod.containers[0]!.args).toContain('--ledger=/etc/promotion-gate/ledger/ledger.yaml');
    // The test stand records evidence instead, in a single pod.
    const stand = (await synth(all, staging)).records('Deployment').find((r) => r.dc === 'stg01' && r.plugin === 'flagger')!.object['spec'] as {
      replicas: number;
      template: { spec: { containers: { args: string[] }[] } };
    };
    expect(stand.replicas).toBe(1);
    expect(stand.template.spec.containers[0]!.args).toContain('--evidence=/var/lib/promotion-gate/evidence.jsonl');
  });

  it("renders the ledger's verified versions as a set: their order and repeats in the file change no ConfigMap", async () => {
    const ledgers = async (versions: string[]) => {
      const stand = { ...staging, ledger: { ...staging.ledger!, verified: { ...staging.ledger!.verified, 'social-network': versions } } };
      const out = await synth(all, production, {}, [stand]);
      return out.objects('ConfigMap').filter((c) => c.metadata.name === 'promotion-gate-ledger');
    };
    const ascending = await ledgers(['4.12.0', '4.12.1']);
    expect(ascending).toHaveLength(
      production.dataCenters.filter((d) => production.services.some((s) => s.rollout === 'canary' && s.dataCenters.includes(d.name))).length,
    );
    expect(await ledgers(['4.12.1', '4.12.0'])).toEqual(ascending);
    expect(await ledgers(['4.12.1', '4.12.0', '4.12.1'])).toEqual(ascending);
    const verified = (parse((ascending[0]!.data as Record<string, string>)['ledger.yaml']!) as { verified: Record<string, string[]> }).verified;
    expect(verified['social-network']).toEqual(['4.12.0', '4.12.1']);
  });

  it('may get only the Deployments its canaries target, each in its own namespace', async () => {
    const out = await synth(all, production, {}, [staging]);
    const roles = out.records('Role').filter((r) => r.dc === 'dc01' && r.plugin === 'flagger');
    const canaries = production.services.filter((s) => s.rollout === 'canary' && s.dataCenters.includes('dc01'));
    expect(roles.map((r) => `${r.object.metadata.namespace}/${r.service}`).sort()).toEqual(canaries.map((s) => `${s.namespace}/${s.name}`).sort());
    for (const r of roles) expect(r.object['rules']).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: [r.service], verbs: ['get'] }]);
    const bindings = out.records('RoleBinding').filter((r) => r.dc === 'dc01' && r.plugin === 'flagger');
    for (const b of bindings) expect(b.object['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'promotion-gate', namespace: 'platform' }]);
    expect(out.objects('ClusterRole')).toEqual([]);
    // The test stand's gate also reads Flagger's primary: the version a successful run promoted.
    const stand = await synth(all, staging);
    const standRoles = stand.records('Role').filter((r) => r.plugin === 'flagger');
    expect(standRoles.length).toBeGreaterThan(0);
    for (const r of standRoles)
      expect(r.object['rules']).toEqual([
        { apiGroups: ['apps'], resources: ['deployments'], resourceNames: [r.service, `${r.service}-primary`], verbs: ['get'] },
      ]);
  });

  it('refuses to render production without the test stand whose ledger the gate needs', async () => {
    const errors = await synthErrors([plugin], production);
    expect(errors.join('\n')).toContain('the gate needs the ledger of test stand "staging"');
  });
});

describe('with the workloads plugin', () => {
  it('takes the load-test Host from the Ingress workloads emits, and leaves the HPA to it', async () => {
    const out = await synth(all, staging);
    const c = out.records('Canary').find((r) => r.dc === 'stg01' && r.service === 'online-store')!;
    const load = spec(c.object).analysis.webhooks.find((h) => h.name === 'load-test')!;
    expect(load.metadata['cmd']).toContain("-host 'online-store.staging.commerce.example.com' 'http://ingress-nginx-controller.ingress-nginx/'");
    const hpas = out.records('HorizontalPodAutoscaler').filter((r) => r.dc === 'stg01' && r.service === 'online-store');
    expect(hpas.map((r) => r.plugin)).toEqual(['workloads']);
  });

  it("sends mesh providers' load straight to the canary Service (the sidecar measures it)", async () => {
    const out = await synth(all, staging, { flagger: { provider: 'istio' } });
    const c = out.records('Canary').find((r) => r.dc === 'stg01' && r.service === 'online-store')!;
    expect(spec(c.object).analysis.webhooks.find((h) => h.name === 'load-test')!.metadata['cmd']).toBe(
      "hey -z 1m -q 20 -c 2 'http://online-store-canary.online-store:80/'",
    );
  });
});

describe('the options documented in README.md', () => {
  it('base + staging overrides: a lighter load test and its own channel on the test stand only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'topoforge-flagger-envs-'));
    try {
      cpSync(fileURLToPath(new URL('../../../environments', import.meta.url)), dir, { recursive: true });
      const base = readFileSync(join(dir, 'base.yaml'), 'utf8');
      // The bundled flagger line (one line: the safety tests edit it by text too).
      const line = /^  flagger: \{ options: \{ monitoring: \{ ruleLabels: \{ release: kube-prometheus-stack \} \} \} \}$/m;
      expect(base).toMatch(line);
      writeFileSync(
        join(dir, 'base.yaml'),
        base.replace(
          line,
          '  flagger:\n    options:\n      provider: nginx\n      alertProvider: { type: slack, channel: deployments, secretName: flagger-alerts }',
        ),
      );
      writeFileSync(
        join(dir, 'staging.yaml'),
        readFileSync(join(dir, 'staging.yaml'), 'utf8').replace(
          /^plugins:$/m,
          'plugins:\n  flagger:\n    options:\n      loadTester: { rps: 5 }\n      alertProvider: { channel: deployments-staging }',
        ),
      );
      const envs = loadEnvironments(dir);
      if (!envs.ok) throw new Error(envs.diagnostics.map(formatDiagnostic).join('\n'));
      const [prod, stand] = ['production', 'staging'].map((n) => envs.value.find((e) => e.name === n)!);
      const p = await synth(all, prod!, {}, [stand!]);
      const st = await synth(all, stand!);
      const load = spec(st.objects('Canary')[0]!).analysis.webhooks.find((h) => h.name === 'load-test')!;
      expect(load.metadata['cmd']).toMatch(/^hey -z 1m -q 5 -c 2 -host /);
      expect(spec(p.objects('Canary')[0]!).analysis.webhooks.some((h) => h.name === 'load-test')).toBe(false);
      expect(p.objects('AlertProvider')[0]!.spec).toMatchObject({ type: 'slack', channel: 'deployments' });
      expect(st.objects('AlertProvider')[0]!.spec).toMatchObject({ type: 'slack', channel: 'deployments-staging', secretRef: { name: 'flagger-alerts' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const shared = findSharedDir();
if (!shared) console.warn(SHARED_MISSING);
describe.runIf(shared)('Flagger objects validate against the upstream CRDs', () => {
  it('Canary, MetricTemplate and AlertProvider for every provider, in both environments', async () => {
    const catalog = CrdCatalog.fromDir(join(shared!, 'crds', 'flagger'));
    const providers = [{}, { provider: 'gatewayapi:v1', gateway: { name: 'public', namespace: 'gateways' } }, { provider: 'istio' }, { provider: 'skipper' }];
    const objs: KubeObject[] = [];
    for (const options of providers)
      for (const env of [production, staging])
        objs.push(...(await synth(all, env, { flagger: options }, [staging])).objects().filter((o) => o.apiVersion.startsWith('flagger.app/')));
    expect(new Set(objs.map((o) => o.kind))).toEqual(new Set(['Canary', 'MetricTemplate', 'AlertProvider']));
    expect(objs.flatMap((o) => catalog.validate(o).map((p) => `${o.kind}/${o.metadata.name} ${p.path} ${p.message}`))).toEqual([]);
  });

  it('the validator catches what Flagger would refuse (so the check above means something)', async () => {
    const catalog = CrdCatalog.fromDir(join(shared!, 'crds', 'flagger'));
    const c = (await synth(plugin, inline('production'), {}, [inline('staging')])).objects('Canary')[0]!;
    const broken = structuredClone(c) as KubeObject & { spec: { analysis: Record<string, unknown> } };
    broken.spec.analysis['iterations'] = 10; // both iterations and stepWeight: not exactly one strategy
    expect(catalog.validate(broken).length).toBeGreaterThan(0);
  });
});

// The P99 template against real Prometheus semantics: promtool evaluates the query with
// Flagger's template variables filled in, on a canary whose slow 2 % tail leaves the mean
// (what the built-in NGINX check measures) far below the limit.
const hasPromtool = spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'ignore' }).status === 0;
if (!hasPromtool) console.warn('promtool is not installed: run `pnpm run setup:tools` (Debian package prometheus)');
const work = mkdtempSync(join(tmpdir(), 'topoforge-flagger-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.runIf(hasPromtool)('the P99 MetricTemplate (promtool)', () => {
  it('is valid PromQL once Flagger fills its variables, and reports the canary P99 in ms', async () => {
    const out = await synth(plugin, inline('production'), {}, [inline('staging')]);
    const template = out.objects('MetricTemplate')[0]!.spec as { query: string };
    // Flagger renders {{ name }}, {{ namespace }}, {{ ingress }}, {{ interval }} … as Go template functions.
    const vars: Record<string, string> = { namespace: 'commerce', ingress: 'shop', interval: '1m', target: 'shop', name: 'shop' };
    const query = template.query.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, v: string) => {
      if (!(v in vars)) throw new Error(`unknown template variable ${v}`);
      return vars[v]!;
    });
    writeFileSync(join(work, 'rules.yaml'), `groups:\n  - name: canary\n    rules:\n      - record: canary:p99_ms\n        expr: ${JSON.stringify(query)}\n`);
    const bucket = (le: string, canary: string, perStep: number) =>
      `      - series: 'nginx_ingress_controller_request_duration_seconds_bucket{namespace="commerce",ingress="shop",canary="${canary}",le="${le}"}'\n        values: '0+${perStep}x8'\n`;
    // Canary: 98 requests per step at 50 ms, 2 at 2 s (mean ≈ 89 ms, P99 in the 1–2.5 s bucket).
    const canary = [
      ['0.1', 98],
      ['0.25', 98],
      ['0.5', 98],
      ['1', 98],
      ['2.5', 100],
      ['+Inf', 100],
    ] as const;
    // The primary behind the same ingress is fast; it must not dilute the canary's tail.
    const primary = [
      ['0.1', 1000],
      ['0.25', 1000],
      ['0.5', 1000],
      ['1', 1000],
      ['2.5', 1000],
      ['+Inf', 1000],
    ] as const;
    const series = [...canary.map(([le, n]) => bucket(le, 'commerce-shop-canary-80', n)), ...primary.map(([le, n]) => bucket(le, '', n))].join('');
    // histogram_quantile: 1 s + (2.5 s − 1 s) × (99 − 98) / (100 − 98) = 1.75 s
    writeFileSync(
      join(work, 'test.yaml'),
      `rule_files: [rules.yaml]\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n${series}    promql_expr_test:\n      - expr: round(canary:p99_ms)\n        eval_time: 2m\n        exp_samples:\n          - labels: '{}'\n            value: 1750\n`,
    );
    const check = spawnSync('promtool', ['check', 'rules', 'rules.yaml'], { cwd: work, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync('promtool', ['test', 'rules', 'test.yaml'], { cwd: work, encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).toBe(0);
  });
});
