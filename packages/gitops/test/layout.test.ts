/**
 * The layout check agrees with kustomize: a DC directory is built the way Flux's
 * kustomize-controller does when it finds no kustomization.yaml (one is generated listing
 * every .yaml/.yml below the path) and fed to the real `kubectl kustomize`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { render } from '@topoforge/engine';
import { validateLayout, type RenderedTree } from '../src/index.js';
import { ENV, builtins, removeTempDirs, tempDir, writeFiles } from './fixtures.js';
import { renderEnvs } from './helpers.js';

afterEach(removeTempDirs);

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!hasKubectl) console.log('KUBECTL_MISSING: the kustomize agreement tests need kubectl on PATH');

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(n)) out.push(p);
  }
  return out;
}

/** What kustomize-controller does for a path without kustomization.yaml, then `kubectl kustomize`. */
function fluxBuild(dcDir: string): { ok: boolean; objects: number; err: string } {
  const copy = tempDir('flux');
  cpSync(dcDir, copy, { recursive: true });
  const resources = yamlFiles(copy).map((f) => `- ${relative(copy, f)}`);
  writeFileSync(join(copy, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.join('\n')}\n`);
  const r = spawnSync('kubectl', ['kustomize', copy], { encoding: 'utf8' });
  const objects = r.status === 0 ? parseAllDocuments(r.stdout).length : 0;
  return { ok: r.status === 0, objects, err: r.stderr };
}

function withFile(tree: RenderedTree, env: string, path: string, content: string): RenderedTree {
  const e = tree.get(env)!;
  return new Map([[env, { ...e, files: new Map([...e.files, [path, { content, plugin: 'extra' }]]) }]]);
}

describe('layout for Flux and Argo CD', () => {
  it('the rendered fixture passes the check', async () => {
    expect(validateLayout(await renderEnvs({ 'prod.yaml': ENV }))).toEqual([]);
  });

  it.runIf(hasKubectl)('kubectl kustomize builds every DC directory as Flux would, with every object', async () => {
    const ws = tempDir('ws');
    writeFiles(join(ws, 'environments'), { 'prod.yaml': ENV });
    const r = await render({ environmentsDir: 'environments', out: 'out', cwd: ws, builtins });
    expect(r.ok).toBe(true);
    for (const dc of ['n1', 'n2', 'n3']) {
      const dir = join(ws, 'out/prod/clusters', dc);
      const expected = yamlFiles(dir).reduce((n, f) => n + parseAllDocuments(execFileSync('cat', [f], { encoding: 'utf8' })).length, 0);
      const b = fluxBuild(dir);
      expect(b.err).toBe('');
      expect(b.objects).toBe(expected);
    }
  });

  it.runIf(hasKubectl)('a non-Kubernetes YAML file under clusters/<dc>/ fails both kustomize and the check', async () => {
    const tree = withFile(await renderEnvs({ 'prod.yaml': ENV }), 'prod', 'clusters/n1/extra/settings.yaml', 'name: project\nruntime: nodejs\n');
    const problems = validateLayout(tree);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'GITOPS_LAYOUT', environment: 'prod', plugin: 'extra' });
    expect(problems[0]!.message).toContain('prod/clusters/n1/extra/settings.yaml');
    const dir = tempDir('dc');
    for (const [p, f] of tree.get('prod')!.files) if (p.startsWith('clusters/n1/')) writeFiles(dir, { [p.slice('clusters/n1/'.length)]: f.content });
    expect(fluxBuild(dir).ok).toBe(false);
  });

  it.runIf(hasKubectl)('the same object twice in one DC fails both kustomize and the check', async () => {
    const base = await renderEnvs({ 'prod.yaml': ENV });
    const cm = base.get('prod')!.files.get('clusters/n1/platform/shop/configmap-shop-app.yaml')!;
    const tree = withFile(base, 'prod', 'clusters/n1/extra/copy.yaml', cm.content);
    expect(validateLayout(tree).map((p) => p.message)).toEqual([
      'ConfigMap shop/shop-app appears twice in DC n1 (clusters/n1/platform/shop/configmap-shop-app.yaml and clusters/n1/extra/copy.yaml)',
    ]);
    const dir = tempDir('dc');
    for (const [p, f] of tree.get('prod')!.files) if (p.startsWith('clusters/n1/')) writeFiles(dir, { [p.slice('clusters/n1/'.length)]: f.content });
    const b = fluxBuild(dir);
    expect(b.ok).toBe(false);
    expect(b.err).toContain('already registered id');
  });

  it("files outside clusters/ (a Pulumi project, notes) are not the controllers' business", async () => {
    const tree = withFile(await renderEnvs({ 'prod.yaml': ENV }), 'prod', 'pulumi/Pulumi.yaml', 'name: prod\nruntime: nodejs\n');
    expect(validateLayout(tree)).toEqual([]);
  });
});
