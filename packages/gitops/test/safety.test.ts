/** publish and diff never leak a secret, resume their own half-done work, and refuse hostile trees with a code. */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { publish, review, type PublishRequest } from '../src/index.js';
import { ENV, IDENTITY, builtins, edit, initRepo, removeTempDirs, tempDir, writeFiles } from './fixtures.js';

afterEach(removeTempDirs);

const workspace = (env = ENV): string => {
  const ws = tempDir('ws');
  writeFiles(join(ws, 'environments'), { 'prod.yaml': env });
  return ws;
};
const req = (ws: string, repo: string, extra: Partial<PublishRequest> = {}): PublishRequest => ({
  environmentsDir: 'environments',
  cwd: ws,
  builtins,
  repo,
  identity: IDENTITY,
  ...extra,
});
const log = async (repo: string) => (await simpleGit({ baseDir: repo }).raw(['log', '--format=%s', '--all'])).trim().split('\n');
const publishTemps = () => readdirSync(tmpdir()).filter((n) => n.startsWith('topoforge-publish-')).length;
const BOMB = [
  'a: &a [x,x,x,x,x,x,x,x,x]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
].join('\n');

async function local(): Promise<string> {
  const dir = tempDir('local');
  const g = await initRepo(dir);
  writeFiles(dir, { 'README.md': '# GitOps\n' });
  await g.add('.');
  await g.commit('initial');
  return dir;
}

describe('publish', () => {
  it('refuses a plain-text AWS secret key in the model: exit with a code, nothing committed, value never in the result', async () => {
    const dir = await local();
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const ws = workspace(edit(ENV, 'excludeFromRotation: []', `excludeFromRotation: []\n      awsSecretAccessKey: "${secret}"`));
    const r = await publish(req(ws, dir));
    expect(!r.ok && r.diagnostics[0]).toMatchObject({ code: 'TOPOLOGY_PLAIN_SECRET', field: 'plugins.platform.options.awsSecretAccessKey' });
    expect(JSON.stringify(r)).not.toContain(secret);
    expect(await log(dir)).toEqual(['initial']);
  });

  it('never prints the credentials of a --repo URL', async () => {
    const r = await publish(req(workspace(), 'https://deploy:hunter2-Passw0rd@127.0.0.1:9/acme/gitops.git'));
    expect(!r.ok && r.diagnostics[0]!.code).toBe('GITOPS_GIT_FAILED');
    const text = JSON.stringify(r);
    expect(text).toContain('https://[redacted]@127.0.0.1:9/acme/gitops.git');
    expect(text).not.toContain('hunter2');
  });

  it('resumes after a publish killed half-way: its half-written directories are reset, then it commits', async () => {
    const dir = await local();
    const ws = workspace();
    expect((await publish(req(ws, dir))).ok).toBe(true);
    // what a kill after writing the tree and before the commit leaves: a dirty owned directory and the marker
    writeFileSync(join(dir, 'prod/clusters/n1/platform/shop/configmap-shop-app.yaml'), 'half-written\n');
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    writeFileSync(join(dir, '.git/topoforge-publish.json'), JSON.stringify({ pid: dead, work: dir, inPlace: true, dirs: ['prod'] }));
    writeFiles(join(ws, 'environments'), { 'prod.yaml': edit(ENV, 'retentionDays: 7', 'retentionDays: 8') });
    const r = await publish(req(ws, dir));
    expect(r.ok, JSON.stringify(r)).toBe(true);
    expect(await log(dir)).toHaveLength(3);
    expect((await simpleGit({ baseDir: dir }).status()).isClean()).toBe(true);
    expect(readdirSync(join(dir, '.git')).filter((n) => n.startsWith('topoforge-'))).toEqual([]);
  });

  it('a publish target holding an alias bomb is a coded error and leaks no temporary clone', async () => {
    const bare = join(tempDir('remote'), 'gitops.git');
    await initRepo(bare, { bare: true });
    const seed = tempDir('seed');
    const g = await initRepo(seed);
    writeFiles(seed, {
      'prod/topoforge-index.json': JSON.stringify({ generator: 'topoforge', environment: 'prod', files: [{ path: 'bomb.yaml', sha256: 'x', plugin: 'p' }] }),
      'prod/bomb.yaml': BOMB + '\n',
    });
    await g.add('.');
    await g.commit('initial');
    await g.addRemote('origin', bare);
    await g.push('origin', 'main');
    const temps = publishTemps();
    const r = await publish(req(workspace(), bare));
    expect(!r.ok && r.diagnostics[0]).toMatchObject({ code: 'GITOPS_UNSAFE_TREE', message: expect.stringContaining('uses YAML aliases') });
    expect(publishTemps()).toBe(temps);
  });
});

describe('diff --against', () => {
  it('an alias bomb or a FIFO in the tree compared against is a coded error, not a hang or a stack trace', async () => {
    const ws = workspace();
    const against = tempDir('against');
    writeFiles(against, {
      'prod/topoforge-index.json': JSON.stringify({ generator: 'topoforge', environment: 'prod', files: [] }),
      'prod/bomb.yaml': BOMB + '\n',
    });
    const r = await review({ environmentsDir: 'environments', cwd: ws, builtins, against });
    expect(!r.ok && r.diagnostics[0]!.code).toBe('GITOPS_UNSAFE_TREE');
    const fifo = tempDir('fifo');
    writeFiles(fifo, { 'prod/topoforge-index.json': JSON.stringify({ generator: 'topoforge', environment: 'prod', files: [] }) });
    execFileSync('mkfifo', [join(fifo, 'prod/pipe.yaml')]);
    const f = await review({ environmentsDir: 'environments', cwd: ws, builtins, against: fifo });
    expect(!f.ok && f.diagnostics[0]).toMatchObject({ code: 'GITOPS_UNSAFE_TREE', message: expect.stringContaining('a FIFO, not a file') });
  });

  it('a link in the tree compared against is refused, not followed: no file elsewhere on the machine reaches the report', async () => {
    const ws = workspace();
    const secret = join(tempDir('elsewhere'), 'outside.yaml');
    writeFileSync(secret, 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: from-outside-the-tree }\ndata: { read: from-outside-the-tree }\n');
    const linked = tempDir('linked');
    writeFiles(linked, { 'prod/topoforge-index.json': JSON.stringify({ generator: 'topoforge', environment: 'prod', files: [] }) });
    mkdirSync(join(linked, 'prod/clusters/n1'), { recursive: true });
    symlinkSync(secret, join(linked, 'prod/clusters/n1/configmap.yaml'));
    const r = await review({ environmentsDir: 'environments', cwd: ws, builtins, against: linked });
    expect(!r.ok && r.diagnostics[0]).toMatchObject({ code: 'GITOPS_UNSAFE_TREE', message: expect.stringContaining('a symbolic link, not a file') });
    expect(JSON.stringify(r)).not.toContain('from-outside-the-tree');
  });
});
