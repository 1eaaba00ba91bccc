import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { CrdCatalog, findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { listTree, STATE_DIR } from '@topoforge/engine';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'packages/cli/bin/topoforge.js');
const work = mkdtempSync(join(tmpdir(), 'topoforge-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function topoforge(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
// The output: the state records beside it are this machine's local knowledge (mtimes, where each
// plugin resolved), never committed (the directory ignores itself for git), so not compared.
const read = (root: string) =>
  Object.fromEntries(
    listTree(root)
      .filter((p) => !p.startsWith(`${STATE_DIR}/`))
      .map((p) => [p, readFileSync(join(root, p), 'utf8')]),
  );

// Render once from the repo root (where plugins resolve), like `pnpm render`.
const out = join(work, 'out');
const first = topoforge(repo, 'render', '--out', out);

describe('the bundled environments, end to end', () => {
  it('render succeeds without warnings', () => {
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
  });

  it('renders byte-identical output from another working directory and a copy of the inputs', () => {
    const copy = join(work, 'copy');
    cpSync(join(repo, 'environments'), join(copy, 'environments'), { recursive: true });
    // another working directory, relative paths; plugins resolve from where topoforge is installed
    const r = topoforge(copy, 'render', '--environments', 'environments', '--out', 'second');
    expect(r.code, r.err).toBe(0);
    const a = read(out);
    const b = read(join(copy, 'second'));
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(b).toEqual(a);
    for (const [path, text] of Object.entries(a)) {
      expect(text.includes('\r'), path).toBe(false);
      expect(text.includes(repo) || text.includes(work), path).toBe(false);
    }
  });

  it('labels every emitted Kubernetes object with topoforge, its environment, and its DC when under clusters/', () => {
    for (const env of ['production', 'staging']) {
      for (const [path, text] of Object.entries(read(join(out, env)))) {
        if (!path.endsWith('.yaml') || path.includes('/pulumi/')) continue;
        for (const doc of parseAllDocuments(text)) {
          const o = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { labels?: Record<string, string> } } | null;
          if (!o || typeof o !== 'object' || !o.apiVersion || !o.kind) continue;
          expect(o.metadata?.labels?.['app.kubernetes.io/managed-by'], path).toBe('topoforge');
          expect(o.metadata?.labels?.['topoforge.io/environment'], path).toBe(env);
          const dc = /^clusters\/([^/]+)\//.exec(path)?.[1];
          if (dc) expect(o.metadata?.labels?.['topoforge.io/dc'], path).toBe(dc);
        }
      }
    }
  });

  it('check is clean right after render', () => {
    const r = topoforge(repo, 'check', '--out', out);
    expect(r.code, r.out).toBe(0);
  });
});

const shared = findSharedDir(repo);
if (!shared) console.warn(SHARED_MISSING);

describe.runIf(shared)('every emitted custom resource validates against its upstream CRD', () => {
  it('validates each object whose API group has a CRD in ../shared/crds or test/crds', () => {
    // test/crds: upstream CRDs ../shared lacks (the ServiceMonitor of the promotion gate's monitoring).
    const catalog = CrdCatalog.fromDir(join(shared!, 'crds')).addDir(join(repo, 'test', 'crds'));
    const groups = new Set(catalog.kinds().map((k) => k.split('/')[0]));
    let checked = 0;
    const problems: string[] = [];
    for (const [path, text] of Object.entries(read(out))) {
      if (!path.endsWith('.yaml')) continue;
      for (const doc of parseAllDocuments(text)) {
        const o = doc.toJS() as { apiVersion?: string; kind?: string } | null;
        if (!o || typeof o !== 'object' || typeof o.apiVersion !== 'string' || !groups.has(o.apiVersion.split('/')[0])) continue;
        checked++;
        for (const p of catalog.validate(o)) problems.push(`${path}: ${o.kind} ${p.path} ${p.message}`);
      }
    }
    expect(problems).toEqual([]);
    console.info(`validated ${checked} custom resources against upstream CRDs`);
  });
});
