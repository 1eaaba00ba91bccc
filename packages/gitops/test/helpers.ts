import { join } from 'node:path';
import { formatDiagnostic, type Diagnostic } from '@topoforge/model';
import { diffTrees, renderTree, type DiffReport, type RenderedTree } from '../src/index.js';
import { builtins, tempDir, writeFiles } from './fixtures.js';

export async function renderEnvs(files: Record<string, string>): Promise<RenderedTree> {
  const dir = tempDir('ws');
  writeFiles(join(dir, 'environments'), files);
  const r = await renderTree({ environmentsDir: 'environments', cwd: dir, builtins });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d as Diagnostic)).join('\n'));
  return r.value;
}

/** Renders the fixture before and after an edit of the environment file and compares. */
export async function diffEnv(before: string, after: string): Promise<DiffReport> {
  return diffTrees(await renderEnvs({ 'prod.yaml': before }), await renderEnvs({ 'prod.yaml': after }));
}
