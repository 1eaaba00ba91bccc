/**
 * `topoforge diff` as a function: render the current environments, render or read the
 * other side, compare, and format. The CLI only parses options and prints.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { prescanOutput, type Prescan, type RenderRequest } from '@topoforge/engine';
import { diffExitCode, diffTrees, type DiffReport } from './diff.js';
import { renderAtRef, renderTree, type OnRendered } from './git.js';
import { formatMarkdown } from './markdown.js';
import type { Outcome } from './problems.js';
import { knownFromRender, readTreeChecked } from './tree.js';

export interface ReviewRequest extends RenderRequest {
  /** Compare with the environments as they were at this git ref… */
  readonly base?: string;
  /** …or with an already rendered tree (e.g. a checkout of the GitOps repository). */
  readonly against?: string;
  /** Test hook: how each environment of the `--against` tree was walked (by find while the render ran, or in process). */
  readonly walked?: (environment: string, by: 'find' | 'process') => void;
  /** Sees each side's rendered environments (the `--against` side has none: it is a tree). */
  readonly onRendered?: { readonly before?: OnRendered; readonly after?: OnRendered };
}

export interface ReviewResult {
  readonly report: DiffReport;
  readonly markdown: string;
  /** 0 no change, 1 changes, 3 risky changes. */
  readonly exitCode: 0 | 1 | 3;
}

export async function review(req: ReviewRequest): Promise<Outcome<ReviewResult>> {
  const cwd = req.cwd ?? process.cwd();
  // The --against tree is walked by find in another process while the environments render (at
  // 100k files its walk in process was ~0.45 s of lstat); each walk is used only if the
  // directory and its index are still the ones it walked (see the engine's Prescan).
  let walks = new Map<string, Prescan>();
  try {
    if (req.against !== undefined) walks = prescanOutput(resolve(cwd, req.against), req.only);
  } catch {
    // A tree that cannot be read: the walk in process reports it.
  }
  try {
    return await compare(req, cwd, walks);
  } finally {
    for (const w of walks.values()) w.cancel();
    // Each find stopped and its temp directory removed before diff returns.
    await Promise.all([...walks.values()].map((w) => w.done()));
  }
}

async function compare(req: ReviewRequest, cwd: string, walks: ReadonlyMap<string, Prescan>): Promise<Outcome<ReviewResult>> {
  const { onRendered, ...renderReq } = req;
  const after = await renderTree(renderReq, onRendered?.after);
  if (!after.ok) return after;
  let before;
  let beforeLabel: string;
  if (req.against !== undefined) {
    const dir = resolve(cwd, req.against);
    if (!existsSync(dir))
      return {
        ok: false,
        diagnostics: [
          {
            code: 'GITOPS_NOTHING_TO_COMPARE',
            message: `${req.against} does not exist`,
            hint: 'check out the GitOps repository there, or render into it first',
          },
        ],
      };
    // The walks are over by now, most likely: what each found is read once it is.
    await Promise.all([...walks.values()].map((w) => w.done()));
    // Files the tree's state record vouches for and the render made alike are not read again.
    const t = readTreeChecked(dir, req.only, knownFromRender(after.value), { prescans: walks, ...(req.walked ? { walked: req.walked } : {}) });
    if (!t.ok) return t;
    before = t.value;
    beforeLabel = req.against;
  } else {
    const base = req.base ?? 'HEAD';
    const r = await renderAtRef({ ...renderReq, ref: base, ...(onRendered?.before ? { onRendered: onRendered.before } : {}) });
    if (!r.ok) return r;
    before = r.value;
    beforeLabel = `${base} (environments rendered with the current plugins)`;
  }
  const report = diffTrees(before, after.value);
  return { ok: true, value: { report, exitCode: diffExitCode(report), markdown: formatMarkdown(report, { beforeLabel, afterLabel: 'working tree' }) } };
}
