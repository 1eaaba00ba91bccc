/**
 * The visual plan's canary table against the test stand's ledger, through the real engine on
 * a copy of the bundled environments: a version the ledger marks failed is not shown as
 * verified (the promotion gate refuses it: a failure on the stand outweighs a success).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderInMemory } from '@topoforge/engine';
import { collectPages } from '../src/html-command.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'topoforge-html-ledger-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('plan --html: the canary states from the ledger', () => {
  it('shows a version the ledger marks failed as not verified, and no newer version that failed as ready to promote', async () => {
    const envs = join(work, 'environments');
    cpSync(join(repo, 'environments'), envs, { recursive: true });
    // Production without testStand: render does not refuse what the page must then tell.
    const prod = join(envs, 'production.yaml');
    writeFileSync(prod, readFileSync(prod, 'utf8').replace(/^testStand: staging\n/m, ''));
    writeFileSync(
      join(envs, 'verified/staging.yaml'),
      [
        'verified:',
        '  social-network: ["4.12.0"]',
        '  telemetry: ["2.3.1"]',
        '  online-store: ["7.4.2"]',
        '  storefront-web: ["3.8.0", "3.9.0"]',
        '  social-web: ["1.19.3"]',
        '  warehouse: ["5.0.7"]',
        '  logistics: ["2.9.4"]',
        'failed:',
        '  online-store: { "7.4.2": "rolled back by the staging canary in stg01" }',
        '  storefront-web: { "3.9.0": "rolled back by the staging canary in stg02" }',
        '',
      ].join('\n'),
    );
    const r = await renderInMemory({ environmentsDir: envs, cwd: work, only: ['production'] });
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    const [page] = collectPages(r.value, envs, 'environments', '2026-12');
    const state = (service: string) => page!.canaries.entries.find((e) => e.service === service)!;
    expect(state('online-store')).toMatchObject({ version: '7.4.2', state: 'not-verified', verified: [] });
    // 3.9.0 passed in one DC and was rolled back in another: not a version to promote.
    expect(state('storefront-web')).toMatchObject({ version: '3.8.0', state: 'verified', verified: ['3.8.0'] });
    expect(state('social-web')).toMatchObject({ state: 'verified' });
    expect(page!.canaries.ledger).toBe('environments/verified/staging.yaml');
  });
});
