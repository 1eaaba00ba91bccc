/**
 * The consumer examples in docs/gitops.md point at the layout a publish produces, and the
 * workflow runs the commands that cli.test.ts covers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import { listTree } from '@topoforge/engine';
import { publish } from '../src/index.js';
import { ENV, IDENTITY, builtins, initRepo, removeTempDirs, tempDir, writeFiles } from './fixtures.js';

afterEach(removeTempDirs);

const root = fileURLToPath(new URL('../../../', import.meta.url));
const doc = readFileSync(`${root}docs/gitops.md`, 'utf8');
interface Example {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly metadata: { readonly name: string };
  readonly spec: { readonly path: string; readonly generators: readonly { readonly git: { readonly directories: readonly { readonly path: string }[] } }[] };
}
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) => parseAllDocuments(m[1]!).map((d) => d.toJS() as Example));
const find = (kind: string) => blocks.find((b) => b.kind === kind)!;

describe('docs/gitops.md examples', () => {
  it('every YAML example parses; there is an ApplicationSet, a Flux Kustomization and a pulumi workflow', () => {
    expect(find('ApplicationSet')).toBeDefined();
    expect(find('Kustomization').apiVersion).toBe('kustomize.toolkit.fluxcd.io/v1');
    expect(blocks.some((b) => JSON.stringify(b).includes('pulumi/actions'))).toBe(true);
  });

  it('the Argo CD directory glob and the Flux path select exactly the DC directories of a publish', async () => {
    const dir = tempDir('gitops');
    const g = await initRepo(dir);
    writeFiles(dir, { 'README.md': 'x\n' });
    await g.add('.');
    await g.commit('init');
    const ws = tempDir('ws');
    writeFiles(`${ws}/environments`, { 'prod.yaml': ENV });
    expect((await publish({ environmentsDir: 'environments', cwd: ws, builtins, repo: dir, identity: IDENTITY })).ok).toBe(true);
    const dirs = [
      ...new Set(
        listTree(dir)
          .filter((p) => !p.startsWith('.git/'))
          .map((p) => p.split('/').slice(0, -1)),
      ),
    ].flatMap((s) => s.map((_, i) => s.slice(0, i + 1).join('/')));
    const glob = find('ApplicationSet').spec.generators[0]!.git.directories[0]!.path;
    const re = new RegExp(
      `^${glob
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]+')}$`,
    );
    expect([...new Set(dirs)].filter((d) => re.test(d)).sort()).toEqual(['prod/clusters/n1', 'prod/clusters/n2', 'prod/clusters/n3']);
    const flux = find('Kustomization').spec.path;
    expect(flux).toMatch(/^\.\/[a-z0-9-]+\/clusters\/[a-z0-9-]+$/);
    expect(find('Kustomization').metadata.name).toBe(
      flux
        .split('/')
        .slice(1)
        .filter((_, i) => i !== 1)
        .join('-'),
    );
  });

  it('the pull-request workflow runs the commands the CLI tests cover', () => {
    const wf = parse(readFileSync(`${root}.github/workflows/topoforge-pr.yaml`, 'utf8')) as { jobs: { review: { steps: { run?: string }[] } } };
    const runs = wf.jobs.review.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('topoforge render --out out');
    expect(runs).toContain('topoforge check --out out');
    expect(runs).toContain('topoforge diff --base "origin/${{ github.base_ref }}" --output topoforge-diff.md');
    expect(runs).toContain('pnpm test');
  });
});
