/**
 * `topoforge plan --html` and `topoforge diff --html` through the real CLI on the bundled
 * environments, opened in real headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core): every DC and service of production is on the page, no console error,
 * no request leaves the page.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { loadEnvironments } from '@topoforge/model';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'packages/cli/bin/topoforge.js');
const work = mkdtempSync(join(tmpdir(), 'topoforge-html-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`${CHROMIUM} is not installed: run \`pnpm run setup:tools\` (Debian package chromium)`);

function topoforge(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
};

/** Opens the file's HTML on a fake origin; every other request is counted and aborted. */
async function open(file: string) {
  const profile = mkdtempSync(join(work, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 900 },
  });
  const origin = 'http://plan.invalid/';
  const outside: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    if (route.request().url() === origin) return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: readFileSync(file, 'utf8') });
    outside.push(route.request().url());
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  page.on('pageerror', (e) => void errors.push(e.message));
  await page.goto(origin, { waitUntil: 'load' });
  await page.waitForTimeout(300);
  return { page, outside, errors, close: () => context.close() };
}

describe.runIf(hasChromium)('the visual plan in headless Chromium (real CLI, bundled environments)', () => {
  it('plan --env production --html: every DC and service of production, no console error, no request', async () => {
    const file = join(work, 'production.html');
    const r = topoforge(repo, 'plan', '--env', 'production', '--month', '2026-12', '--html', file);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^wrote .*production\.html: production, 10 DCs, 7 services, backup calendar 2026-12/);
    const envs = loadEnvironments(join(repo, 'environments'), { cwd: repo });
    if (!envs.ok) throw new Error('bundled environments do not load');
    const production = envs.value.find((e) => e.name === 'production')!;
    const o = await open(file);
    try {
      expect(o.errors).toEqual([]);
      expect(o.outside).toEqual([]);
      // each DC has its card in the placement map and its own failover graph
      for (const dc of production.dataCenters) {
        const card = o.page.locator('.region .dc', { has: o.page.locator('.name', { hasText: new RegExp(`^${dc.name}$`) }) });
        expect(await card.count(), dc.name).toBe(1);
        const chips = (await card.locator('.chip').allInnerTexts()).map((t) => t.replace(/^P\d\s*/, '').replace(/\s*\(regional\)$/, ''));
        expect(chips.sort(), dc.name).toEqual([...dc.services].sort());
        expect(await o.page.locator('#failover h3', { hasText: `If ${dc.name} is lost` }).count()).toBe(1);
        expect(await o.page.locator('#failover h3', { hasText: `If ${dc.name} is lost` }).isVisible()).toBe(true);
      }
      for (const s of production.services) {
        expect(await o.page.locator('table.matrix tbody th', { hasText: new RegExp(`^${s.name}$`) }).count(), s.name).toBe(1);
        expect(await o.page.locator('#canaries tbody th', { hasText: new RegExp(`^${s.name}$`) }).count(), s.name).toBe(1);
      }
      // every database instance with a backup policy has a calendar row
      const withBackups = production.services.filter((s) => s.policies.backup && s.database).flatMap((s) => s.database!.instances);
      expect(await o.page.locator('#backups tbody tr').count()).toBe(withBackups.length);
    } finally {
      await o.close();
    }
  });

  it('plan --html refuses more or fewer than one environment (usage, nothing written)', () => {
    const file = join(work, 'none.html');
    const r = topoforge(repo, 'plan', '--html', file);
    expect(r.code).toBe(64);
    expect(existsSync(file)).toBe(false);
  });

  it('diff --base HEAD --html: a DC leaving the rotation is listed first and drawn as removed', async () => {
    const dir = join(work, 'repo');
    cpSync(join(repo, 'environments'), join(dir, 'environments'), { recursive: true });
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'topology');
    const staging = join(dir, 'environments/staging.yaml');
    writeFileSync(
      staging,
      readFileSync(staging, 'utf8')
        .replace(/ {2}stg02:\n(?: {4}.*\n)+/, '')
        .replace('us-east: { timeZone: America/New_York, businessUnits: [couriers] }', ''),
    );
    const file = join(work, 'diff.html');
    // plugins resolve from the checkout (cwd); the environments come from the other repository
    const r = topoforge(repo, 'diff', '--base', 'HEAD', '--env', 'staging', '--environments', join(dir, 'environments'), '--month', '2026-12', '--html', file);
    expect(r.code, r.err).toBe(3);
    const o = await open(file);
    try {
      expect(o.errors).toEqual([]);
      expect(o.outside).toEqual([]);
      expect(await o.page.locator('.changes li').first().innerText()).toMatch(/^DC stg02 \(us-east\) leaves the rotation/);
      expect(await o.page.locator('.side.after .dc.removed').innerText()).toContain('stg02');
      expect(await o.page.locator('.side.before .region .dc .name').allInnerTexts()).toEqual(['stg01', 'stg02']);
      expect(await o.page.locator('.side.after .region .dc:not(.removed) .name').allInnerTexts()).toEqual(['stg01']);
    } finally {
      await o.close();
    }
  });
});
