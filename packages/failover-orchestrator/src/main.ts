#!/usr/bin/env node
/**
 * failover-orchestrator --config FILE [--port 8080] [--host 0.0.0.0] [--kubeconfig FILE]
 *   [--webhook-token-file FILE] [--dry-run] [--audit-log FILE] [--tick-seconds 15]
 *   [--drill-clock START_ISO] [--identity ID]
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig } from './config.js';
import { DryRunActuator, KubeActuator } from './gslb.js';
import { Orchestrator, type Clock } from './orchestrator.js';
import { QuorumLease } from './election.js';
import { KubeLeaseApi } from './kube-lease.js';
import { startServer } from './server.js';
import { TokenFileError, WebhookAuth } from './webhook-auth.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '0.0.0.0' },
      kubeconfig: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'audit-log': { type: 'string' },
      'tick-seconds': { type: 'string', default: '15' },
      'drill-clock': { type: 'string' },
      identity: { type: 'string' },
      'webhook-token-file': { type: 'string' },
    },
  });
  if (!values.config) {
    process.stderr.write('error ORCHESTRATOR_USAGE: --config FILE is required\n');
    return 2;
  }
  let config;
  try {
    config = parseConfig(readFileSync(values.config, 'utf8'), values.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error ${err.code}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const dryRun = values['dry-run'] || config.dryRun;
  config = { ...config, dryRun };
  if (!dryRun && !values.kubeconfig) {
    process.stderr.write('error ORCHESTRATOR_USAGE: --kubeconfig FILE is required unless --dry-run\n');
    return 2;
  }
  let simulated = values['drill-clock'] ? Date.parse(values['drill-clock']) : undefined;
  if (simulated !== undefined && Number.isNaN(simulated)) {
    process.stderr.write('error ORCHESTRATOR_USAGE: --drill-clock must be an ISO time\n');
    return 2;
  }
  // Secure by default: a process that can drain DCs takes alerts only from who holds the token.
  // Without one only a --dry-run or a drill runs, and says so. `dryRun: true` in the config does
  // not count: a dry run in a cluster still exports the drained gauge, and the traffic rules
  // silence a drained DC's drop alerts with it, so forged alerts would silence real ones.
  const tokenFile = values['webhook-token-file'];
  let auth: WebhookAuth | undefined;
  if (tokenFile) {
    auth = new WebhookAuth(tokenFile);
    try {
      await auth.load();
    } catch (err) {
      if (err instanceof TokenFileError) {
        process.stderr.write(`error ${err.code}: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
  } else if (values['dry-run'] || simulated !== undefined) {
    process.stderr.write(
      'warning ORCHESTRATOR_WEBHOOK_UNAUTHENTICATED: no --webhook-token-file: POST /alerts accepts any caller (allowed with --dry-run or --drill-clock only)\n',
    );
  } else {
    process.stderr.write(
      'error ORCHESTRATOR_WEBHOOK_TOKEN_MISSING: --webhook-token-file FILE is required unless --dry-run or --drill-clock: without it any caller could post alerts and drain a DC\n',
    );
    return 2;
  }
  const clock: Clock = { now: () => simulated ?? Date.now() };
  const actuator = dryRun ? new DryRunActuator() : new KubeActuator(values.kubeconfig!, config.clusters);
  // Dry run patches nothing, so there is nothing to elect: every replica decides and audits.
  const e = config.election;
  const election =
    e && !dryRun
      ? new QuorumLease(
          values.identity ?? `${hostname()}-${process.pid}`,
          config.clusters.map((c) => c.dc),
          new KubeLeaseApi(values.kubeconfig!, config.clusters, e.namespace, e.leaseName),
          e,
          // Lease timing runs on the real monotonic clock, never on a drill's simulated one.
          { now: () => performance.now() },
        )
      : undefined;
  const orchestrator = new Orchestrator(config, actuator, clock, values['audit-log'], election);
  const campaign = async () => {
    const change = await orchestrator.campaign();
    // Take over at once rather than at the next tick (a drill drives its ticks itself).
    if (change?.action === 'became-leader' && simulated === undefined) await orchestrator.tick();
  };
  if (election && e) {
    await campaign();
    // A drill plays every replica with this one process and times its decisions: it must lead
    // before it listens. Leases left by a killed earlier run are taken over after their duration.
    const deadline = performance.now() + (e.leaseDurationSeconds + 2 * e.retryPeriodSeconds) * 1000;
    while (simulated !== undefined && !orchestrator.isLeader() && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, e.retryPeriodSeconds * 1000));
      await campaign();
    }
  }
  const campaigner = election && e ? setInterval(() => void campaign(), e.retryPeriodSeconds * 1000) : undefined;
  const server = await startServer(orchestrator, Number(values.port), values.host, {
    ...(simulated !== undefined ? { drillClock: { set: (t: number) => (simulated = t) } } : {}),
    ...(auth ? { auth } : {}),
    warn: (line) => process.stderr.write(`${line}\n`),
  });
  const address = server.address();
  process.stdout.write(
    `failover-orchestrator listening on ${typeof address === 'object' && address ? `${address.address}:${address.port}` : values.port} (${dryRun ? 'dry run' : election ? `election as ${election.identity}, ${orchestrator.isLeader() ? 'leader' : 'standby'}` : 'acting'}; ${config.services.length} services, ${config.clusters.length} clusters; webhook ${auth ? 'needs the bearer token' : 'UNAUTHENTICATED'})\n`,
  );
  // Time-based decisions (confirmation, failback) also need ticks between webhooks; a drill drives ticks itself.
  const timer = simulated === undefined ? setInterval(() => void orchestrator.tick(), Number(values['tick-seconds']) * 1000) : undefined;
  // The first tick at once: a single replica adopts the Gslbs' drains before its first scrape, not a tick period later.
  if (simulated === undefined && !election && !dryRun) void orchestrator.tick();
  const stop = () => {
    if (timer) clearInterval(timer);
    if (campaigner) clearInterval(campaigner);
    // Release the Leases so a standby takes over within a retry period, not a lease duration.
    void orchestrator.resign().finally(() => server.close(() => process.exit(0)));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return 0;
}

main().then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`error ORCHESTRATOR_FAILED: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
