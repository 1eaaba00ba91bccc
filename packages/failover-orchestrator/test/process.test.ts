import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listening } from './listening.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'orchestrator-'));
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.pid && p.exitCode === null && p.signalCode === null) process.kill(p.pid);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts the orchestrator on a port the kernel picks (`--port 0`) and reads the one it bound
 * from its `listening on` line: no port is chosen and released first, so another process cannot
 * take it in between.
 */
async function start(args: string[]): Promise<{ url: string; proc: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, [main, '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await listening(proc, 'the orchestrator', () => output);
  return { url, proc, output: () => output };
}

/** Runs the process to its exit; its code and stderr. */
async function exits(args: string[]): Promise<{ code: unknown; err: string }> {
  const proc = spawn(process.execPath, [main, '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((r) => proc.on('exit', r));
  return { code, err };
}

const config = {
  environment: 'test',
  dryRun: true,
  timing: { confirmSeconds: 60, minDrainedSeconds: 60, failbackSeconds: 60 },
  maxDrainedFraction: 0.5,
  quorum: { min: 1 },
  clusters: [
    { dc: 'a', context: 'a' },
    { dc: 'b', context: 'b' },
  ],
  services: [
    {
      name: 'social-network',
      recoveryPriority: 1,
      namespace: 'social',
      gslb: 'social-network',
      dcs: [
        { name: 'a', geoTag: 'a', weight: 10 },
        { name: 'b', geoTag: 'b', weight: 10 },
      ],
    },
  ],
};

describe('the orchestrator process', () => {
  it('serves health, takes webhooks, drains in dry run, exports the drained gauge and audits with evidence', async () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const audit = join(dir, 'audit.jsonl');
    const { url } = await start(['--config', file, '--dry-run', '--audit-log', audit, '--drill-clock', '2026-11-25T10:00:00Z']);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const bad = await fetch(`${url}/alerts`, { method: 'POST', body: '{"version":"3"}' });
    expect(bad.status).toBe(400);
    const payload = {
      version: '4',
      status: 'firing',
      receiver: 'monitoring/failover-orchestrator/failover-orchestrator',
      groupKey: 'k',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'TrafficDrop', service: 'social-network', dc: 'a', action: 'failover' },
          annotations: {},
          startsAt: '2026-11-25T10:00:00Z',
          fingerprint: 'f1',
        },
      ],
    };
    expect((await fetch(`${url}/alerts`, { method: 'POST', body: JSON.stringify(payload) })).status).toBe(200);
    const tick = (await (await fetch(`${url}/v1/clock`, { method: 'POST', body: JSON.stringify({ now: '2026-11-25T10:01:00Z' }) })).json()) as {
      decisions: { action: string }[];
    };
    expect(tick.decisions.map((d) => d.action)).toEqual(['drain']);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('topoforge_failover_drained{service="social-network",dc="a"} 1');
    expect(metrics).toContain('topoforge_failover_weight{service="social-network",dc="a"} 0');
    const state = (await (await fetch(`${url}/v1/state`)).json()) as { weights: Record<string, Record<string, number>> };
    expect(state.weights['social-network']).toEqual({ a: 0, b: 10 });
    const lines = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; evidence?: unknown[] });
    expect(lines.find((l) => l.event === 'decision')!.evidence).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'applied').length).toBe(2); // both clusters
  });

  it('backs off a DC that fails back too early: drained again within the minimum drain time, it stays drained twice as long before the next failback', async () => {
    // A DC whose probes pass but which gets no client traffic (clients cannot reach it) passes
    // TrafficFailbackReady, is restored, drops again and is drained again: without a back-off
    // this repeats every minimum drain time + failback time, clients sent to it each time.
    const file = join(dir, 'flap.json');
    writeFileSync(file, JSON.stringify({ ...config, timing: { confirmSeconds: 60, minDrainedSeconds: 600, failbackSeconds: 60 } }));
    const { url } = await start(['--config', file, '--dry-run', '--drill-clock', '2026-11-25T10:00:00Z']);
    const alert = (alertname: string, status: 'firing' | 'resolved', fingerprint: string) =>
      fetch(`${url}/alerts`, {
        method: 'POST',
        body: JSON.stringify({
          version: '4',
          status,
          receiver: 'monitoring/failover-orchestrator/failover-orchestrator',
          alerts: [{ status, labels: { alertname, service: 'social-network', dc: 'a' }, fingerprint }],
        }),
      });
    const at = async (time: string) =>
      (
        (await (await fetch(`${url}/v1/clock`, { method: 'POST', body: JSON.stringify({ now: `2026-11-25T${time}:00Z` }) })).json()) as {
          decisions: { action: string; reason: string }[];
        }
      ).decisions;
    // As the rules and Alertmanager send it: the drop, drained (it resolves, failback ready fires), restored (it resolves, the drop fires again).
    const cycle = async (drop: string, drained: string) => {
      await alert('TrafficDrop', 'firing', drop);
      const drain = await at(drained);
      expect(drain.map((d) => d.action)).toEqual(['drain']);
      await alert('TrafficDrop', 'resolved', drop);
      await alert('TrafficFailbackReady', 'firing', `${drop}-ready`);
      return { reason: drain[0]!.reason, ready: () => alert('TrafficFailbackReady', 'resolved', `${drop}-ready`) };
    };
    const first = await cycle('drop-1', '10:01');
    expect(first.reason).not.toMatch(/back-off/);
    expect((await at('10:11')).map((d) => d.action)).toEqual(['restore']);
    await first.ready();
    // Dropped again 1 minute after its restore: the failback was premature.
    const second = await cycle('drop-2', '10:12');
    expect(second.reason).toMatch(/restored only 60s before: stays drained at least 1200s \(back-off ×2\)/);
    expect(await at('10:23')).toEqual([]); // drained 11 min: past 600 s, not past 2 × 600 s
    expect(await at('10:31')).toEqual([]);
    const restore = await at('10:32');
    expect(restore.map((d) => d.action)).toEqual(['restore']);
    expect(restore[0]!.reason).toMatch(/drained for 1200s/);
    await second.ready();
    // The restore held this time (longer than the 1200 s it had to stay drained): back to 600 s.
    await alert('TrafficDrop', 'firing', 'drop-3');
    expect((await at('11:00')).map((d) => d.action)).toEqual(['drain']);
    await alert('TrafficDrop', 'resolved', 'drop-3');
    await alert('TrafficFailbackReady', 'firing', 'drop-3-ready');
    expect((await at('11:10')).map((d) => d.action)).toEqual(['restore']);
  });

  it('refuses a bad configuration with a coded error and a non-zero exit', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...config, maxDrainedFraction: 2 }));
    const proc = spawn(process.execPath, [main, '--config', file, '--dry-run'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => proc.on('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/ORCHESTRATOR_CONFIG_INVALID: .*bad\.json: \/maxDrainedFraction/);
  });
});

describe('the webhook needs the bearer token (--webhook-token-file)', () => {
  const TOKEN = 'w3bh00k-t0ken-0f-the-test-4b1c9e';
  const NEXT = 'n3xt-t0ken-after-r0tation-77d2aa';
  // Two evaluators must report a drop (quorum.min 2): one forged request can name both.
  const quorumConfig = { ...config, quorum: { label: 'prometheus', min: 2 } };
  const forged = {
    version: '4',
    status: 'firing',
    receiver: 'monitoring/failover-orchestrator/failover-orchestrator',
    alerts: ['prom-a', 'prom-b'].map((p) => ({
      status: 'firing',
      labels: { alertname: 'TrafficDrop', service: 'social-network', dc: 'a', action: 'failover', prometheus: p },
      fingerprint: `forged-${p}`,
    })),
  };
  const post = (url: string, path: string, body: unknown, authorization?: string) =>
    fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: authorization ? { authorization } : {} });
  const metric = (text: string, name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .sort();

  it('exports the webhook counters at 0 from the start: the first refused or received webhook is an increase the health rules see', async () => {
    // prom-client creates a labelled series at its first inc, already at 1: increase() reads
    // that as no change, so traffic-alerts' FailoverWebhookRejected missed a first refusal and
    // FailoverAlertsNotReceived a first delivery.
    const file = join(dir, 'config-zero.json');
    writeFileSync(file, JSON.stringify(config));
    const tokenFile = join(dir, 'token-zero');
    writeFileSync(tokenFile, 'zero-test-token-0123456789abcdef');
    const { url } = await start(['--config', file, '--dry-run', '--webhook-token-file', tokenFile]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metric(metrics, 'topoforge_failover_webhook_rejected_total{')).toEqual([
      'topoforge_failover_webhook_rejected_total{path="/alerts",reason="missing"} 0',
      'topoforge_failover_webhook_rejected_total{path="/alerts",reason="token-unavailable"} 0',
      'topoforge_failover_webhook_rejected_total{path="/alerts",reason="wrong"} 0',
    ]);
    expect(metric(metrics, 'topoforge_failover_alerts_received_total{')).toEqual([
      'topoforge_failover_alerts_received_total{status="firing"} 0',
      'topoforge_failover_alerts_received_total{status="resolved"} 0',
    ]);
  });

  it('refuses a forged POST without or with a wrong token (401, counted) and changes nothing; the token file is read per request (rotation)', async () => {
    const file = join(dir, 'quorum.json');
    writeFileSync(file, JSON.stringify(quorumConfig));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`); // the newline `echo … > file` leaves is not part of it
    const audit = join(dir, 'auth-audit.jsonl');
    const { url, output } = await start([
      '--config',
      file,
      '--dry-run',
      '--audit-log',
      audit,
      '--drill-clock',
      '2026-11-25T10:00:00Z',
      '--webhook-token-file',
      tokenFile,
    ]);
    expect(output()).toContain('webhook needs the bearer token');
    const before = (await (await fetch(`${url}/v1/state`)).json()) as { now: string };

    const none = await post(url, '/alerts', forged);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="failover-orchestrator"');
    expect(await none.json()).toMatchObject({ error: 'WEBHOOK_UNAUTHORIZED' });
    for (const wrong of [`Bearer ${TOKEN.slice(0, -1)}x`, `Bearer ${TOKEN}${TOKEN}`, 'Bearer short', `Basic ${TOKEN}`, `Bearer ${TOKEN} extra`, TOKEN]) {
      const r = await post(url, '/alerts', forged, wrong);
      expect(r.status, wrong).toBe(401);
      expect(((await r.json()) as { error: string }).error).toBe('WEBHOOK_UNAUTHORIZED');
    }
    // The clock of a drill needs it too: without it time does not move.
    expect((await post(url, '/v1/clock', { now: '2026-11-25T10:05:00Z' })).status).toBe(401);
    expect(((await (await fetch(`${url}/v1/state`)).json()) as { now: string }).now).toBe(before.now);
    // Past the confirmation time: a forged alert that had been taken would drain now.
    const tick = await post(url, '/v1/clock', { now: '2026-11-25T10:05:00Z' }, `Bearer ${TOKEN}`);
    expect(tick.status).toBe(200);
    expect(((await tick.json()) as { decisions: unknown[] }).decisions).toEqual([]);
    const state = (await (await fetch(`${url}/v1/state`)).json()) as {
      cells: { drained: boolean; firing: string[] }[];
      weights: Record<string, Record<string, number>>;
    };
    expect(state.cells.every((c) => !c.drained && c.firing.length === 0)).toBe(true);
    expect(state.weights['social-network']).toEqual({ a: 10, b: 10 });
    expect(await (await fetch(`${url}/v1/audit`)).json()).toEqual([]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metric(metrics, 'topoforge_failover_decisions_total{')).toEqual([]);
    expect(metric(metrics, 'topoforge_failover_alerts_received_total{')).toEqual([
      'topoforge_failover_alerts_received_total{status="firing"} 0',
      'topoforge_failover_alerts_received_total{status="resolved"} 0',
    ]);
    expect(metric(metrics, 'topoforge_failover_drained{')).toEqual([
      'topoforge_failover_drained{service="social-network",dc="a"} 0',
      'topoforge_failover_drained{service="social-network",dc="b"} 0',
    ]);
    expect(metric(metrics, 'topoforge_failover_webhook_rejected_total{')).toEqual([
      'topoforge_failover_webhook_rejected_total{path="/alerts",reason="missing"} 4',
      'topoforge_failover_webhook_rejected_total{path="/alerts",reason="token-unavailable"} 0',
      'topoforge_failover_webhook_rejected_total{path="/alerts",reason="wrong"} 3',
      'topoforge_failover_webhook_rejected_total{path="/v1/clock",reason="missing"} 1',
    ]);

    // The same request with the token is taken, and one request's labels satisfy the quorum of two
    // evaluators: the quorum is no defence against a caller who can post.
    expect((await post(url, '/alerts', forged, `Bearer ${TOKEN}`)).status).toBe(200);
    const drain = (await (await post(url, '/v1/clock', { now: '2026-11-25T10:08:00Z' }, `bearer ${TOKEN}`)).json()) as { decisions: { action: string }[] };
    expect(drain.decisions.map((d) => d.action)).toEqual(['drain']);

    // Rotation: the file is read per request. The new and the old token while Alertmanagers switch, then the new only.
    writeFileSync(tokenFile, `${NEXT}\n${TOKEN}\n`);
    for (const t of [NEXT, TOKEN]) expect((await post(url, '/v1/clock', { now: '2026-11-25T10:09:00Z' }, `Bearer ${t}`)).status).toBe(200);
    writeFileSync(tokenFile, NEXT);
    expect((await post(url, '/v1/clock', { now: '2026-11-25T10:09:00Z' }, `Bearer ${TOKEN}`)).status).toBe(401);
    expect((await post(url, '/v1/clock', { now: '2026-11-25T10:09:00Z' }, `Bearer ${NEXT}`)).status).toBe(200);
    // A file that cannot be used (the Secret deleted): fail closed with a 503, which Alertmanager retries.
    unlinkSync(tokenFile);
    for (let i = 0; i < 2; i++) {
      const r = await post(url, '/alerts', forged, `Bearer ${NEXT}`);
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ error: 'ORCHESTRATOR_WEBHOOK_TOKEN_INVALID' });
    }
    writeFileSync(tokenFile, NEXT);
    expect((await post(url, '/alerts', forged, `Bearer ${NEXT}`)).status).toBe(200);
    // Reported once, naming the file; no token is ever printed.
    expect(output().match(/error ORCHESTRATOR_WEBHOOK_TOKEN_INVALID: .*token: cannot be read \(ENOENT\)/g)).toHaveLength(1);
    expect(output()).not.toContain(TOKEN);
    expect(output()).not.toContain(NEXT);
    expect(readFileSync(audit, 'utf8')).not.toContain(TOKEN);
  });

  it('refuses to start without a token file unless --dry-run or --drill-clock, and with a token file it cannot use; never printing the token', async () => {
    const file = join(dir, 'acting.json');
    writeFileSync(file, JSON.stringify({ ...config, dryRun: false }));
    const missing = await exits(['--config', file, '--kubeconfig', join(dir, 'no-kubeconfig')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^error ORCHESTRATOR_WEBHOOK_TOKEN_MISSING: --webhook-token-file FILE is required unless --dry-run or --drill-clock/);
    // dryRun in the configuration is no exemption: a dry run in a cluster still exports the drained gauge.
    const dry = join(dir, 'dry.json');
    writeFileSync(dry, JSON.stringify(config));
    expect((await exits(['--config', dry, '--kubeconfig', join(dir, 'no-kubeconfig')])).err).toContain('ORCHESTRATOR_WEBHOOK_TOKEN_MISSING');
    const short = join(dir, 'short-token');
    writeFileSync(short, 'tooShortSecret\n');
    const bad = await exits(['--config', file, '--kubeconfig', join(dir, 'no-kubeconfig'), '--webhook-token-file', short]);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(
      `error ORCHESTRATOR_WEBHOOK_TOKEN_INVALID: ${short}:1: a token is 16 to 4096 visible ASCII characters (no spaces); this line is not\n`,
    );
    const absent = await exits(['--config', file, '--kubeconfig', join(dir, 'no-kubeconfig'), '--webhook-token-file', join(dir, 'absent')]);
    expect(absent.err).toMatch(/ORCHESTRATOR_WEBHOOK_TOKEN_INVALID: .*absent: cannot be read \(ENOENT\)/);
    // A dry run or a drill runs without one, and says so.
    const { output } = await start(['--config', dry, '--dry-run']);
    expect(output()).toContain('warning ORCHESTRATOR_WEBHOOK_UNAUTHENTICATED');
    expect(output()).toContain('webhook UNAUTHENTICATED');
  });
});
