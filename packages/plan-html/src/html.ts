/**
 * The page: one self-contained HTML document (inline CSS, inline SVG, a few lines of
 * inline JavaScript for the search box) that makes no network request of any kind — a
 * Content-Security-Policy of `default-src 'none'` says so to the browser too.
 *
 * Readability rules: every colour has a text label or a pattern beside it (Okabe–Ito
 * palette, safe for the common colour-vision deficiencies); all text is real text
 * (selectable, found by the browser's find); the print stylesheet keeps the colours and
 * breaks pages between sections. Output is deterministic: no clock, no random ids.
 */
import type { PlanBackup, PlanCanary, PlanFailover, PlanPageData, PlanService } from './data.js';

const esc = (s: string | number): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Searchable key of an element (lower case), read by the search box. */
const key = (...parts: string[]): string => ` data-s="${esc(parts.join(' ').toLowerCase())}"`;

const PRIORITY_CLASS = (p: number): string => `p${Math.min(Math.max(p, 1), 5)}`;

const CSS = `
:root{--ink:#1a1a1a;--muted:#555;--line:#bbb;--bg:#fff;--p1:#D55E00;--p2:#E69F00;--p3:#0072B2;--p4:#009E73;--p5:#CC79A7;--full:#0072B2;--diff:#E69F00;--bad:#D55E00;--good:#009E73;--sky:#56B4E9}
*{box-sizing:border-box}
body{margin:0;padding:16px 20px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:var(--ink);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid var(--ink);padding-bottom:2px}h3{font-size:15px;margin:16px 0 6px}
p.lead{margin:0 0 8px;color:var(--muted)}
.bar{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:8px 0}
.search input{font:inherit;padding:4px 8px;width:260px;border:1px solid var(--ink);border-radius:4px}
.legend{display:flex;gap:10px;flex-wrap:wrap;font-size:12px}.legend span{display:inline-flex;gap:4px;align-items:center}
.sw{display:inline-block;width:18px;height:14px;border:1px solid var(--ink);vertical-align:middle}
.regions{display:flex;flex-wrap:wrap;gap:12px}
.region{border:2px solid var(--ink);border-radius:6px;padding:8px;width:330px;break-inside:avoid}
.region h3{margin:0}.region .tz{font-size:12px;color:var(--muted)}
.bu{display:inline-block;font-size:11px;border:1px solid var(--ink);border-radius:10px;padding:0 6px;margin:2px 2px 0 0}
.bu.none{border-style:dashed;color:var(--muted)}
.dc{border:1px solid var(--ink);border-radius:4px;padding:6px;margin-top:8px;background:#f6f6f6}
.dc .name{font-weight:700}.dc .meta{font-size:11px;color:var(--muted)}
.dc.removed{background:repeating-linear-gradient(135deg,#fff 0 6px,#f3d0bf 6px 12px);border:2px dashed var(--bad)}
.dc.added{border:2px solid var(--good)}
.tag{font-size:11px;font-weight:700;border:1px solid currentColor;border-radius:3px;padding:0 4px;margin-left:4px}
.tag.removed{color:var(--bad)}.tag.added{color:#00684b}
.chips{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}
.chip{display:inline-flex;align-items:center;gap:4px;font-size:12px;border:1px solid var(--ink);border-left-width:6px;border-radius:3px;padding:1px 5px;background:#fff}
.chip.regional{border-style:dashed;border-left-style:solid}
.chip .pr{font-size:10px;font-weight:700}
.p1{border-left-color:var(--p1)}.p2{border-left-color:var(--p2)}.p3{border-left-color:var(--p3)}.p4{border-left-color:var(--p4)}.p5{border-left-color:var(--p5)}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid var(--line);padding:2px 6px;text-align:left;vertical-align:top}th{background:#eee}
td.x{text-align:center;font-weight:700}td.o{text-align:center;color:#999}
.scroll{overflow-x:auto}
table.cal td,table.cal th{padding:1px;text-align:center;min-width:44px;font-size:10px;line-height:1.15}
table.cal th.inst{text-align:left;min-width:190px;font-size:11px;padding:2px 4px}
td.full{background:var(--full);color:#fff}
td.differential{background:repeating-linear-gradient(45deg,var(--diff) 0 3px,#fff1cc 3px 7px)}
td.differential b,td.differential span{background:#fff;padding:0 1px}
td.none{background:#fff;color:#bbb}
td.cell b{display:block;font-size:12px}
.fo{margin:8px 0 16px;break-inside:avoid}
.fo svg{max-width:100%;height:auto}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;font-size:12px;fill:var(--ink)}
ol.rec li{margin:4px 0}
.state{font-weight:700;padding:1px 6px;border-radius:3px;border:1px solid var(--ink);white-space:nowrap}
.state.verified{background:#d9f2ea}.state.newer-verified{background:#dcebf7}
.state.not-verified{background:repeating-linear-gradient(45deg,#fbe0d2 0 5px,#fff 5px 10px);color:#8a2e00}
.state.no-canary{background:#fff;border-style:dashed;color:var(--muted)}
.note{border-left:4px solid var(--p2);padding:4px 8px;background:#fff8e6}
.changes li{margin:2px 0}
.hit{outline:3px solid #000;outline-offset:1px}
svg .hit rect{stroke:#000;stroke-width:3}
@media print{
  @page{size:A4 landscape;margin:10mm}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  body{padding:0;font-size:10pt}
  .search{display:none}
  h2{break-after:avoid}
  section{break-before:page}
  section.first{break-before:auto}
  .scroll{overflow:visible}
  table.cal td,table.cal th{min-width:0;font-size:6.5pt}
  table.cal th.inst{min-width:0}
}
`;

// Search: marks every element whose search key contains the query; no network, no storage.
const JS = `(function(){var q=document.getElementById('q'),n=document.getElementById('qn');if(!q||!n)return;q.addEventListener('input',function(){var v=q.value.trim().toLowerCase(),c=0;var all=document.querySelectorAll('[data-s]');for(var i=0;i<all.length;i++){var e=all[i],m=v!==''&&e.getAttribute('data-s').indexOf(v)>=0;e.classList.toggle('hit',m);if(m)c++;}n.textContent=v?c+(c===1?' match':' matches'):'';});})();`;

// Shared SVG patterns and markers, defined once per page (0×0, not display:none, so they still paint).
const DEFS = `<svg width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false"><defs><pattern id="tf-hatch-lost" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#fff"/><rect width="3" height="8" fill="#f3d0bf"/></pattern><marker id="tf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto"><path d="M0 0L10 5L0 10z" fill="#1a1a1a"/></marker></defs></svg>`;

const LEGEND = `<div class="legend" aria-label="legend">
<span><span class="sw" style="border-left:6px solid var(--p1)"></span>P1 recovers first</span>
<span><span class="sw" style="border-left:6px solid var(--p2)"></span>P2</span>
<span><span class="sw" style="border-left:6px solid var(--p3)"></span>P3</span>
<span><span class="sw" style="border-left:6px solid var(--p4)"></span>P4</span>
<span><span class="sw" style="border-style:solid"></span>client-facing (solid)</span>
<span><span class="sw" style="border-style:dashed"></span>regional (dashed)</span>
<span><span class="sw" style="background:var(--full)"></span>F full backup</span>
<span><span class="sw" style="background:repeating-linear-gradient(45deg,var(--diff) 0 3px,#fff1cc 3px 7px)"></span>D differential (hatched)</span>
</div>`;

function chip(s: PlanService | undefined, name: string): string {
  if (!s) return `<span class="chip"${key(name)}>${esc(name)}</span>`;
  const cls = `chip ${s.tier === 'regional' ? 'regional ' : ''}${PRIORITY_CLASS(s.recoveryPriority)}`;
  return `<span class="${cls}"${key(s.name, s.kind, s.tier)} title="${esc(`${s.kind}, ${s.tier}${s.businessUnit ? ` (${s.businessUnit})` : ''}, recovery priority ${s.recoveryPriority}, version ${s.version}`)}"><span class="pr">P${s.recoveryPriority}</span>${esc(s.name)}${s.tier === 'regional' ? ' <small>(regional)</small>' : ''}</span>`;
}

export interface Marks {
  /** DCs only on the other side of a diff, drawn as removed. */
  readonly removedDcs?: readonly { readonly name: string; readonly region: string; readonly services: readonly string[] }[];
  readonly addedDcs?: readonly string[];
}

function placement(d: PlanPageData, marks: Marks): string {
  const svc = new Map(d.services.map((s) => [s.name, s]));
  const regionNames = [...new Set([...d.regions.map((r) => r.name), ...(marks.removedDcs ?? []).map((r) => r.region)])].sort();
  const cards = regionNames.map((rn) => {
    const r = d.regions.find((x) => x.name === rn);
    const units = r
      ? r.businessUnits.length
        ? r.businessUnits.map((u) => `<span class="bu"${key(u)}>${esc(u)}</span>`).join('')
        : '<span class="bu none">no business units</span>'
      : '<span class="bu none">region removed</span>';
    const dcs = d.dataCenters
      .filter((x) => x.region === rn)
      .map((dc) => {
        const added = marks.addedDcs?.includes(dc.name);
        return `<div class="dc${added ? ' added' : ''}"${key(dc.name, dc.region, dc.context)}><span class="name">${esc(dc.name)}</span>${added ? '<span class="tag added">added</span>' : ''} <span class="meta">rotation ${dc.rotation} · context ${esc(dc.context)} · ${dc.services.length} services</span><div class="chips">${dc.services.map((n) => chip(svc.get(n), n)).join('')}</div></div>`;
      });
    const gone = (marks.removedDcs ?? [])
      .filter((x) => x.region === rn)
      .map(
        (dc) =>
          `<div class="dc removed"${key(dc.name, 'removed')}><span class="name">${esc(dc.name)}</span><span class="tag removed">removed</span> <span class="meta">ran ${esc(dc.services.join(', ') || 'nothing')}</span></div>`,
      );
    return `<div class="region"${key(rn, r?.timeZone ?? '')}><h3>${esc(rn)}</h3><div class="tz">${esc(r?.timeZone ?? '')}</div><div>${units}</div>${[...dcs, ...gone].join('')}</div>`;
  });
  const head = `<tr><th>service</th><th>kind</th><th>prio</th>${d.dataCenters.map((dc) => `<th title="${esc(dc.region)}">${esc(dc.name)}</th>`).join('')}</tr>`;
  const rows = d.services.map(
    (s) =>
      `<tr${key(s.name)}><th>${esc(s.name)}</th><td>${esc(s.kind)}${s.tier === 'regional' ? ` (regional: ${esc(s.businessUnit ?? '')})` : ''}</td><td>P${s.recoveryPriority}</td>${d.dataCenters.map((dc) => (s.dataCenters.includes(dc.name) ? '<td class="x">✔ runs</td>' : '<td class="o">·</td>')).join('')}</tr>`,
  );
  return `<div class="regions">${cards.join('')}</div>
<h3>Service × DC</h3><div class="scroll"><table class="matrix"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function calCell(b: PlanBackup | undefined, day: number): string {
  if (!b) return `<td class="none">–</td>`;
  const letter = b.type === 'full' ? 'F' : b.type === 'differential' ? 'D' : b.type.slice(0, 1).toUpperCase();
  return `<td class="cell ${esc(b.type)}" title="${esc(`day ${day} ${b.time}: ${b.type}, stored in ${b.storageDc}, expires ${b.expires}`)}"><b>${letter}</b><span>${esc(b.storageDc)}</span><br><span>→${esc(b.expires.slice(5))}</span></td>`;
}

function backupCalendar(d: PlanPageData): string {
  const c = d.calendar;
  if (c.note) return `<p class="note">${esc(c.note)}</p>`;
  if (c.databases.length === 0) return '<p class="note">no database backups are scheduled in this month</p>';
  const days = Array.from({ length: c.days }, (_, i) => i + 1);
  const head = `<tr><th class="inst">database instance (source DC)</th>${days.map((x) => `<th>${x}</th>`).join('')}</tr>`;
  const rows = c.databases.map((db) => {
    const byDay = new Map<number, PlanBackup>();
    for (const b of db.backups) if (!byDay.has(b.day)) byDay.set(b.day, b);
    return `<tr${key(db.service, db.database, db.sourceDc)}><th class="inst">${esc(db.service)}<br><small>${esc(db.database)} @ ${esc(db.sourceDc)}</small></th>${days.map((x) => calCell(byDay.get(x), x)).join('')}</tr>`;
  });
  return `<p class="lead">${esc(c.month)}: one column per day (local date of the source DC). Each cell: backup type (F full, D differential), the DC whose storage holds it, and its expiry date (→MM-DD).</p>
<div class="scroll"><table class="cal"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function failoverSvg(p: PlanFailover, idPrefix: string): string {
  const rowH = 30;
  const rows = [...p.moves.map((m) => ({ kind: 'move' as const, m })), ...p.regionalDown.map((name) => ({ kind: 'down' as const, name }))];
  const h = Math.max(rows.length, 1) * rowH + 20;
  const parts: string[] = [];
  const lostY = 10;
  parts.push(
    `<g${key(p.lost, 'lost')}><rect x="4" y="${lostY}" width="130" height="${h - 20}" rx="6" fill="url(#tf-hatch-lost)" stroke="#D55E00" stroke-width="2" stroke-dasharray="6 3"/><text x="69" y="${lostY + (h - 20) / 2 - 6}" text-anchor="middle" font-weight="700">${esc(p.lost)}</text><text x="69" y="${lostY + (h - 20) / 2 + 10}" text-anchor="middle">lost</text></g>`,
  );
  rows.forEach((r, i) => {
    const y = 10 + i * rowH;
    const cy = y + rowH / 2 - 2;
    if (r.kind === 'move') {
      const colour = `var(--${PRIORITY_CLASS(r.m.recoveryPriority)})`;
      parts.push(`<line x1="134" y1="${cy}" x2="190" y2="${cy}" stroke="#999"/>`);
      parts.push(
        `<g${key(r.m.service, p.lost)}><rect x="190" y="${y + 2}" width="210" height="${rowH - 8}" rx="3" fill="#fff" stroke="#1a1a1a"/><rect x="190" y="${y + 2}" width="8" height="${rowH - 8}" fill="${colour}"/><text x="204" y="${cy + 4}">${esc(`${r.m.recoveryPriority}. ${r.m.service}`)}</text></g>`,
      );
      if (r.m.targets.length === 0) {
        parts.push(
          `<g${key(r.m.service, 'no other dc')}><rect x="460" y="${y + 2}" width="150" height="${rowH - 8}" fill="#fff" stroke="#D55E00" stroke-width="2" stroke-dasharray="4 2"/><text x="468" y="${cy + 4}" font-weight="700">✖ no other DC</text></g>`,
        );
      } else {
        const [first, ...rest] = r.m.targets;
        parts.push(`<line x1="400" y1="${cy}" x2="454" y2="${cy}" stroke="${colour}" stroke-width="3" marker-end="url(#tf-arrow)"/>`);
        parts.push(
          `<g${key(first!, r.m.service)}><rect x="460" y="${y + 2}" width="90" height="${rowH - 8}" rx="3" fill="#d9ecf8" stroke="#1a1a1a"/><text x="468" y="${cy + 4}" font-weight="700">${esc(first!)}</text></g>`,
        );
        if (rest.length) parts.push(`<text x="560" y="${cy + 4}">${esc(`then ${rest.join(', ')}`)}</text>`);
      }
    } else {
      parts.push(`<line x1="134" y1="${cy}" x2="190" y2="${cy}" stroke="#999" stroke-dasharray="3 3"/>`);
      parts.push(
        `<g${key(r.name, p.lost, 'regional')}><rect x="190" y="${y + 2}" width="210" height="${rowH - 8}" rx="3" fill="#fff" stroke="#1a1a1a" stroke-dasharray="5 3"/><text x="204" y="${cy + 4}">${esc(r.name)} (regional)</text></g><text x="460" y="${cy + 4}" fill="#555">down until ${esc(p.lost)} returns (no failover by design)</text>`,
      );
    }
  });
  const width = 1100;
  return `<svg role="img" aria-labelledby="${idPrefix}fo-${esc(p.lost)}" viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" xmlns="http://www.w3.org/2000/svg"><title id="${idPrefix}fo-${esc(p.lost)}">${esc(`If ${p.lost} is lost`)}</title>${parts.join('')}</svg>`;
}

function failover(d: PlanPageData, idPrefix: string): string {
  if (d.failover.note) return `<p class="note">${esc(d.failover.note)}</p>`;
  const blocks = d.failover.plans.map((p) => `<div class="fo"${key(p.lost)}><h3>If ${esc(p.lost)} is lost</h3>${failoverSvg(p, idPrefix)}</div>`);
  return `<p class="lead">For each DC loss: its services in recovery-priority order, the DC their traffic goes to first (arrow), and the next ones if that fails too. Rule: surviving DCs that run the service, same region first, then rotation order.</p>${blocks.join('')}`;
}

function recovery(d: PlanPageData): string {
  const svc = new Map(d.services.map((s) => [s.name, s]));
  return `<ol class="rec">${d.recoveryOrder
    .map(
      (t) =>
        `<li value="${t.priority}"><b>P${t.priority}</b> <span class="chips" style="display:inline-flex">${t.services.map((n) => chip(svc.get(n), n)).join('')}</span> <small>(${t.services
          .map((n) => `${n}: ${svc.get(n)?.dataCenters.length ?? 0} DCs`)
          .map(esc)
          .join('; ')})</small></li>`,
    )
    .join('')}</ol>`;
}

const STATE_TEXT: Readonly<Record<PlanCanary['state'], string>> = {
  verified: '✔ verified on the test stand: the gate lets it promote',
  'newer-verified': '⬆ a newer version is verified: ready to promote',
  'not-verified': '✖ not verified: the promotion gate refuses it',
  'no-canary': '— rolling update, no canary',
};

function canaries(d: PlanPageData): string {
  const rows = d.canaries.entries.map(
    (c) =>
      `<tr${key(c.service, c.state)}><th>${esc(c.service)}</th><td>${esc(c.version)}</td><td>${c.verified.length ? esc(c.verified.join(', ')) : '<i>none</i>'}</td><td><span class="state ${c.state}">${esc(STATE_TEXT[c.state])}</span></td></tr>`,
  );
  return `<p class="lead">Promotion state from the ledger <code>${esc(d.canaries.ledger)}</code> (versions that passed the staging canary, oldest first).</p><table><thead><tr><th>service</th><th>version here</th><th>verified versions</th><th>state</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function views(d: PlanPageData, marks: Marks, idPrefix: string, first: boolean): string {
  const h = (id: string, title: string, body: string, isFirst = false) =>
    `<section id="${idPrefix}${id}"${isFirst ? ' class="first"' : ''}><h2>${esc(title)}</h2>${body}</section>`;
  return [
    h('placement', `Placement: ${d.environment}`, placement(d, marks), first),
    h('backups', `Backup calendar ${d.calendar.month}`, backupCalendar(d)),
    h('failover', 'Failover graph (DC loss)', failover(d, idPrefix)),
    h('recovery', 'Recovery order', recovery(d)),
    h('canaries', 'Canary promotion state', canaries(d)),
  ].join('\n');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style></head>
<body>
${DEFS}
${body}
<script>${JS}</script>
</body></html>
`;
}

function header(title: string, lead: string): string {
  return `<header><h1>${esc(title)}</h1><p class="lead">${esc(lead)}</p>
<div class="bar"><label class="search">Find <input id="q" type="search" placeholder="service, DC, region…" autocomplete="off"> <span id="qn" aria-live="polite"></span></label>${LEGEND}</div></header>`;
}

function summary(d: PlanPageData): string {
  return `${d.stage}: ${d.dataCenters.length} DCs in ${d.regions.length} regions, ${d.services.length} services`;
}

/** The plan page of one environment. */
export function renderPlanHtml(d: PlanPageData): string {
  return page(`topoforge plan: ${d.environment}`, `${header(`topoforge plan: ${d.environment}`, summary(d))}\n<main>${views(d, {}, '', true)}</main>`);
}

/** What a reviewer should see first: DCs, placement, order and failover that differ. */
export function planChanges(before: PlanPageData | undefined, after: PlanPageData | undefined): string[] {
  if (!before && !after) return [];
  if (!before) return [`new environment ${after!.environment}`];
  if (!after) return [`environment ${before.environment} removed`];
  const out: string[] = [];
  const dcsA = new Set(before.dataCenters.map((x) => x.name));
  const dcsB = new Set(after.dataCenters.map((x) => x.name));
  for (const dc of before.dataCenters)
    if (!dcsB.has(dc.name)) out.push(`DC ${dc.name} (${dc.region}) leaves the rotation; it ran ${dc.services.join(', ') || 'nothing'}`);
  for (const dc of after.dataCenters) if (!dcsA.has(dc.name)) out.push(`DC ${dc.name} (${dc.region}) joins at rotation position ${dc.rotation}`);
  for (const dc of after.dataCenters) {
    const was = before.dataCenters.find((x) => x.name === dc.name);
    if (was && was.rotation !== dc.rotation) out.push(`DC ${dc.name}: rotation position ${was.rotation} → ${dc.rotation}`);
  }
  const names = [...new Set([...before.services.map((s) => s.name), ...after.services.map((s) => s.name)])];
  for (const n of names) {
    const a = before.services.find((s) => s.name === n);
    const b = after.services.find((s) => s.name === n);
    if (!a) out.push(`service ${n} added (runs in ${b!.dataCenters.join(', ')})`);
    else if (!b) out.push(`service ${n} removed (ran in ${a.dataCenters.join(', ')})`);
    else {
      const gone = a.dataCenters.filter((x) => !b.dataCenters.includes(x));
      const come = b.dataCenters.filter((x) => !a.dataCenters.includes(x));
      if (gone.length) out.push(`service ${n} no longer runs in ${gone.join(', ')} (${a.dataCenters.length} → ${b.dataCenters.length} DCs)`);
      if (come.length) out.push(`service ${n} now also runs in ${come.join(', ')}`);
      if (a.recoveryPriority !== b.recoveryPriority) out.push(`service ${n}: recovery priority ${a.recoveryPriority} → ${b.recoveryPriority}`);
      if (a.version !== b.version) out.push(`service ${n}: version ${a.version} → ${b.version}`);
    }
  }
  for (const p of after.failover.plans) {
    const q = before.failover.plans.find((x) => x.lost === p.lost);
    if (!q) continue;
    for (const m of p.moves) {
      const was = q.moves.find((x) => x.service === m.service);
      if (was && was.targets[0] !== m.targets[0])
        out.push(`if ${p.lost} is lost, ${m.service} goes to ${m.targets[0] ?? 'no other DC'} (was ${was.targets[0] ?? 'no other DC'})`);
    }
  }
  for (const c of after.canaries.entries) {
    const was = before.canaries.entries.find((x) => x.service === c.service);
    if (was && was.state !== c.state) out.push(`canary ${c.service}: ${was.state} → ${c.state}`);
  }
  return out;
}

export interface DiffPair {
  readonly before?: PlanPageData;
  readonly after?: PlanPageData;
}

/** Before/after views of each environment of a pull request, changes first. */
export function renderDiffHtml(
  pairs: readonly DiffPair[],
  labels: {
    readonly before: string;
    readonly after: string;
    /** Why a side has no views (e.g. it is a rendered tree, not a model). */ readonly noBefore?: string;
  },
): string {
  const blocks = pairs.map(({ before, after }, i) => {
    const name = after?.environment ?? before?.environment ?? '?';
    const changes = labels.noBefore ? [] : planChanges(before, after);
    const removedDcs = before && after ? before.dataCenters.filter((x) => !after.dataCenters.some((y) => y.name === x.name)) : [];
    const addedDcs = before && after ? after.dataCenters.filter((x) => !before.dataCenters.some((y) => y.name === x.name)).map((x) => x.name) : [];
    const list = changes.length
      ? `<ul class="changes">${changes.map((c) => `<li${key(c)}>${esc(c)}</li>`).join('')}</ul>`
      : '<p>No change to placement, rotation, recovery order, failover or canary state.</p>';
    const id = (side: string) => `${esc(name)}-${side}-`;
    return [
      `<section id="${esc(name)}-changes"${i === 0 ? ' class="first"' : ''}><h2>${esc(name)}: what changes</h2>${list}</section>`,
      after
        ? `<div class="side after"><h2>${esc(name)} after (${esc(labels.after)})</h2>${views(after, { removedDcs, addedDcs }, id('after'), false)}</div>`
        : `<section><h2>${esc(name)} after</h2><p class="note">the environment is removed</p></section>`,
      before
        ? `<div class="side before"><h2>${esc(name)} before (${esc(labels.before)})</h2>${views(before, {}, id('before'), false)}</div>`
        : `<section><h2>${esc(name)} before</h2><p class="note">${esc(labels.noBefore ?? 'the environment is new')}</p></section>`,
    ].join('\n');
  });
  const names = pairs.map((p) => p.after?.environment ?? p.before?.environment ?? '?').join(', ');
  return page(`topoforge diff: ${names}`, `${header(`topoforge diff: ${names}`, `${labels.before} → ${labels.after}`)}\n<main>${blocks.join('\n')}</main>`);
}
