/**
 * The HTML views: `plan --html FILE` (one environment's visual plan) and the data that
 * `diff --html FILE` draws for both sides. Collecting happens while a side's input is on
 * disk (the ledger of the test stand lives beside the environment files).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderInMemory, type RenderedEnvironment } from '@topoforge/engine';
import type { OnRendered } from '@topoforge/gitops';
import { collectPlanData, renderDiffHtml, renderPlanHtml, type PlanPageData } from '@topoforge/plan-html';
import { ledgerPath, readLedger } from '@topoforge/promote';
import { passedVersions, testStandOf } from '@topoforge/model';
import { reportDiagnostics } from './commands.js';
import { EXIT, type Io } from './io.js';

/** The current month (UTC), the default of the calendar. */
export function currentMonth(now = new Date()): string {
  return now.toISOString().slice(0, 7);
}

/** The test stand whose ledger gates the canaries: the flagger option when set, else as the model resolves it. */
function testStand(x: RenderedEnvironment): string {
  const gate = x.env.plugins.find((p) => p.name === 'flagger')?.options.gate as { testStand?: unknown } | undefined;
  return typeof gate?.testStand === 'string' ? gate.testStand : testStandOf(x.env);
}

/** Page data of rendered environments; `shownDir` is how the ledger's directory is named on the page. */
export function collectPages(rendered: readonly RenderedEnvironment[], environmentsDir: string, shownDir: string, month: string): PlanPageData[] {
  return rendered.map((x) => {
    const stand = testStand(x);
    const ledger = readLedger(ledgerPath(environmentsDir, stand));
    const shown = `${shownDir.replace(/\/+$/, '')}/verified/${stand}.yaml`;
    return collectPlanData(x.env, x.result.emitted, {
      month,
      ledger: ledger.ok ? passedVersions(ledger.value) : {},
      ledgerFile: ledger.ok ? shown : `${shown} (unreadable)`,
    });
  });
}

export async function planHtmlCommand(io: Io, opts: { env?: string[]; environments: string; month?: string; html: string }): Promise<number> {
  if (!opts.env || opts.env.length !== 1) {
    io.err('error: --html draws one environment: give exactly one --env NAME\n');
    return EXIT.usage;
  }
  if (opts.month !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(opts.month)) {
    io.err(`error: --month must look like 2026-02 (got "${opts.month}")\n`);
    return EXIT.usage;
  }
  const month = opts.month ?? currentMonth();
  const r = await renderInMemory({ environmentsDir: opts.environments, cwd: io.cwd, only: opts.env });
  if (!r.ok) return reportDiagnostics(io, r.diagnostics);
  const [page] = collectPages(r.value, resolve(io.cwd, opts.environments), opts.environments, month);
  const file = resolve(io.cwd, opts.html);
  try {
    writeFileSync(file, renderPlanHtml(page!));
  } catch (err) {
    io.err(`error: cannot write ${opts.html}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    return EXIT.error;
  }
  io.out(`wrote ${opts.html}: ${page!.environment}, ${page!.dataCenters.length} DCs, ${page!.services.length} services, backup calendar ${month}\n`);
  return EXIT.ok;
}

export interface DiffHtmlCollector {
  readonly hooks: { readonly before: OnRendered; readonly after: OnRendered };
  /** The page, once both sides were rendered. */
  page(beforeLabel: string, afterLabel: string, noBefore?: string): string;
}

/** Collects both sides of `diff --html`; a usage error as an exit code. */
export function diffHtml(io: Io, environmentsDir: string, month: string | undefined): DiffHtmlCollector | number {
  if (month !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) {
    io.err(`error: --month must look like 2026-02 (got "${month}")\n`);
    return EXIT.usage;
  }
  const m = month ?? currentMonth();
  const before: PlanPageData[] = [];
  const after: PlanPageData[] = [];
  return {
    hooks: {
      before: (rendered, dir) => void before.push(...collectPages(rendered, dir, environmentsDir, m)),
      after: (rendered, dir) => void after.push(...collectPages(rendered, dir, environmentsDir, m)),
    },
    page(beforeLabel, afterLabel, noBefore) {
      const names = [...new Set([...after.map((p) => p.environment), ...before.map((p) => p.environment)])].sort();
      const pairs = names.map((n) => ({
        ...(before.find((p) => p.environment === n) ? { before: before.find((p) => p.environment === n)! } : {}),
        ...(after.find((p) => p.environment === n) ? { after: after.find((p) => p.environment === n)! } : {}),
      }));
      return renderDiffHtml(pairs, { before: beforeLabel, after: afterLabel, ...(noBefore ? { noBefore } : {}) });
    },
  };
}
