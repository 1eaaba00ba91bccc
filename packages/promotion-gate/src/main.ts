#!/usr/bin/env node
/**
 * promotion-gate --config gate.yaml (--ledger ledger.yaml | --evidence evidence.jsonl)
 *                [--port 8080] [--host 0.0.0.0] [--kube-timeout 3s] [--kubeconfig FILE]
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { readGateConfig } from './config.js';
import { kubeDeploymentReader } from './kube.js';
import { createGateServer } from './server.js';

export function durationMs(v: string): number {
  const m = /^([0-9]+)(ms|s)$/.exec(v);
  if (!m) throw new Error(`"${v}" is not a duration such as 3s or 500ms`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      ledger: { type: 'string' },
      evidence: { type: 'string' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '0.0.0.0' },
      'kube-timeout': { type: 'string', default: '3s' },
      kubeconfig: { type: 'string' },
    },
    strict: true,
  });
  const log = pino({ base: { component: 'promotion-gate' }, timestamp: pino.stdTimeFunctions.isoTime });
  if (!values.config) throw new Error('--config is required');
  const config = readGateConfig(values.config);
  if (config.mode === 'gate' && !values.ledger) throw new Error('mode "gate" needs --ledger (the test stand ledger ConfigMap)');
  const timeoutMs = durationMs(values['kube-timeout']);
  const reader = kubeDeploymentReader({ timeoutMs, ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}) });
  const gate = createGateServer({
    config,
    reader,
    ...(values.ledger ? { ledgerFile: values.ledger } : {}),
    ...(values.evidence ? { evidenceFile: values.evidence } : {}),
    // Room for the API call and the answer, well inside Flagger's 15 s webhook timeout.
    answerTimeoutMs: timeoutMs + 2_000,
    logger: log.child({ environment: config.environment, dc: config.dc }),
  });
  const port = await gate.listen(Number(values.port), values.host);
  log.info({ port, mode: config.mode, canaries: config.canaries.length }, 'listening');
  const stop = (): void => {
    log.info('stopping');
    void gate.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 60, msg: 'promotion-gate failed to start', err: (err as Error).message })}\n`);
  process.exit(2);
});
