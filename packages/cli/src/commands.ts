import type { Diagnostic } from '@topoforge/model/core';
import type { EnvironmentChange } from '@topoforge/engine';
// `check` alone, without the engine's rendering half: an unchanged tree is answered without
// loading a plugin, a parser or a template engine. render and plan import the engine when run.
import { check } from '@topoforge/engine/check';
import { EXIT, type Io } from './io.js';
import { explainLine, formatGrouped, groupDiagnostics } from './report.js';

export interface CommonOptions {
  readonly env?: string[];
  readonly environments: string;
  /** CRD directories to validate emitted custom resources against (render phase). */
  readonly crds?: string[];
}

export function reportDiagnostics(io: Io, ds: readonly Diagnostic[]): number {
  const grouped = groupDiagnostics(ds);
  io.err(grouped.map(formatGrouped).join('\n') + '\n');
  io.err(`\n${grouped.length} problem${grouped.length === 1 ? '' : 's'} found; nothing was written.\n`);
  io.err(`${explainLine(grouped)}\n`);
  return EXIT.error;
}

function countsByPlugin(counts: ReadonlyMap<string, number>): string {
  return [...counts.entries()]
    .sort()
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
}

export async function renderCommand(io: Io, opts: CommonOptions & { out: string; adopt?: boolean }): Promise<number> {
  io.streaming?.();
  const write = {
    ...(opts.adopt ? { adopt: true } : {}),
    // A second thread's isolate resets V8 flags set at run time (see WriteBehind): set again.
    ...(io.streaming ? { threadStarted: io.streaming } : {}),
    onWait: (o: { pid: number; host: string } | undefined) =>
      io.err(`waiting for another render${o ? ` (process ${o.pid} on ${o.host})` : ''} to finish writing ${opts.out}/…\n`),
  };
  const { render } = await import('@topoforge/engine');
  const r = await render({
    environmentsDir: opts.environments,
    out: opts.out,
    cwd: io.cwd,
    write,
    ...(opts.env ? { only: opts.env } : {}),
    ...(opts.crds ? { crds: opts.crds } : {}),
  });
  if (!r.ok) return reportDiagnostics(io, r.diagnostics);
  for (const x of r.value.rendered) {
    for (const l of x.result.logs.filter((l) => l.level === 'warn')) io.err(`warning [${x.env.name}] [plugin ${l.plugin}] ${l.message}\n`);
  }
  for (const c of r.value.changes) {
    const x = r.value.rendered.find((y) => y.result.environment === c.environment);
    const detail = x ? ` (${countsByPlugin(x.result.counts)})` : '';
    io.out(`${c.environment}: ${c.files} files${detail}; ${c.added.length} added, ${c.changed.length} changed, ${c.removed.length} removed\n`);
  }
  io.out(`rendered ${r.value.rendered.length} environment${r.value.rendered.length === 1 ? '' : 's'} into ${opts.out}/\n`);
  return EXIT.ok;
}

export function formatChanges(changes: readonly EnvironmentChange[]): { text: string; drift: boolean } {
  const lines: string[] = [];
  for (const c of changes) {
    for (const p of c.added) lines.push(`+ ${c.environment}/${p} (not on disk)`);
    for (const p of c.changed) lines.push(`~ ${c.environment}/${p} (differs)`);
    for (const p of c.removed) lines.push(`- ${c.environment}/${p} (no longer produced)`);
  }
  return { text: lines.join('\n'), drift: lines.length > 0 };
}

export async function checkCommand(io: Io, opts: CommonOptions & { out: string }): Promise<number> {
  const r = await check({
    environmentsDir: opts.environments,
    out: opts.out,
    cwd: io.cwd,
    ...(opts.env ? { only: opts.env } : {}),
    ...(opts.crds ? { crds: opts.crds } : {}),
  });
  if (!r.ok) return reportDiagnostics(io, r.diagnostics);
  const { text, drift } = formatChanges(r.value);
  if (drift) {
    io.out(text + '\n');
    io.out(`\n${opts.out}/ is out of date: run \`topoforge render\` and commit the result.\n`);
    return EXIT.changes;
  }
  io.out(`${opts.out}/ is up to date (${r.value.map((c) => `${c.environment} ${c.files} files`).join(', ')}).\n`);
  return EXIT.ok;
}

export async function planCommand(io: Io, opts: CommonOptions & { month?: string; from?: string }): Promise<number> {
  const args: Record<string, string> = {};
  if (opts.from) {
    if (!/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(opts.from) || Number.isNaN(Date.parse(`${opts.from}T00:00:00Z`))) {
      io.err(`error: --from must be a date like 2026-02-01 (got "${opts.from}")\n`);
      return EXIT.usage;
    }
    args.from = opts.from;
  }
  if (opts.month) {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(opts.month)) {
      io.err(`error: --month must look like 2026-02 (got "${opts.month}")\n`);
      return EXIT.usage;
    }
    args.month = opts.month;
  }
  const { formatPlan, plan } = await import('@topoforge/engine');
  const r = await plan({ environmentsDir: opts.environments, cwd: io.cwd, ...(opts.env ? { only: opts.env } : {}) }, args);
  if (!r.ok) return reportDiagnostics(io, r.diagnostics);
  io.out(formatPlan(r.value));
  return EXIT.ok;
}
