import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { planChanges, renderDiffHtml, renderPlanHtml, type PlanPageData } from '../src/index.js';

const data = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/production-2026-12.json', import.meta.url)), 'utf8')) as PlanPageData;

describe('the page as text', () => {
  const html = renderPlanHtml(data);

  it('is self-contained: no URL the browser would fetch', () => {
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/url\((?!#)/i);
    expect(html).not.toMatch(/@import|@font-face/i);
    expect(html).toContain(`default-src 'none'`);
  });

  it('is deterministic', () => {
    expect(renderPlanHtml(structuredClone(data))).toBe(html);
  });

  it('escapes what comes from the model', () => {
    const evil = { ...data, environment: '<script>alert(1)</script>', services: data.services.map((s, i) => (i === 0 ? { ...s, name: '"><img src=x>' } : s)) };
    const out = renderPlanHtml(evil);
    expect(out).not.toContain('<script>alert(1)');
    expect(out).not.toContain('<img src=x>');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('lists every backup of the month in the calendar with type, storage DC and expiry', () => {
    const db = data.calendar.databases[0]!;
    const b = db.backups[0]!;
    expect(html).toContain(`day ${b.day} ${b.time}: ${b.type}, stored in ${b.storageDc}, expires ${b.expires}`);
    const cells = html.match(/<td class="cell /g) ?? [];
    expect(cells.length).toBe(data.calendar.databases.reduce((n, d) => n + new Set(d.backups.map((x) => x.day)).size, 0));
  });
});

describe('what a diff changes', () => {
  it('names a DC leaving, a service losing a DC, and a failover target moving', () => {
    const after: PlanPageData = {
      ...data,
      dataCenters: data.dataCenters.filter((d) => d.name !== 'dc02'),
      services: data.services.map((s) => ({ ...s, dataCenters: s.dataCenters.filter((d) => d !== 'dc02') })),
      failover: { plans: data.failover.plans.map((p) => ({ ...p, moves: p.moves.map((m) => ({ ...m, targets: m.targets.filter((t) => t !== 'dc02') })) })) },
    };
    const changes = planChanges(data, after);
    expect(changes[0]).toMatch(/^DC dc02 \(eu-west\) leaves the rotation; it ran social-network, /);
    expect(changes).toContain('service social-network no longer runs in dc02 (10 → 9 DCs)');
    expect(changes).toContain('if dc01 is lost, social-network goes to dc03 (was dc02)');
    expect(planChanges(data, data)).toEqual([]);
    expect(renderDiffHtml([{ before: data, after }], { before: 'a', after: 'b' })).toContain('<span class="tag removed">removed</span>');
  });
});
