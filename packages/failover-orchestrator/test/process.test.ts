import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listening } from './listening.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'orchestrator-'));
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.pid) process.kill(p.pid);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts the orchestrator on a port the kernel picks (`--port 0`) and reads the one it bound
 * from its `listening on` line: no port is chosen and released first, so another process cannot
 * take it in between.
 */
async function start(args: string[]): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [main, '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  const url = await listening(proc);
  return { url, proc };
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
