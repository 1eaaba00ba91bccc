/**
 * The webhook token end to end, without promtool: the real Alertmanager, configured as
 * prometheus-operator configures it from the emitted AlertmanagerConfig and the token Secret,
 * notifies the real orchestrator process, which requires the token. A forged POST without or
 * with a wrong token is refused and changes nothing; an Alertmanager given another Secret
 * value is refused too (the orchestrator checks what Alertmanager sends).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadEnvironments } from '@topoforge/model';
import { operatorAlertmanagerConfig } from '@topoforge/plugin-traffic-alerts';
import { startAlertmanager, startOrchestrator, webhookTokenSecret, which, type Proc } from '../src/index.js';
import { emitted } from '../src/run.js';

const environmentsDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const hasAlertmanager = which(['alertmanager', 'prometheus-alertmanager']) !== undefined;
if (!hasAlertmanager) console.warn('alertmanager missing: run `pnpm run setup:tools` (Debian prometheus-alertmanager); webhook authentication test skipped');

const work = mkdtempSync(join(tmpdir(), 'topoforge-drill-auth-'));
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  rmSync(work, { recursive: true, force: true });
});

const TOKEN = 'drill-fixture-webhook-token-8d41f0c2b7';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(hasAlertmanager)('the webhook token between the real Alertmanager and the real orchestrator', () => {
  it('Alertmanager sends the Secret value the AlertmanagerConfig references and is let in; forged POSTs and another value are refused and change nothing', async () => {
    const loaded = loadEnvironments(environmentsDir);
    if (!loaded.ok) throw new Error('the bundled environments do not load');
    const e = await emitted(loaded.value.find((x) => x.name === 'staging')!);
    const config = join(work, 'orchestrator.json');
    writeFileSync(config, e.orchestratorConfig);
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const o = await startOrchestrator(config, { drillClock: '2026-01-12T10:00:00Z', auditLog: join(work, 'audit.jsonl'), webhookTokenFile: tokenFile });
    procs.push(o);

    const labels = (service: string) => ({
      alertname: 'TrafficDrop',
      action: 'failover',
      namespace: 'monitoring',
      environment: 'staging',
      severity: 'critical',
      service,
      dc: 'stg01',
    });
    const payload = (service: string) => ({
      version: '4',
      status: 'firing',
      receiver: 'monitoring/failover-orchestrator/failover-orchestrator',
      alerts: [{ status: 'firing', labels: labels(service), fingerprint: `forged-${service}` }],
    });
    const state = async () => (await (await fetch(`${o.url}/v1/state`)).json()) as { cells: { service: string; dc: string; firing: string[] }[] };
    const firing = async () => (await state()).cells.filter((c) => c.firing.length > 0).map((c) => `${c.service}/${c.dc}/${c.firing.join('+')}`);
    const rejected = async () =>
      (await (await fetch(`${o.url}/metrics`)).text())
        .split('\n')
        .filter((l) => l.startsWith('topoforge_failover_webhook_rejected_total{') && !l.endsWith(' 0'))
        .sort();

    // Forged: no token, a wrong one.
    for (const headers of [{}, { authorization: `Bearer ${TOKEN.replace('8', '9')}` }] as Record<string, string>[]) {
      const r = await fetch(`${o.url}/alerts`, { method: 'POST', headers, body: JSON.stringify(payload('online-store')) });
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ error: 'WEBHOOK_UNAUTHORIZED' });
    }
    expect(await firing()).toEqual([]);
    expect(readFileSync(join(work, 'audit.jsonl'), { encoding: 'utf8', flag: 'a+' })).toBe('');

    // Alertmanager as the operator configures it: the token from the Secret in the AlertmanagerConfig's namespace.
    const start = async (name: string, token: string) => {
      const am = operatorAlertmanagerConfig([e.amc], undefined, {
        rewriteUrl: () => `${o.url}/alerts`,
        timings: { group_wait: '0s', group_interval: '1s', repeat_interval: '1h' },
        secrets: [webhookTokenSecret(e.amc, token)],
      });
      const receiver = am.receivers.find((r) => r.name === 'monitoring/failover-orchestrator/failover-orchestrator')!;
      expect((receiver.webhook_configs as { http_config: unknown }[])[0]!.http_config).toEqual({ authorization: { type: 'Bearer', credentials: token } });
      writeFileSync(join(work, `${name}.yml`), stringify(am), { mode: 0o600 });
      const p = await startAlertmanager(join(work, `${name}.yml`), join(work, `${name}-data`));
      procs.push(p);
      return p;
    };
    const post = async (am: Proc, service: string) => {
      const r = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ labels: labels(service), startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString() }]),
      });
      expect(r.status).toBe(200);
    };
    const until = async (what: () => Promise<boolean>, ms = 20_000) => {
      const deadline = Date.now() + ms;
      while (!(await what()) && Date.now() < deadline) await sleep(100);
      return what();
    };

    const good = await start('alertmanager', TOKEN);
    await post(good, 'social-network');
    expect(await until(async () => (await firing()).includes('social-network/stg01/TrafficDrop'))).toBe(true);

    // Another value in the Secret: Alertmanager is refused (again at each group interval), nothing arrives.
    const count = async (reason: string) => Number((await rejected()).find((l) => l.includes(`reason="${reason}"`))?.split(' ')[1] ?? 0);
    const other = await start('alertmanager-other', 'another-token-nobody-shares-0000');
    await post(other, 'telemetry');
    expect(await until(async () => (await count('wrong')) >= 2)).toBe(true);
    await sleep(1500);
    expect(await firing()).toEqual(['social-network/stg01/TrafficDrop']);
    expect(await count('missing')).toBe(1);
    expect((await rejected()).map((l) => l.replace(/\} \d+$/, '}'))).toEqual([
      'topoforge_failover_webhook_rejected_total{path="/alerts",reason="missing"}',
      'topoforge_failover_webhook_rejected_total{path="/alerts",reason="wrong"}',
    ]);
    for (const p of procs) expect(p.output()).not.toContain(TOKEN);
  }, 120_000);
});
