import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnvironments } from '@topoforge/model';
import { freePort, startAlertmanager, startOrchestrator, which, type Proc } from '../src/index.js';
import { emitted } from '../src/run.js';

const environmentsDir = fileURLToPath(new URL('../../../environments', import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'topoforge-drill-ports-'));
const procs: Proc[] = [];
// A port someone else took between the drill's choosing and the server's bind: an HTTP server
// that answers 404, as another process's server would.
const taken = createServer((_, res) => res.writeHead(404).end());
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  taken.close();
  rmSync(work, { recursive: true, force: true });
});

/** Hands out the taken port first, then free ones; records what it handed out. */
async function chooser(): Promise<{ choose: () => Promise<number>; handed: number[]; takenPort: number }> {
  if (!taken.listening) await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  const takenPort = (taken.address() as AddressInfo).port;
  const handed: number[] = [];
  const choose = async () => {
    const p = handed.length === 0 ? takenPort : await freePort();
    handed.push(p);
    return p;
  };
  return { choose, handed, takenPort };
}

describe('a drill server whose port was taken before it could bind', () => {
  it('the orchestrator is started again on a new port', async () => {
    const { choose, handed, takenPort } = await chooser();
    // The configuration the traffic-alerts plugin emits for the bundled staging environment, as a drill runs it.
    const loaded = loadEnvironments(environmentsDir);
    if (!loaded.ok) throw new Error('the bundled environments do not load');
    const config = join(work, 'orchestrator.json');
    writeFileSync(config, (await emitted(loaded.value.find((e) => e.name === 'staging')!)).orchestratorConfig);
    const o = await startOrchestrator(config, { drillClock: '2026-01-06T10:00:00Z', auditLog: join(work, 'audit.jsonl') }, choose);
    procs.push(o);
    expect(handed).toHaveLength(2);
    expect(handed[0]).toBe(takenPort);
    expect(o.url).toBe(`http://127.0.0.1:${handed[1]}`);
    expect((await fetch(`${o.url}/readyz`)).status).toBe(200);
  }, 60_000);

  it.runIf(which(['alertmanager', 'prometheus-alertmanager']))(
    'Alertmanager is started again on a new port',
    async () => {
      const { choose, handed, takenPort } = await chooser();
      const config = join(work, 'alertmanager.yml');
      writeFileSync(config, 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
      const am = await startAlertmanager(config, join(work, 'am-data'), choose);
      procs.push(am);
      expect(handed).toHaveLength(2);
      expect(handed[0]).toBe(takenPort);
      expect(am.url).toBe(`http://127.0.0.1:${handed[1]}`);
      expect((await fetch(`${am.url}/-/ready`)).status).toBe(200);
    },
    60_000,
  );

  it('any other failure to start is not retried', async () => {
    const { choose, handed } = await chooser();
    await expect(
      startOrchestrator(join(work, 'missing.json'), { drillClock: '2026-01-06T10:00:00Z', auditLog: join(work, 'a2.jsonl') }, choose),
    ).rejects.toThrow(/process exited/);
    expect(handed).toHaveLength(1);
  }, 60_000);
});
