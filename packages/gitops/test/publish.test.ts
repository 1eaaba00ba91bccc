/** publish against real git repositories on disk (bare remotes and local work trees). */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { publish, type PublishRequest } from '../src/index.js';
import { ENV, IDENTITY, builtins, edit, initRepo, removeTempDirs, tempDir, writeFiles } from './fixtures.js';

afterEach(removeTempDirs);

function workspace(env = ENV): string {
  const ws = tempDir('ws');
  writeFiles(join(ws, 'environments'), { 'prod.yaml': env });
  return ws;
}

/** A bare "remote" seeded with a README on main, like a freshly created GitOps repository. */
async function remote(): Promise<string> {
  const bare = join(tempDir('remote'), 'gitops.git');
  await initRepo(bare, { bare: true });
  const seed = tempDir('seed');
  const g = await initRepo(seed);
  writeFiles(seed, { 'README.md': '# GitOps\n', 'platform/flux-system.yaml': 'kept: true\n' });
  await g.add('.');
  await g.commit('initial');
  await g.addRemote('origin', bare);
  await g.push('origin', 'main');
  return bare;
}

const refs = async (repo: string) => simpleGit({ baseDir: repo }).raw(['for-each-ref', '--format=%(refname) %(objectname)']);
const log = async (repo: string, branch = 'main') => (await simpleGit({ baseDir: repo }).raw(['log', '--format=%s', branch])).trim().split('\n');
const show = async (repo: string, spec: string) => simpleGit({ baseDir: repo }).raw(['show', spec]);

const req = (ws: string, repo: string, extra: Partial<PublishRequest> = {}): PublishRequest => ({
  environmentsDir: 'environments',
  cwd: ws,
  builtins,
  repo,
  identity: IDENTITY,
  ...extra,
});

describe('publish to a remote (bare repository)', () => {
  it('commits once, keeps other files, and makes no second commit when nothing changed', async () => {
    const bare = await remote();
    const ws = workspace();
    const first = await publish(req(ws, bare));
    if (!first.ok) throw new Error(JSON.stringify(first.diagnostics));
    expect(first.value).toMatchObject({ mode: 'remote', branch: 'main', pushed: true });
    expect(first.value.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await log(bare)).toEqual(['topoforge: prod new environment: 27 added', 'initial']);
    expect(await show(bare, 'main:README.md')).toBe('# GitOps\n');
    expect(await show(bare, 'main:platform/flux-system.yaml')).toBe('kept: true\n');
    expect(await show(bare, 'main:prod/clusters/n2/platform/velero/schedule-shop-daily.yaml')).toContain('ttl: "168h0m0s"');
    expect(JSON.parse(await show(bare, 'main:prod/topoforge-index.json')).files).toHaveLength(27);

    const before = await refs(bare);
    const second = await publish(req(ws, bare));
    expect(second.ok && second.value.commit).toBe(undefined);
    expect(second.ok && second.value.pushed).toBe(false);
    expect(await refs(bare)).toBe(before);
  });

  it('a change is one commit whose message is the summary, risk flags included', async () => {
    const bare = await remote();
    const ws = workspace();
    expect((await publish(req(ws, bare))).ok).toBe(true);
    writeFiles(join(ws, 'environments'), { 'prod.yaml': edit(ENV, 'retentionDays: 7', 'retentionDays: 3') });
    const r = await publish(req(ws, bare, { message: 'Shorter backup retention (ticket OPS-12)' }));
    expect(r.ok).toBe(true);
    const msg = await simpleGit({ baseDir: bare }).raw(['log', '-1', '--format=%B', 'main']);
    expect(msg.split('\n')[0]).toBe('Shorter backup retention (ticket OPS-12)');
    expect(msg).toContain('prod 6 changed');
    expect(msg).toContain(
      'Backup retention reduced (medium) · prod · Schedule velero/shop-daily in n1, n2, n3: spec.template.ttl 168h0m0s → 72h0m0s (7d → 3d)',
    );
    expect(await log(bare)).toHaveLength(3);
    const files = await simpleGit({ baseDir: bare }).raw(['diff', '--name-only', 'main~1', 'main']);
    expect(
      files
        .trim()
        .split('\n')
        .every((f) => f.startsWith('prod/')),
    ).toBe(true);
  });

  it('a failing render leaves the repository as it was', async () => {
    const bare = await remote();
    const ws = workspace();
    expect((await publish(req(ws, bare))).ok).toBe(true);
    const before = await refs(bare);
    writeFiles(join(ws, 'environments'), {
      'prod.yaml': edit(edit(ENV, 'retentionDays: 7', 'retentionDays: 3'), 'excludeFromRotation: []', 'excludeFromRotation: []\n      fail: true'),
    });
    const r = await publish(req(ws, bare));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.diagnostics.map((d) => d.code)).toEqual(['PLUGIN_VALIDATION_FAILED']);
    expect(await refs(bare)).toBe(before);
  });

  it('a failing validation leaves the repository as it was', async () => {
    const bare = await remote();
    const before = await refs(bare);
    const r = await publish(req(workspace(), bare, { validate: () => [{ code: 'GITOPS_LAYOUT', message: 'refused by a test validator' }] }));
    expect(!r.ok && r.diagnostics[0]!.message).toBe('refused by a test validator');
    expect(await refs(bare)).toBe(before);
  });

  it('--branch creates the branch from the default branch and leaves main alone', async () => {
    const bare = await remote();
    const mainBefore = (await refs(bare)).split('\n').find((l) => l.startsWith('refs/heads/main'));
    const r = await publish(req(workspace(), bare, { branch: 'topoforge/update' }));
    expect(r.ok && r.value.branch).toBe('topoforge/update');
    expect(await log(bare, 'topoforge/update')).toEqual(['topoforge: prod new environment: 27 added', 'initial']);
    expect((await refs(bare)).split('\n').find((l) => l.startsWith('refs/heads/main'))).toBe(mainBefore);
    // publishing again onto the existing branch: nothing changed, no commit
    const again = await publish(req(workspace(), bare, { branch: 'topoforge/update' }));
    expect(again.ok && again.value.commit).toBe(undefined);
  });

  it('an environment no longer rendered disappears in the next full publish; other directories stay', async () => {
    const bare = await remote();
    const ws = workspace();
    writeFiles(join(ws, 'environments'), { 'stage.yaml': edit(edit(ENV, 'name: prod', 'name: stage'), 'stage: production', 'stage: staging') });
    expect((await publish(req(ws, bare))).ok).toBe(true);
    expect(await show(bare, 'main:stage/topoforge-index.json')).toContain('"environment": "stage"');
    await import('node:fs').then((fs) => fs.rmSync(join(ws, 'environments', 'stage.yaml')));
    const r = await publish(req(ws, bare));
    expect(r.ok && r.value.report.environments.find((e) => e.name === 'stage')!.status).toBe('removed');
    const tree = await simpleGit({ baseDir: bare }).raw(['ls-tree', '--name-only', 'main']);
    expect(tree.trim().split('\n')).toEqual(['README.md', 'platform', 'prod']);
  });

  it('works with an empty remote (first publish creates the branch)', async () => {
    const bare = join(tempDir('remote'), 'empty.git');
    await initRepo(bare, { bare: true });
    const r = await publish(req(workspace(), bare, { branch: 'main' }));
    expect(r.ok && r.value.pushed).toBe(true);
    expect(await log(bare)).toEqual(['topoforge: prod new environment: 27 added']);
  });
});

describe('publish to a local work tree', () => {
  async function local(): Promise<string> {
    const dir = tempDir('local');
    const g = await initRepo(dir);
    writeFiles(dir, { 'README.md': '# GitOps\n' });
    await g.add('.');
    await g.commit('initial');
    return dir;
  }

  it('commits in place on the current branch; no second commit; nothing pushed', async () => {
    const dir = await local();
    const ws = workspace();
    const r = await publish(req(ws, dir));
    expect(r.ok && r.value).toMatchObject({ mode: 'local', branch: 'main', pushed: false });
    expect(await log(dir)).toHaveLength(2);
    expect((await simpleGit({ baseDir: dir }).status()).isClean()).toBe(true);
    const again = await publish(req(ws, dir));
    expect(again.ok && again.value.commit).toBe(undefined);
    expect(await log(dir)).toHaveLength(2);
  });

  it('refuses to overwrite uncommitted edits in a directory it owns, and leaves them', async () => {
    const dir = await local();
    const ws = workspace();
    expect((await publish(req(ws, dir))).ok).toBe(true);
    const file = join(dir, 'prod/clusters/n1/platform/shop/configmap-shop-app.yaml');
    writeFileSync(file, 'hand edit\n');
    writeFiles(join(ws, 'environments'), { 'prod.yaml': edit(ENV, 'retentionDays: 7', 'retentionDays: 3') });
    const r = await publish(req(ws, dir));
    expect(!r.ok && r.diagnostics[0]!.code).toBe('GITOPS_DIRTY_REPOSITORY');
    expect(readFileSync(file, 'utf8')).toBe('hand edit\n');
    expect(await log(dir)).toHaveLength(2);
  });

  it('another branch is committed in a temporary worktree; the checkout is not touched', async () => {
    const dir = await local();
    const r = await publish(req(workspace(), dir, { branch: 'render' }));
    expect(r.ok && r.value.branch).toBe('render');
    expect(await log(dir, 'render')).toHaveLength(2);
    expect(await log(dir, 'main')).toHaveLength(1);
    expect(existsSync(join(dir, 'prod'))).toBe(false);
    expect((await simpleGit({ baseDir: dir }).raw(['worktree', 'list'])).trim().split('\n')).toHaveLength(1);
  });
});
