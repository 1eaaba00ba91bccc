/**
 * HTTP: `POST /alerts` (Alertmanager webhook v4), `GET /healthz`, `GET /readyz`,
 * `GET /metrics`, `GET /v1/state`, `GET /v1/audit`, and — only when started with
 * `--drill-clock` — `POST /v1/clock {"now": ISO time}` so a drill can run simulated time.
 * With `auth` (see webhook-auth.ts) both POSTs need the bearer token, checked before the body
 * is read: 401 WEBHOOK_UNAUTHORIZED otherwise, counted, and nothing received or decided.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Orchestrator } from './orchestrator.js';
import type { WebhookPayload } from './decider.js';
import type { WebhookAuth } from './webhook-auth.js';

const MAX_BODY = 1 << 20;

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isPayload(x: unknown): x is WebhookPayload {
  const p = x as WebhookPayload;
  return (
    typeof p === 'object' &&
    p !== null &&
    p.version === '4' &&
    Array.isArray(p.alerts) &&
    p.alerts.every((a) => (a.status === 'firing' || a.status === 'resolved') && typeof a.labels === 'object' && a.labels !== null)
  );
}

export interface ServerOptions {
  /** Accept POST /v1/clock (drills only). */
  readonly drillClock?: { set(now: number): void };
  /** Bearer-token check of the POSTs; absent only in dry runs and drills (main.ts decides). */
  readonly auth?: WebhookAuth;
  /** Where a token file that cannot be read is reported (never the token). */
  readonly warn?: (line: string) => void;
}

export function startServer(o: Orchestrator, port: number, host: string, opts: ServerOptions = {}): Promise<Server> {
  const send = (res: ServerResponse, code: number, data: unknown, type = 'application/json') => {
    res.writeHead(code, { 'content-type': type });
    res.end(type === 'application/json' ? `${JSON.stringify(data)}\n` : String(data));
  };
  let lastTokenProblem: string | undefined;
  /** True when the request may go on; otherwise the answer is sent. */
  const authorized = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if (!opts.auth) return true;
    const r = await opts.auth.check(req.headers.authorization);
    if (r.ok) {
      lastTokenProblem = undefined;
      return true;
    }
    o.webhookRejected.inc({ path, reason: r.reason });
    if (r.status === 503) {
      // Once per change: a missing Secret must not flood the log at every retry.
      if (lastTokenProblem !== r.message) opts.warn?.(`error ORCHESTRATOR_WEBHOOK_TOKEN_INVALID: ${r.message}; webhooks are refused until it is fixed`);
      lastTokenProblem = r.message;
      send(res, 503, { error: 'ORCHESTRATOR_WEBHOOK_TOKEN_INVALID', message: "the webhook token file cannot be used; see the orchestrator's log" });
      return false;
    }
    res.setHeader('www-authenticate', 'Bearer realm="failover-orchestrator"');
    send(res, 401, { error: 'WEBHOOK_UNAUTHORIZED', message: r.message });
    return false;
  };
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      try {
        if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true });
        // Standbys are ready too: they must keep receiving alerts; the body says who acts.
        if (req.method === 'GET' && path === '/readyz') return send(res, 200, { ok: true, leader: o.isLeader() });
        if (req.method === 'GET' && path === '/metrics') return send(res, 200, await o.registry.metrics(), o.registry.contentType);
        if (req.method === 'GET' && path === '/v1/state') return send(res, 200, o.state());
        if (req.method === 'GET' && path === '/v1/audit') return send(res, 200, o.auditLog());
        if (req.method === 'POST' && path === '/alerts') {
          if (!(await authorized(req, res, path))) return;
          let data: unknown;
          try {
            data = JSON.parse(await body(req));
          } catch {
            return send(res, 400, { error: 'WEBHOOK_INVALID', message: 'body is not JSON' });
          }
          if (!isPayload(data)) return send(res, 400, { error: 'WEBHOOK_INVALID', message: 'not an Alertmanager webhook v4 payload' });
          o.receive(data);
          const decisions = await o.tick();
          return send(res, 200, { decisions: decisions.length });
        }
        if (req.method === 'POST' && path === '/v1/clock' && opts.drillClock) {
          if (!(await authorized(req, res, path))) return;
          const { now } = JSON.parse(await body(req)) as { now?: string };
          const t = Date.parse(now ?? '');
          if (Number.isNaN(t)) return send(res, 400, { error: 'CLOCK_INVALID', message: 'now must be an ISO time' });
          opts.drillClock.set(t);
          const decisions = await o.tick();
          return send(res, 200, { decisions });
        }
        return send(res, 404, { error: 'NOT_FOUND' });
      } catch (err) {
        return send(res, 500, { error: 'INTERNAL', message: (err as Error).message });
      }
    })();
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}
