/**
 * POST JSON on a connection of its own (as Flagger's webhook client does after an idle gap):
 * see httpExchange for why fetch's pooled keep-alive socket is not safe in these tests.
 */
import { httpExchange } from '@topoforge/sandbox';

export async function postJson<T>(url: string, body: unknown): Promise<{ status: number; body: T; ms: number }> {
  const t = Date.now();
  const payload = JSON.stringify(body);
  const res = await httpExchange(url, payload, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  return { status: res.status, body: JSON.parse(res.text) as T, ms: Date.now() - t };
}
