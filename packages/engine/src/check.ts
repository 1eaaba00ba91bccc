/**
 * `check`: from the record a render left when nothing it would read has changed (see
 * recorded.ts), else by rendering in memory and comparing. The rendering half is imported
 * only when it is needed: `check` of an unchanged tree loads no plugin, parser or template
 * engine (issue 19).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail, ok, type Result } from '@topoforge/model/core';
import { checkFromRecord } from './recorded.js';
import { prescanOutput, type Prescan } from './scan.js';
import { interruptedWork, workInProgress, type EnvironmentChange } from './tree.js';
import type { WriteRequest } from './engine.js';

/**
 * Renders and compares with the tree on disk (the drift check), file by file as plugins
 * make them; a file the index vouches for is not read (see PreviousTree). A swap a killed
 * render left half done is completed first (under the output's lock).
 */
export async function check(req: WriteRequest): Promise<Result<EnvironmentChange[]>> {
  const cwd = req.cwd ?? process.cwd();
  const out = resolve(cwd, req.out);
  try {
    if (existsSync(out) && !statSync(out).isDirectory())
      return fail([{ code: 'RENDER_OUTPUT_INVALID', message: `${req.out} is not a directory`, hint: 'give --out the directory render wrote' }]);
  } catch (err) {
    return fail([
      {
        code: 'RENDER_OUTPUT_INVALID',
        message: `cannot read ${req.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        hint: 'give --out the directory render wrote (a link loop or a broken link cannot be read)',
      },
    ]);
  }
  // Nothing read has changed since the last render wrote the tree: up to date, without rendering.
  try {
    // Not while a render is at work in it (or left work unfinished): that tree is in between.
    const recorded = workInProgress(out) ? undefined : checkFromRecord(req, cwd, out);
    if (recorded) return ok(recorded);
  } catch {
    // Anything unreadable on this path: the full check below reads it again and reports it.
  }
  // The output's walk (another process, see Prescan) runs while this one loads; not where a
  // killed render left work, which is completed below, after the input is known to be valid.
  let prescans = new Map<string, Prescan>();
  try {
    if (interruptedWork(out).length === 0) prescans = prescanOutput(out, req.only);
  } catch {
    // The output cannot be read: the walk in process reports it.
  }
  try {
    return await (await import('./engine.js')).checkRendering(req, cwd, out, prescans);
  } finally {
    for (const s of prescans.values()) s.cancel();
    // Each find stopped and its temp directory removed before check returns.
    await Promise.all([...prescans.values()].map((s) => s.done()));
  }
}
