/**
 * The CLI commands (packages/cli/src/gitops-command.ts) on the real commander program,
 * run in-process with the exact invocations the pull-request workflow uses
 * (.github/workflows/topoforge-pr.yaml): render, check, diff --base, and publish.
 * Plugins are loaded the way the CLI loads them (a module named in the environment file).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { ENV, IDENTITY, edit, initRepo, removeTempDirs, tempDir, writeFiles } from './fixtures.js';

afterEach(removeTempDirs);

interface Io {
  readonly out: (t: string) => void;
  readonly err: (t: string) => void;
  readonly cwd: string;
}
interface Program {
  readonly commands: readonly { name(): string }[];
  parseAsync(argv: string[], opts: { from: 'user' }): Promise<unknown>;
}
// Loaded by path: the CLI depends on this package, not the other way round.
const cliSrc = new URL('../../cli/src/', import.meta.url);
const { buildProgram } = (await import(new URL('program.js', cliSrc).href)) as { buildProgram: (io: Io, setExit: (c: number) => void) => Program };
const { registerGitops } = (await import(new URL('gitops-command.js', cliSrc).href)) as {
  registerGitops: (p: Program, io: Io, setExit: (c: number) => void) => void;
};

async function run(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let code = 0;
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), cwd };
  const setExit = (c: number) => void (code = c);
  const program = buildProgram(io, setExit);
  // program.ts registers the commands itself once it has the registration line
  if (!program.commands.some((c) => c.name() === 'diff')) registerGitops(program, io, setExit);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('commander.')) return { code: 64, out, err };
    throw e;
  }
  return { code, out, err };
}

// A plugin module as a team would keep it beside its environments: a plain plugin object
// (contract v2), carrying its own risk rule for diff, and declaring the backup policy group it
// reads (the group is a plugin's, not the model's: velero owns it when velero is enabled).
const PLUGIN = `const hours = (o) => Number(/^(\\d+)h0m0s$/.exec(o.spec.template.ttl)[1]);
export default {
  $$type: 'topoforge.plugin', contract: 2, name: 'backups', description: 'test', after: [],
  policies: { backup: { type: 'object', properties: { retentionDays: { type: 'integer', minimum: 1 } }, required: ['retentionDays'] } },
  review: [{ id: 'backup-retention-reduced', title: 'Backup retention reduced', kinds: [{ group: 'velero.io', kind: 'Schedule' }],
    compare: (a, b) => (a && b && hours(b) < hours(a) ? ['spec.template.ttl ' + a.spec.template.ttl + ' → ' + b.spec.template.ttl + ' (' + hours(a) / 24 + 'd → ' + hours(b) / 24 + 'd)'] : []) }],
  options: { type: 'object', properties: { fail: { type: 'boolean' } }, additionalProperties: false },
  hooks: { render(ctx) {
    if (ctx.options.fail) ctx.error('asked to fail');
    for (const dc of ctx.env.dataCenters) for (const name of dc.services) {
      const s = ctx.env.services.find((x) => x.name === name);
      if (!s.policies.backup) continue;
      ctx.object({ dc: dc.name }, { apiVersion: 'velero.io/v1', kind: 'Schedule', metadata: { name: s.name, namespace: 'velero' },
        spec: { schedule: '0 0 * * *', template: { ttl: (s.policies.backup.retentionDays * 24) + 'h0m0s', storageLocation: 'backups-' + dc.name } } }, { service: s.name });
    }
  } },
};
`;
const TOPOLOGY = edit(
  ENV,
  'plugins:\n  platform:\n    options:\n      excludeFromRotation: []\n',
  'plugins:\n  backups:\n    package: ./plugins/backups.mjs\n',
);

async function project(): Promise<string> {
  const dir = tempDir('cli');
  const g = await initRepo(dir);
  writeFiles(dir, { 'environments/prod.yaml': TOPOLOGY, 'environments/plugins/backups.mjs': PLUGIN });
  await g.add('.');
  await g.commit('topology');
  return dir;
}

describe('topoforge diff', () => {
  it('the workflow sequence: render, check (exit 0), diff --base main (exit 0 without changes)', async () => {
    const dir = await project();
    expect(await run(dir, 'render', '--out', 'out')).toMatchObject({ code: 0 });
    expect(await run(dir, 'check', '--out', 'out')).toMatchObject({ code: 0 });
    const r = await run(dir, 'diff', '--base', 'main', '--output', 'topoforge-diff.md');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('## topoforge diff: no changes');
    expect(readFileSync(join(dir, 'topoforge-diff.md'), 'utf8')).toBe(r.out);
  });

  it('exit 3 with the markdown on stdout and the flags on stderr when retention is cut', async () => {
    const dir = await project();
    writeFiles(dir, { 'environments/prod.yaml': edit(TOPOLOGY, 'retentionDays: 7', 'retentionDays: 2') });
    const r = await run(dir, 'diff', '--base', 'main');
    expect(r.code).toBe(3);
    expect(r.out).toContain('<!-- topoforge-diff -->');
    expect(r.out).toContain('**Backup retention reduced** · prod · Schedule velero/shop in n1, n2, n3: spec.template.ttl 168h0m0s → 48h0m0s (7d → 2d)');
    expect(r.err).toContain('2 risk flags:');
  });

  it('exit 1 for a change without risk; --against a rendered directory', async () => {
    const dir = await project();
    expect((await run(dir, 'render', '--out', 'gitops')).code).toBe(0);
    writeFiles(dir, { 'environments/prod.yaml': edit(TOPOLOGY, 'retentionDays: 7', 'retentionDays: 9') });
    const r = await run(dir, 'diff', '--against', 'gitops');
    expect(r.code).toBe(1);
    expect(r.out).toContain('| ~ | Schedule velero/shop | n1, n2, n3 | `spec.template.ttl`: 168h0m0s → 216h0m0s |');
  });

  it('exit 2 on invalid input; exit 64 without a side or with both', async () => {
    const dir = await project();
    writeFiles(dir, { 'environments/prod.yaml': edit(TOPOLOGY, 'retentionDays: 7', 'retentionDays: -1') });
    const bad = await run(dir, 'diff', '--base', 'main');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('retentionDays');
    expect((await run(dir, 'diff')).code).toBe(64);
    expect((await run(dir, 'diff', '--base', 'main', '--against', 'out')).code).toBe(64);
  });
});

describe('topoforge publish', () => {
  it('commits and pushes once; a second run has nothing to commit; a failing render changes nothing (exit 2)', async () => {
    const dir = await project();
    const bare = join(tempDir('remote'), 'gitops.git');
    await initRepo(bare, { bare: true });
    process.env.GIT_AUTHOR_NAME = process.env.GIT_COMMITTER_NAME = IDENTITY.name;
    process.env.GIT_AUTHOR_EMAIL = process.env.GIT_COMMITTER_EMAIL = IDENTITY.email;
    try {
      const first = await run(dir, 'publish', '--repo', bare, '--branch', 'main');
      expect(first.err).toBe('');
      expect(first.code).toBe(0);
      expect(first.out).toMatch(/^topoforge: prod new environment: 6 added\ncommitted [0-9a-f]{12} on main and pushed\.\n$/);
      const second = await run(dir, 'publish', '--repo', bare, '--branch', 'main');
      expect(second).toMatchObject({ code: 0, out: `${bare} (main) is up to date: nothing to commit.\n` });
      const head = await simpleGit({ baseDir: bare }).revparse(['main']);
      writeFiles(dir, {
        'environments/prod.yaml': edit(TOPOLOGY, 'package: ./plugins/backups.mjs', 'package: ./plugins/backups.mjs\n    options: { fail: true }'),
      });
      const failed = await run(dir, 'publish', '--repo', bare, '--branch', 'main');
      expect(failed.code).toBe(2);
      expect(failed.err).toContain('nothing was written');
      expect(await simpleGit({ baseDir: bare }).revparse(['main'])).toBe(head);
    } finally {
      for (const k of ['GIT_AUTHOR_NAME', 'GIT_COMMITTER_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_EMAIL']) delete process.env[k];
    }
  });
});
