/**
 * The page in real headless Chromium: it loads without a console error and without any
 * request leaving it, search and print work, and each section looks like its committed
 * reference screenshot (within a tolerance; see ../README.md to update the references).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import pixelmatch from 'pixelmatch';
import { renderDiffHtml, renderPlanHtml, type PlanPageData } from '../src/index.js';
import { CHROMIUM_MISSING, hasChromium, openHtml, type OpenedPage } from './chromium.js';

if (!hasChromium) console.warn(CHROMIUM_MISSING);

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const data = JSON.parse(readFileSync(here('./fixtures/production-2026-12.json'), 'utf8')) as PlanPageData;
const UPDATE = process.env.UPDATE_REFERENCES === '1';

/**
 * Screenshots are compared with the text made transparent: glyphs differ between font
 * builds and hinting settings, while layout, colours, patterns and shapes are what the
 * page is about. Tolerance: pixelmatch colour threshold 0.2, at most 0.1% of the pixels
 * differing, and the size within 2% per axis.
 */
const HIDE_TEXT =
  '*{color:transparent!important;text-shadow:none!important;caret-color:transparent!important}svg text{fill:transparent!important}::placeholder{color:transparent!important}';
const MAX_DIFF_RATIO = 0.001;
const MAX_SIZE_RATIO = 0.02;

export function comparePng(actual: Buffer, reference: Buffer): { ratio: number; sizeOk: boolean; detail: string } {
  const a = PNG.sync.read(actual);
  const b = PNG.sync.read(reference);
  const sizeOk = Math.abs(a.width - b.width) <= b.width * MAX_SIZE_RATIO && Math.abs(a.height - b.height) <= b.height * MAX_SIZE_RATIO;
  const w = Math.min(a.width, b.width);
  const h = Math.min(a.height, b.height);
  const crop = (src: PNG) => {
    const out = new PNG({ width: w, height: h });
    PNG.bitblt(src, out, 0, 0, w, h, 0, 0);
    return out.data;
  };
  const diff = pixelmatch(crop(a), crop(b), undefined, w, h, { threshold: 0.2 });
  // Pixels outside the common area count as different.
  const total = Math.max(a.width, b.width) * Math.max(a.height, b.height);
  const ratio = (diff + total - w * h) / total;
  return { ratio, sizeOk, detail: `${a.width}×${a.height} vs reference ${b.width}×${b.height}, ${(ratio * 100).toFixed(2)}% pixels differ` };
}

const SECTIONS = ['placement', 'backups', 'failover', 'recovery', 'canaries'] as const;

describe.runIf(hasChromium)('the plan page in headless Chromium', () => {
  let opened: OpenedPage;
  beforeAll(async () => {
    opened = await openHtml(renderPlanHtml(data));
  });
  afterAll(async () => {
    await opened?.close();
  });

  it('loads with no console error and no request leaving the page', async () => {
    // A moment for anything lazy (fonts, icons) to try its luck.
    await opened.page.waitForTimeout(300);
    expect(opened.errors).toEqual([]);
    expect(opened.outside).toEqual([]);
  });

  it('shows every DC and service as selectable text, and the calendar cells carry letters, not only colours', async () => {
    const text = await opened.page.locator('body').innerText();
    for (const dc of data.dataCenters) expect(text).toContain(dc.name);
    for (const s of data.services) expect(text).toContain(s.name);
    const cells = await opened.page.locator('#backups td.cell b').allInnerTexts();
    expect(new Set(cells)).toEqual(new Set(['F', 'D']));
    const selected = await opened.page.evaluate(() => {
      const el = document.querySelector('#failover svg text');
      if (!el) return '';
      const r = document.createRange();
      r.selectNodeContents(el);
      const s = window.getSelection()!;
      s.removeAllRanges();
      s.addRange(r);
      return s.toString();
    });
    expect(selected).toBe('dc01');
  });

  it('the search box marks what matches', async () => {
    const p = opened.page;
    await p.fill('#q', 'dc03');
    expect(await p.locator('#qn').innerText()).toMatch(/^\d+ matches$/);
    expect(await p.locator('.region .dc.hit').count()).toBe(1);
    await p.fill('#q', '');
    expect(await p.locator('.hit').count()).toBe(0);
  });

  it('prints: the search box is hidden, sections start on new pages, colours are kept', async () => {
    const p = opened.page;
    await p.emulateMedia({ media: 'print' });
    const styles = await p.evaluate(() => ({
      search: getComputedStyle(document.querySelector('.search')!).display,
      breakBefore: getComputedStyle(document.querySelector('#backups')!).breakBefore,
      adjust: getComputedStyle(document.querySelector('td.full')!).getPropertyValue('print-color-adjust'),
    }));
    expect(styles).toEqual({ search: 'none', breakBefore: 'page', adjust: 'exact' });
    const pdf = await p.pdf({ format: 'A4', landscape: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await p.emulateMedia({ media: 'screen' });
  });

  it.each(SECTIONS)('section %s matches its reference screenshot', async (id) => {
    const p = opened.page;
    await p.addStyleTag({ content: HIDE_TEXT });
    const shot = await p.locator(`#${id}`).screenshot({ animations: 'disabled' });
    const ref = here(`./references/${id}.png`);
    if (UPDATE || !existsSync(ref)) {
      mkdirSync(here('./references'), { recursive: true });
      writeFileSync(ref, shot);
      if (!UPDATE) throw new Error(`no reference for ${id}: wrote ${ref}; review it and commit it`);
      return;
    }
    const c = comparePng(shot, readFileSync(ref));
    expect(c.sizeOk, c.detail).toBe(true);
    expect(c.ratio, c.detail).toBeLessThanOrEqual(MAX_DIFF_RATIO);
  });

  it('the comparison is not blind: a changed palette or a lost pattern exceeds the tolerance', async () => {
    const p = opened.page;
    await p.addStyleTag({ content: HIDE_TEXT + 'td.differential{background:#E69F00!important}' });
    const c = comparePng(await p.locator('#backups').screenshot(), readFileSync(here('./references/backups.png')));
    expect(c.ratio).toBeGreaterThan(MAX_DIFF_RATIO);
    await p.addStyleTag({ content: '.p1,.p2{border-left-color:#009E73!important}.chip.regional{border-style:solid!important}' });
    const d = comparePng(await p.locator('#placement').screenshot(), readFileSync(here('./references/placement.png')));
    expect(d.ratio).toBeGreaterThan(MAX_DIFF_RATIO);
  });
});

describe.runIf(hasChromium)('the diff page in headless Chromium', () => {
  it('shows a DC dropping out of the rotation: listed first, drawn as removed, before and after both complete', async () => {
    const after: PlanPageData = {
      ...data,
      dataCenters: data.dataCenters.filter((d) => d.name !== 'dc05'),
      regions: data.regions.map((r) => ({ ...r, dataCenters: r.dataCenters.filter((d) => d !== 'dc05') })),
      services: data.services.map((s) => ({ ...s, dataCenters: s.dataCenters.filter((d) => d !== 'dc05') })),
      failover: { plans: data.failover.plans.filter((p) => p.lost !== 'dc05') },
    };
    const opened = await openHtml(renderDiffHtml([{ before: data, after }], { before: 'origin/main', after: 'working tree' }));
    try {
      const p = opened.page;
      expect(opened.errors).toEqual([]);
      expect(opened.outside).toEqual([]);
      expect(await p.locator('.changes li').first().innerText()).toMatch(/^DC dc05 \(eu-north\) leaves the rotation/);
      const removed = p.locator('.side.after .dc.removed');
      expect(await removed.count()).toBe(1);
      expect(await removed.innerText()).toContain('dc05');
      // dashed border and hatching, not colour alone
      expect(
        await removed.evaluate((e) => [getComputedStyle(e).borderStyle, getComputedStyle(e).backgroundImage.startsWith('repeating-linear-gradient')]),
      ).toEqual(['dashed', true]);
      const before = await p.locator('.side.before').innerText();
      for (const dc of data.dataCenters) expect(before).toContain(dc.name);
      // ids stay unique across the two sides
      const dup = await p.evaluate(() => {
        const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
        return ids.filter((x, i) => ids.indexOf(x) !== i);
      });
      expect(dup).toEqual([]);
    } finally {
      await opened.close();
    }
  });
});
