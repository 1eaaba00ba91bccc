/**
 * The HTTP face of the gate: Flagger's webhooks, health and readiness, Prometheus metrics,
 * the test stand's evidence. JSON logs (pino), one line per decision with its reason.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { parseLedger, type Ledger } from '@topoforge/model';
import type { GateConfig } from './config.js';
import { decide, undecided, type DecideContext } from './decide.js';
import { EvidenceStore } from './evidence.js';
import type { DeploymentReader } from './kube.js';
import { HOOK_TYPES, parsePayload, type HookType } from './payload.js';

export interface GateServerOptions {
  readonly config: GateConfig;
  readonly reader: DeploymentReader;
  /** Production: the ledger file (re-read when it changes: ConfigMap volumes update in place). */
  readonly ledgerFile?: string;
  /** Test stand: where evidence is appended. */
  readonly evidenceFile?: string;
  /** Deadline for a whole webhook answer, ms (the API call has its own, shorter one). */
  readonly answerTimeoutMs: number;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

const MAX_BODY = 64 * 1024;

export interface GateServer {
  readonly server: Server;
  readonly registry: Registry;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

function ledgerLoader(file: string | undefined): () => { ok: true; ledger: Ledger } | { ok: false; reason: string } {
  let cached: { mtimeMs: number; size: number; ledger: Ledger } | undefined;
  return () => {
    if (!file) return { ok: false, reason: 'no ledger file configured (--ledger)' };
    try {
      const st = statSync(file);
      if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return { ok: true, ledger: cached.ledger };
      const r = parseLedger(file, readFileSync(file, 'utf8'));
      if (!r.ok) return { ok: false, reason: r.diagnostics.map((d) => d.message).join('; ') };
      cached = { mtimeMs: st.mtimeMs, size: st.size, ledger: r.value };
      return { ok: true, ledger: r.value };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createGateServer(o: GateServerOptions): GateServer {
  const log =
    o.logger ?? pino({ base: { component: 'promotion-gate', environment: o.config.environment, dc: o.config.dc }, timestamp: pino.stdTimeFunctions.isoTime });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const answers = new Counter({
    name: 'promotion_gate_answers_total',
    help: 'Webhook answers by hook, outcome and cause.',
    labelNames: ['hook', 'allowed', 'code'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'promotion_gate_answer_seconds',
    help: 'Time to answer a webhook.',
    labelNames: ['hook'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10],
    registers: [registry],
  });
  // Every hook's series exists from the start at 0: a counter that first appears at 1 shows no
  // increase() in Prometheus, so a single lost post-rollout (which Flagger does not retry)
  // would never alert.
  const undecidedCount = new Counter({
    name: 'promotion_gate_undecided_total',
    help: 'Webhook answers the gate could not decide on (API server, ledger, configuration, own deadline, bad payload, internal error); the code is in promotion_gate_answers_total and the log.',
    labelNames: ['hook'],
    registers: [registry],
  });
  for (const hook of HOOK_TYPES) undecidedCount.inc({ hook }, 0);
  const count = (hook: HookType, allowed: boolean, code: string): void => {
    answers.inc({ hook, allowed: String(allowed), code });
    if (undecided(code)) undecidedCount.inc({ hook });
  };
  const evidenceCount = new Counter({
    name: 'promotion_gate_evidence_total',
    help: 'Canary results recorded on the test stand.',
    labelNames: ['result'],
    registers: [registry],
  });
  const ledger = ledgerLoader(o.ledgerFile);
  const evidence = new EvidenceStore(o.evidenceFile);
  const ctx: DecideContext = { config: o.config, reader: o.reader, ledger, now: o.now ?? (() => new Date()) };

  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json'): void => {
    const text = type === 'application/json' ? `${JSON.stringify(body)}\n` : String(body);
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const ready = (): { ok: boolean; reason: string } => {
    if (o.config.mode === 'record') return { ok: true, reason: 'recording evidence' };
    const l = ledger();
    return l.ok ? { ok: true, reason: 'ledger loaded' } : { ok: false, reason: `ledger unreadable: ${l.reason}` };
  };

  async function hook(type: HookType, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const end = latency.startTimer({ hook: type });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req)) as unknown;
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      count(type, false, 'bad-request');
      end();
      return send(res, status, { allowed: false, reason: `request body is not JSON: ${(err as Error).message}` });
    }
    const p = parsePayload(body, type);
    if (!p.ok) {
      count(type, false, 'bad-request');
      log.warn({ hook: type, reason: p.reason }, 'rejected payload');
      end();
      return send(res, 400, { allowed: false, reason: p.reason });
    }
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no decision within ${o.answerTimeoutMs} ms`)), o.answerTimeoutMs);
    });
    try {
      const d = await Promise.race([decide(type, p.value, ctx), overdue]);
      if (d.evidence) {
        evidence.add(d.evidence);
        evidenceCount.inc({ result: d.evidence.result });
      }
      count(type, d.allowed, d.code);
      log.info(
        {
          hook: type,
          canary: `${p.value.namespace}/${p.value.name}`,
          phase: p.value.phase,
          checksum: p.value.checksum,
          service: d.service,
          image: d.image,
          version: d.version,
          allowed: d.allowed,
          status: d.status,
          code: d.code,
          reason: d.reason,
        },
        'answered',
      );
      send(res, d.status, {
        allowed: d.allowed,
        code: d.code,
        reason: d.reason,
        ...(d.image ? { image: d.image } : {}),
        ...(d.version ? { version: d.version } : {}),
      });
    } catch (err) {
      count(type, false, 'timeout');
      const reason = (err as Error).message;
      log.error({ hook: type, canary: `${p.value.namespace}/${p.value.name}`, reason }, 'refused');
      // A rollback hook must not roll back on our own failure: 409 there, 503 elsewhere — never 2xx.
      send(res, type === 'rollback' ? 409 : 503, { allowed: false, code: 'timeout', reason });
    } finally {
      clearTimeout(timer);
      end();
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gate');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const type = HOOK_TYPES.find((t) => path === `/${t}`);
    if (type && req.method === 'POST') {
      hook(type, req, res).catch((err: unknown) => {
        log.error({ err }, 'unexpected');
        count(type, false, 'internal');
        if (!res.headersSent) send(res, 500, { allowed: false, reason: 'internal error' });
      });
      return;
    }
    if (req.method !== 'GET') return send(res, 405, { reason: `${req.method} ${path} is not served` });
    if (path === '/healthz') return send(res, 200, { ok: true });
    if (path === '/readyz') {
      const r = ready();
      return send(res, r.ok ? 200 : 503, r);
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(res, 200, text, registry.contentType),
        () => send(res, 500, { reason: 'metrics failed' }),
      );
      return;
    }
    if (path === '/evidence' && o.config.mode === 'record')
      return send(res, 200, { environment: o.config.environment, dc: o.config.dc, records: evidence.all() });
    send(res, 404, { reason: `${path} is not served` });
  });
  // A slow or stuck client must not hold a socket for ever.
  server.requestTimeout = o.answerTimeoutMs + 5_000;
  server.headersTimeout = 10_000;

  return {
    server,
    registry,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const addr = server.address();
          resolve(typeof addr === 'object' && addr ? addr.port : port);
        });
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
