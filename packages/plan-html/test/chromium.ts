/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with a
 * fresh profile, and a page served from a fake origin so that EVERY other request the
 * page makes is caught by route interception (and aborted).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TOPOFORGE_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const CHROMIUM_MISSING = `${CHROMIUM} is not installed: run \`pnpm run setup:tools\` (Debian package chromium)`;

const ORIGIN = 'http://plan.invalid/';

export interface OpenedPage {
  readonly page: Page;
  /** Every request other than the page itself. */
  readonly outside: string[];
  /** Console messages of type error, and page errors. */
  readonly errors: string[];
  close(): Promise<void>;
}

export async function openHtml(html: string, viewport = { width: 1280, height: 900 }): Promise<OpenedPage> {
  const profile = mkdtempSync(join(tmpdir(), 'topoforge-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport,
      deviceScaleFactor: 1,
      locale: 'en-US',
      timezoneId: 'UTC',
      colorScheme: 'light',
      reducedMotion: 'reduce',
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const outside: string[] = [];
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (url === ORIGIN) return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
      outside.push(url);
      return route.abort();
    });
    page.on('request', (r) => {
      if (r.url() !== ORIGIN && !outside.includes(r.url())) outside.push(r.url());
    });
    await page.goto(ORIGIN, { waitUntil: 'load' });
    const ctx = context;
    return {
      page,
      outside,
      errors,
      async close() {
        await ctx.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}
