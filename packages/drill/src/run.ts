/**
 * A failover drill: a traffic scenario played through the real chain.
 *
 *   scenario ──► input series (a week of history + the live part)
 *            ──► promtool test rules with the emitted rules (Prometheus' rule engine)
 *            ──► firing/resolved alerts, minute by minute
 *            ──► a real Alertmanager on 127.0.0.1 with the routing prometheus-operator
 *                generates from the emitted AlertmanagerConfig (and the webhook token
 *                Secret it references, made up per run)
 *            ──► the real orchestrator process (webhook, bearer token), on a simulated clock
 *            ──► decisions and Gslb weights (dry run, or patched in sandbox clusters)
 *
 * Time compression: the rules are evaluated by promtool over simulated time (one sample
 * and one evaluation per simulated minute); the orchestrator runs on a simulated clock the
 * drill advances minute by minute; Alertmanager runs in real time with group_wait 0s and
 * group_interval 1s (the routing tree — matchers, receivers, grouping — is as generated), so
 * a simulated minute takes as long as the notifications of that minute take to arrive.
 * Feedback: the orchestrator's drained gauge is an input of the rules; whenever a decision
 * changes it, promtool re-evaluates from the next minute with the new gauge.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { runPlugins, type KubeObject, type PluginDefinition } from '@topoforge/plugin-sdk';
import trafficAlerts, {
  ALL_ALERTS,
  BUSINESS_DAY,
  drainedSeries,
  operatorAlertmanagerConfig,
  serviceSeries,
  type Effect,
  type InputSeries,
  type RuleGroup,
  type SimSpec,
} from '@topoforge/plugin-traffic-alerts';
import { offsetMinutes, parseScenario, ScenarioError, type Scenario } from './scenario.js';
import { evaluate, type FiringAlert } from './promtool.js';
import { startAlertmanager, startOrchestrator, type Proc } from './processes.js';

const DAY = 1440;
/** Simulated day 1, 00:00 UTC (a Monday). */
export const SIM_EPOCH = Date.UTC(2026, 0, 5);
export const simTime = (minute: number): string => new Date(SIM_EPOCH + minute * 60_000).toISOString();

export interface DrillOptions {
  readonly environmentsDir: string;
  readonly env: string;
  readonly scenarioFile: string;
  /** Kubeconfig with one context per DC cluster: the orchestrator patches Gslbs there. */
  readonly kubeconfig?: string;
  readonly log?: (line: string) => void;
}

export type DrillEvent =
  | { minute: number; time: string; type: 'firing' | 'resolved'; alertname: string; service: string; dc: string }
  | {
      minute: number;
      time: string;
      type: 'decision';
      action: 'drain' | 'restore' | 'hold';
      service: string;
      dc: string;
      reason: string;
      weights: Record<string, number>;
    }
  | { minute: number; time: string; type: 'delivery-timeout'; missing: string[] }
  | { minute: number; time: string; type: 'webhook-refused'; refused: string[] };

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DrillResult {
  readonly scenario: string;
  readonly environment: string;
  readonly mode: 'dry-run' | 'sandbox';
  readonly timeCompression: string;
  readonly events: DrillEvent[];
  readonly finalWeights: Record<string, Record<string, number>>;
  readonly checks: Check[];
  readonly promtoolRuns: number;
}

export class DrillError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface Emitted {
  readonly groups: RuleGroup[];
  readonly amc: KubeObject;
  readonly orchestratorConfig: string;
  readonly healthMetric: string;
  readonly dcLabel: string;
}

/** What the traffic-alerts plugin emits for `env` that a drill runs: its rules, the Alertmanager route, the orchestrator's configuration. */
export async function emitted(env: Environment): Promise<Emitted> {
  const use = env.plugins.find((p) => p.name === 'traffic-alerts');
  if (!use) throw new DrillError('DRILL_NO_TRAFFIC_ALERTS', `environment ${env.name} does not enable the traffic-alerts plugin`);
  const r = await runPlugins(env, [{ definition: trafficAlerts as PluginDefinition<never>, use }], { environments: [env] });
  if (!r.ok) throw new DrillError('DRILL_RENDER_FAILED', r.diagnostics.map(formatDiagnostic).join('\n'));
  const objects = r.value.emitted.flatMap((e) => (e.type === 'object' ? [e.object as KubeObject] : []));
  const byService = new Map<string, RuleGroup>();
  // The services' traffic rules only: the orchestrator's health group (failover-orchestrator-health) has no traffic to play.
  for (const o of objects.filter((x) => x.kind === 'PrometheusRule' && x.metadata.name.startsWith('traffic-drop-'))) {
    const g = (o.spec as { groups: RuleGroup[] }).groups[0]!;
    byService.set(g.name, g);
  }
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'failover-orchestrator')!;
  const opts = use.options as { health?: { metric?: string }; dcLabel?: string };
  return {
    groups: [...byService.values()],
    amc: objects.find((o) => o.kind === 'AlertmanagerConfig')!,
    orchestratorConfig: (cm.data as Record<string, string>)['config.json']!,
    healthMetric: opts.health?.metric ?? 'probe_success',
    dcLabel: opts.dcLabel ?? 'dc',
  };
}

/**
 * The webhook token Secret the platform creates, as the emitted AlertmanagerConfig references
 * it (`httpConfig.authorization.credentials`, in the AlertmanagerConfig's namespace), with a
 * token made up for this run. The operator conversion reads it from there; the orchestrator
 * reads the same token from a file, as from its mounted copy of the Secret.
 */
export function webhookTokenSecret(amc: KubeObject, token: string): KubeObject {
  const spec = amc.spec as { receivers: { webhookConfigs?: { httpConfig?: { authorization?: { credentials?: { name: string; key: string } } } }[] }[] };
  const ref = spec.receivers.flatMap((r) => r.webhookConfigs ?? []).find((w) => w.httpConfig?.authorization?.credentials)?.httpConfig
    ?.authorization?.credentials;
  if (!ref) throw new DrillError('DRILL_RENDER_FAILED', 'the emitted AlertmanagerConfig sends no webhook token (httpConfig.authorization)');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ref.name, namespace: amc.metadata.namespace! },
    data: { [ref.key]: Buffer.from(token).toString('base64') },
  } as KubeObject;
}

function utcOffsetMinutes(timeZone: string): number {
  const d = new Date(SIM_EPOCH);
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(d);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return Math.round((Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute')) - d.getTime()) / 60_000);
}

const key = (service: string, dc: string) => `${service}/${dc}`;

export async function runDrill(o: DrillOptions): Promise<DrillResult> {
  const log = o.log ?? (() => undefined);
  let text: string;
  try {
    text = readFileSync(o.scenarioFile, 'utf8');
  } catch (err) {
    throw new ScenarioError('DRILL_SCENARIO_UNREADABLE', `${o.scenarioFile}: ${(err as Error).message}`);
  }
  const scenario: Scenario = parseScenario(text, o.scenarioFile);
  const loaded = loadEnvironments(o.environmentsDir);
  if (!loaded.ok) throw new DrillError('DRILL_MODEL_INVALID', loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const env = loaded.value.find((e) => e.name === o.env);
  if (!env) throw new DrillError('DRILL_UNKNOWN_ENVIRONMENT', `no environment named ${o.env} in ${o.environmentsDir}`);
  if (scenario.environment && scenario.environment !== env.name)
    throw new DrillError('DRILL_ENVIRONMENT_MISMATCH', `${o.scenarioFile}: written for environment ${scenario.environment}, not ${env.name}`);
  const e = await emitted(env);
  const services = env.services.filter((s) => e.groups.some((g) => g.name === `traffic-${s.name}`));
  for (const ev of scenario.events) {
    for (const dc of ev.dcs ?? [])
      if (!env.dataCenters.some((d) => d.name === dc))
        throw new DrillError('DRILL_SCENARIO_INVALID', `${o.scenarioFile}: event ${ev.type} at ${ev.at}: no DC ${dc} in ${env.name}`);
    for (const s of ev.services ?? [])
      if (!services.some((x) => x.name === s))
        throw new DrillError('DRILL_SCENARIO_INVALID', `${o.scenarioFile}: event ${ev.type} at ${ev.at}: no client-facing service ${s} in ${env.name}`);
  }

  // Simulated time: a week of history, then the live part from `start` on day 8.
  const [hh, mm] = scenario.start.split(':').map(Number) as [number, number];
  const T0 = 7 * DAY + hh * 60 + mm;
  const duration = offsetMinutes(scenario.duration);
  const end = T0 + duration;
  // Only what the rules read is simulated: the week-ago window (offset 1w ± 1h and the rate
  // window) and the recent past; the days between carry no samples, which keeps promtool fast.
  const margin = 90;
  const gaps: Effect[] = [
    { type: 'vanish', from: 0, to: Math.max(0, T0 - 7 * DAY - margin) },
    { type: 'vanish', from: T0 - 7 * DAY + duration + margin, to: T0 - margin },
  ];
  const effects: Effect[] = scenario.events.map((ev) => {
    const span = {
      from: T0 + offsetMinutes(ev.at),
      ...(ev.until ? { to: T0 + offsetMinutes(ev.until) } : {}),
      ...(ev.dcs ? { dcs: ev.dcs } : {}),
      ...(ev.services ? { services: ev.services } : {}),
    };
    if (ev.type === 'scale') return { ...span, type: 'scale', factor: ev.factor };
    if (ev.type === 'shift') return { ...span, type: 'shift', minutes: ev.minutes };
    if (ev.type === 'canary') return { ...span, type: 'canary', weight: ev.weight };
    return { ...span, type: ev.type };
  });
  const shape = scenario.traffic.shape === 'business-day' ? BUSINESS_DAY : scenario.traffic.shape;
  const seriesOf = new Map<string, InputSeries[]>(
    services.map((s) => {
      const spec: SimSpec = {
        minutes: end,
        shape,
        effects: [...gaps, ...effects],
        dcs: s.dataCenters.map((name) => ({
          name,
          utcOffsetMinutes: scenario.traffic.timeZones === 'local' ? utcOffsetMinutes(env.dataCenters.find((d) => d.name === name)!.timeZone) : 0,
          peakRps: scenario.traffic.services?.[s.name] ?? scenario.traffic.peakRps,
        })),
      };
      return [
        s.name,
        serviceSeries(spec, s.name, { metric: s.traffic.metric, selector: s.traffic.selector, dcLabel: e.dcLabel, healthMetric: e.healthMetric }),
      ];
    }),
  );

  const work = mkdtempSync(join(tmpdir(), 'topoforge-drill-'));
  const procs: Proc[] = [];
  try {
    // Alertmanager with the configuration prometheus-operator generates; the webhook points at the local orchestrator.
    const orchestratorConfigFile = join(work, 'orchestrator.json');
    writeFileSync(orchestratorConfigFile, e.orchestratorConfig);
    // The webhook is authenticated as in a cluster: a token only this run knows, never printed.
    const token = randomBytes(32).toString('hex');
    const tokenFile = join(work, 'webhook-token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const auth = { authorization: `Bearer ${token}` };
    const orchestrator = await startOrchestrator(orchestratorConfigFile, {
      drillClock: simTime(T0),
      auditLog: join(work, 'audit.jsonl'),
      webhookTokenFile: tokenFile,
      ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    });
    procs.push(orchestrator);
    const amConfig = operatorAlertmanagerConfig([e.amc], undefined, {
      rewriteUrl: () => `${orchestrator.url}/alerts`,
      timings: { group_wait: '0s', group_interval: '1s', repeat_interval: '1h' },
      secrets: [webhookTokenSecret(e.amc, token)],
    });
    writeFileSync(join(work, 'alertmanager.yml'), stringify(amConfig), { mode: 0o600 });
    const am = await startAlertmanager(join(work, 'alertmanager.yml'), join(work, 'am-data'));
    procs.push(am);

    const drained = new Map<string, { from: number; to?: number }[]>();
    let promtoolRuns = 0;
    // One promtool run per service: its rule group and its series only (promtool reports one
    // group's alerts per alert name, and a drain changes only its own service's inputs).
    const perService = new Map<string, Map<number, FiringAlert[]>>();
    const evalServices = async (names: readonly string[], from: number): Promise<void> => {
      log(`promtool: ${names.join(', ')} from ${simTime(from)} (${Math.round(end / 60)} simulated hours each)`);
      const queue = [...names];
      const worker = async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          const s = services.find((x) => x.name === name)!;
          const dir = join(work, 'promtool', name);
          mkdirSync(dir, { recursive: true });
          promtoolRuns++;
          const got = await evaluate({
            dir,
            groups: e.groups.filter((g) => g.name === `traffic-${name}`),
            series: [...seriesOf.get(name)!, ...s.dataCenters.map((dc) => drainedSeries(name, dc, drained.get(key(name, dc)) ?? [], end))],
            alertnames: ALL_ALERTS,
            from,
            to: end,
          });
          const merged = new Map([...(perService.get(name) ?? new Map<number, FiringAlert[]>())].filter(([m]) => m < from));
          for (const [m, a] of got) merged.set(m, a);
          perService.set(name, merged);
        }
      };
      await Promise.all([worker(), worker()]);
    };
    await evalServices(
      services.map((s) => s.name),
      T0,
    );
    const alertsAt = (m: number): FiringAlert[] => services.flatMap((s) => perService.get(s.name)?.get(m) ?? []);
    const events: DrillEvent[] = [];
    let previous = new Map<string, FiringAlert>();
    const id = (a: FiringAlert) => JSON.stringify(Object.entries(a.labels).sort());
    for (let m = T0; m <= end; m++) {
      const now = new Map(alertsAt(m).map((a) => [id(a), a]));
      const started = [...now.entries()].filter(([k]) => !previous.has(k));
      const ended = [...previous.entries()].filter(([k]) => !now.has(k));
      for (const [type, changed] of [
        ['firing', started],
        ['resolved', ended],
      ] as const) {
        for (const [, a] of changed) {
          events.push({ minute: m - T0, time: simTime(m), type, alertname: a.labels.alertname!, service: a.labels.service ?? '', dc: a.labels.dc ?? '' });
        }
      }
      // The orchestrator's clock reaches this minute before the minute's notifications arrive.
      const tickAt = async () =>
        (await (await fetch(`${orchestrator.url}/v1/clock`, { method: 'POST', headers: auth, body: JSON.stringify({ now: simTime(m) }) })).json()) as {
          decisions: { action: 'drain' | 'restore' | 'hold'; service: string; dc: string; reason: string; weights: Record<string, number> }[];
        };
      const early = await tickAt();
      if (started.length + ended.length > 0) {
        // As Prometheus does: firing alerts with an end in the future, resolved ones ending now.
        const realNow = Date.now();
        const body = [
          ...[...now.values()].map((a) => ({
            labels: a.labels,
            annotations: a.annotations,
            startsAt: new Date(realNow - 1000).toISOString(),
            endsAt: new Date(realNow + 3_600_000).toISOString(),
            generatorURL: 'http://drill/',
          })),
          ...ended.map(([, a]) => ({
            labels: a.labels,
            annotations: a.annotations,
            startsAt: new Date(realNow - 2000).toISOString(),
            endsAt: new Date(realNow - 1000).toISOString(),
            generatorURL: 'http://drill/',
          })),
        ];
        const r = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (!r.ok) throw new DrillError('DRILL_ALERTMANAGER_REJECTED', `${r.status} ${await r.text()}`);
        // Wait until the orchestrator has what Alertmanager routed to it.
        const routed = [...now.values()].filter((a) => a.labels.action);
        const want = new Set(routed.map((a) => `${a.labels.service}/${a.labels.dc}/${a.labels.alertname}`));
        const deadline = Date.now() + 20_000;
        let missing: string[] = [];
        for (;;) {
          const st = (await (await fetch(`${orchestrator.url}/v1/state`)).json()) as { cells: { service: string; dc: string; firing: string[] }[] };
          const have = new Set(st.cells.flatMap((c) => c.firing.map((f) => `${c.service}/${c.dc}/${f}`)));
          missing = [...want].filter((w) => !have.has(w)).concat([...have].filter((h) => !want.has(h)).map((x) => `-${x}`));
          if (missing.length === 0 || Date.now() > deadline) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        if (missing.length > 0) events.push({ minute: m - T0, time: simTime(m), type: 'delivery-timeout', missing });
      }
      previous = now;
      const late = started.length + ended.length > 0 ? await tickAt() : { decisions: [] };
      const tick = { decisions: [...early.decisions, ...late.decisions] };
      const changed = new Set<string>();
      for (const d of tick.decisions) {
        events.push({
          minute: m - T0,
          time: simTime(m),
          type: 'decision',
          action: d.action,
          service: d.service,
          dc: d.dc,
          reason: d.reason,
          weights: d.weights,
        });
        const spans = drained.get(key(d.service, d.dc)) ?? [];
        if (d.action === 'drain') {
          spans.push({ from: m + 1 });
          changed.add(d.service);
        }
        if (d.action === 'restore' && spans.length > 0) {
          spans[spans.length - 1] = { from: spans[spans.length - 1]!.from, to: m + 1 };
          changed.add(d.service);
        }
        drained.set(key(d.service, d.dc), spans);
      }
      // The drained gauge is scraped from the next minute on: re-evaluate the rest with it.
      if (changed.size > 0 && m < end) await evalServices([...changed], m + 1);
    }
    const state = (await (await fetch(`${orchestrator.url}/v1/state`)).json()) as { weights: Record<string, Record<string, number>> };
    // Alertmanager authenticated every notification: the orchestrator refused none.
    const refused = (await (await fetch(`${orchestrator.url}/metrics`)).text())
      .split('\n')
      .filter((l) => /^topoforge_failover_webhook_rejected_total\{/.test(l) && !/ 0$/.test(l));
    if (refused.length > 0) events.push({ minute: end - T0, time: simTime(end), type: 'webhook-refused', refused });
    const result: DrillResult = {
      scenario: scenario.name,
      environment: env.name,
      mode: o.kubeconfig ? 'sandbox' : 'dry-run',
      timeCompression:
        'rules: promtool over simulated minutes; orchestrator: simulated clock advanced per minute; Alertmanager: real time, group_wait 0s, group_interval 1s',
      events,
      finalWeights: state.weights,
      checks: checks(
        scenario,
        env,
        services.map((s) => s.name),
        events,
      ),
      promtoolRuns,
    };
    return result;
  } finally {
    for (const p of procs.reverse()) await p.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The scenario's expectations plus the invariants every drill must hold. */
export function checks(scenario: Scenario, env: Environment, services: readonly string[], events: readonly DrillEvent[]): Check[] {
  const decisions = events.filter((e): e is Extract<DrillEvent, { type: 'decision' }> => e.type === 'decision');
  const drains = decisions.filter((d) => d.action === 'drain');
  const out: Check[] = [];
  const x = scenario.expect ?? {};
  const runsIn = (dc: string) => services.filter((s) => env.services.find((y) => y.name === s)!.dataCenters.includes(dc));
  for (const d of x.drained ?? []) {
    const bound = offsetMinutes(d.within);
    const late = runsIn(d.dc).filter((s) => !drains.some((e) => e.service === s && e.dc === d.dc && e.minute <= bound));
    out.push({
      name: `${d.dc} drained for every service within ${d.within}`,
      ok: late.length === 0,
      detail:
        late.length === 0
          ? `drained at ${runsIn(d.dc)
              .map((s) => `${s} +${drains.find((e) => e.service === s && e.dc === d.dc)!.minute}m`)
              .join(', ')}`
          : `not drained in time: ${late.join(', ')}`,
    });
    const order = drains.filter((e) => e.dc === d.dc).map((e) => env.services.find((s) => s.name === e.service)!.recoveryPriority);
    out.push({
      name: `${d.dc}: social network first, then recovery order`,
      ok: order.length > 0 && order.every((p, i) => i === 0 || p >= order[i - 1]!) && drains.find((e) => e.dc === d.dc)?.service === 'social-network',
      detail: drains
        .filter((e) => e.dc === d.dc)
        .map((e) => e.service)
        .join(' → '),
    });
  }
  for (const r of x.restored ?? []) {
    const missing = runsIn(r.dc).filter((s) => !decisions.some((e) => e.action === 'restore' && e.service === s && e.dc === r.dc));
    out.push({
      name: `${r.dc} failed back for every service`,
      ok: missing.length === 0,
      detail: missing.length === 0 ? 'restored' : `not restored: ${missing.join(', ')}`,
    });
  }
  if (x.noAction) out.push({ name: 'no drain, no failback', ok: decisions.filter((d) => d.action !== 'hold').length === 0, detail: `${drains.length} drains` });
  for (const dc of x.keepsServing ?? [])
    out.push({
      name: `${dc} never drained`,
      ok: !drains.some((d) => d.dc === dc),
      detail:
        drains
          .filter((d) => d.dc === dc)
          .map((d) => d.service)
          .join(', ') || 'never drained',
    });
  // Invariant: never the last DC of a service.
  const lastDrained = decisions.filter((d) => d.action !== 'hold' && Object.values(d.weights).every((w) => w === 0));
  out.push({
    name: 'never the last serving DC of a service',
    ok: lastDrained.length === 0,
    detail: lastDrained.map((d) => `${d.service}/${d.dc}`).join(', ') || 'held',
  });
  const refused = events.flatMap((e) => (e.type === 'webhook-refused' ? e.refused : []));
  out.push({
    name: 'Alertmanager authenticated to the orchestrator (bearer token from the AlertmanagerConfig Secret)',
    ok: refused.length === 0,
    detail: refused.length === 0 ? 'no webhook refused' : refused.join(', '),
  });
  const timeouts = events.filter((e) => e.type === 'delivery-timeout');
  out.push({
    name: 'every routed alert reached the orchestrator through Alertmanager',
    ok: timeouts.length === 0,
    detail: timeouts.length === 0 ? 'all delivered' : JSON.stringify(timeouts.slice(0, 3)),
  });
  return out;
}

const hm = (minute: number): string =>
  `${minute < 0 ? '-' : '+'}${String(Math.floor(Math.abs(minute) / 60)).padStart(2, '0')}:${String(Math.abs(minute) % 60).padStart(2, '0')}`;

/** The human timeline. */
export function formatTimeline(r: DrillResult): string {
  const lines = [`drill: ${r.scenario} · environment ${r.environment} · ${r.mode}`, `time: ${r.timeCompression}`, ''];
  for (const e of r.events) {
    const at = `${hm(e.minute)}  ${e.time.slice(0, 16).replace('T', ' ')}Z`;
    if (e.type === 'firing' || e.type === 'resolved')
      lines.push(`${at}  ${e.type === 'firing' ? 'FIRING  ' : 'resolved'} ${e.alertname} ${e.service}${e.dc ? `/${e.dc}` : ''}`);
    else if (e.type === 'decision')
      lines.push(
        `${at}  ${e.action.toUpperCase().padEnd(8)} ${e.service}/${e.dc}: ${e.reason}  → weights ${Object.entries(e.weights)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
    else if (e.type === 'delivery-timeout') lines.push(`${at}  DELIVERY TIMEOUT ${e.missing.join(', ')}`);
    else if (e.type === 'webhook-refused') lines.push(`${at}  WEBHOOK REFUSED ${e.refused.join(', ')}`);
  }
  lines.push('', 'final weights:');
  for (const [s, w] of Object.entries(r.finalWeights))
    lines.push(
      `  ${s.padEnd(16)} ${Object.entries(w)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  lines.push('', 'checks:');
  for (const c of r.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.detail})`);
  return `${lines.join('\n')}\n`;
}
