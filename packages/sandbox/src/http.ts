/**
 * One HTTP exchange on a connection of its own (`agent: false`), for tests that talk to the
 * servers they start. fetch keeps a connection alive per origin, and a test that blocks its
 * event loop (a synchronous kubectl or CLI run) never sees the server close the idle socket:
 * the next request is written to a closed one ("other side closed", seen in CI and in a
 * fresh-clone run of the failover-orchestrator's sandbox test).
 */
import { request } from 'node:http';

export function httpExchange(
  url: string,
  body?: string,
  headers: Readonly<Record<string, string | number>> = {},
): Promise<{ readonly status: number; readonly text: string }> {
  return new Promise((resolve, reject) => {
    const method = body === undefined ? 'GET' : 'POST';
    const req = request(url, { method, agent: false, headers }, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (text += c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
      r.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
