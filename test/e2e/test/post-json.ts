/**
 * POST JSON on a connection of its own (as Flagger's webhook client does after an idle gap).
 * fetch's pooled keep-alive socket is not safe in these tests: the CLI and kubectl run
 * synchronously between posts, the blocked event loop never sees the gate close the idle socket
 * after its 5 s keep-alive, and the next POST is written to a closed socket ("other side closed",
 * seen in CI).
 */
import { request } from 'node:http';

export async function postJson<T>(url: string, body: unknown): Promise<{ status: number; body: T; ms: number }> {
  const t = Date.now();
  const payload = JSON.stringify(body);
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        r.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
  return { status: res.status, body: JSON.parse(res.text) as T, ms: Date.now() - t };
}
