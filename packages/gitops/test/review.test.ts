/** `diff --base` renders the environments at a git ref; `diff --against` reads a rendered tree. */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PreviousTree, render, renderInMemory } from '@topoforge/engine';
import { diffTrees, knownFromRender, readTree, review, treeFromRender } from '../src/index.js';
import { ENV, builtins, edit, initRepo, removeTempDirs, tempDir, writeFiles } from './fixtures.js';

afterEach(removeTempDirs);

async function renderedOrThrow(cwd: string) {
  const r = await renderInMemory({ environmentsDir: 'environments', cwd, builtins });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.value;
}

/** A workspace holding the prod environment, rendered into its `gitops` directory. */
async function renderedIntoGitops(): Promise<string> {
  const ws = tempDir('ws');
  writeFiles(join(ws, 'environments'), { 'prod.yaml': ENV });
  expect((await render({ environmentsDir: 'environments', out: 'gitops', cwd: ws, builtins })).ok).toBe(true);
  return ws;
}

async function project(): Promise<string> {
  const dir = tempDir('project');
  const g = await initRepo(dir);
  writeFiles(dir, { 'environments/prod.yaml': ENV, 'README.md': 'topology\n' });
  await g.add('.');
  await g.commit('topology');
  return dir;
}

describe('review --base <ref>', () => {
  it('compares the working tree with HEAD and flags a loosened canary (exit 3)', async () => {
    const dir = await project();
    writeFiles(dir, { 'environments/prod.yaml': edit(ENV, 'maxWeight: 50', 'maxWeight: 90') });
    const r = await review({ environmentsDir: 'environments', cwd: dir, builtins, base: 'HEAD' });
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    expect(r.value.exitCode).toBe(3);
    expect(r.value.report.flags.map((f) => f.detail)).toEqual(['analysis.maxWeight 50 → 90 (more traffic on the canary)']);
    expect(r.value.markdown).toContain('| ~ | Canary shop/shop | n1, n2, n3 | `spec.analysis.maxWeight`: 50 → 90 |');
    expect(r.value.markdown).toContain('Compared `HEAD (environments rendered with the current plugins)` → `working tree`.');
  });

  it('no change since the ref: exit 0; an earlier commit: the changes since then', async () => {
    const dir = await project();
    const same = await review({ environmentsDir: 'environments', cwd: dir, builtins, base: 'HEAD' });
    expect(same.ok && same.value.exitCode).toBe(0);
    const { simpleGit } = await import('simple-git');
    writeFiles(dir, { 'environments/prod.yaml': edit(ENV, 'version: "1.0.0"', 'version: "1.1.0"') });
    await simpleGit({ baseDir: dir }).commit('bump', ['environments/prod.yaml']);
    const r = await review({ environmentsDir: 'environments', cwd: dir, builtins, base: 'HEAD~1' });
    expect(r.ok && r.value.exitCode).toBe(1);
    expect(r.ok && r.value.report.environments[0]!.counts).toEqual({ added: 0, changed: 3, removed: 0 });
  });

  it('works from a subdirectory path and with --env for an environment new in this change', async () => {
    const dir = await project();
    writeFiles(dir, { 'environments/stage.yaml': edit(edit(ENV, 'name: prod', 'name: stage'), 'stage: production', 'stage: staging') });
    const r = await review({ environmentsDir: join(dir, 'environments'), cwd: join(dir, 'environments'), builtins, base: 'HEAD', only: ['stage'] });
    expect(r.ok && r.value.report.environments.map((e) => [e.name, e.status])).toEqual([['stage', 'added']]);
  });

  it('an unknown ref is an error with a hint', async () => {
    const dir = await project();
    const r = await review({ environmentsDir: 'environments', cwd: dir, builtins, base: 'no-such-branch' });
    expect(!r.ok && r.diagnostics[0]).toMatchObject({ code: 'GITOPS_UNKNOWN_REF' });
  });

  it('an invalid environment at the ref is reported with the ref in the file name', async () => {
    const dir = await project();
    const { simpleGit } = await import('simple-git');
    writeFiles(dir, { 'environments/prod.yaml': edit(ENV, 'retentionDays: 7', 'retentionDayz: 7') });
    await simpleGit({ baseDir: dir }).commit('broken', ['environments/prod.yaml']);
    writeFiles(dir, { 'environments/prod.yaml': ENV });
    const r = await review({ environmentsDir: 'environments', cwd: dir, builtins, base: 'HEAD' });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.diagnostics.some((d) => d.position?.file.startsWith('HEAD:environments/prod.yaml'))).toBe(true);
  });
});

describe('review --against <dir>', () => {
  it('takes the files the state record vouches for from the render, unread; reads the rest (a hand edit, a clone without the record)', async () => {
    const ws = await renderedIntoGitops();
    const after = treeFromRender(await renderedOrThrow(ws));
    const files = [...after.get('prod')!.files.keys()];
    const known = (dir: string) => knownFromRender(after)('prod', PreviousTree.read(join(ws, dir, 'prod'), 'prod'))!;
    // Everything was just rendered into gitops: every file is known, as the render's own text.
    for (const p of files) expect(known('gitops')(p), p).toBe(after.get('prod')!.files.get(p)!.content);
    // A same-size hand edit after the render is newer than the record: not known, read.
    const p0 = files[0]!;
    const text = readFileSync(join(ws, 'gitops/prod', p0), 'utf8');
    writeFileSync(join(ws, 'gitops/prod', p0), text.replace(/prod/, 'PROD'));
    const again = known('gitops');
    expect(again(p0)).toBeUndefined();
    expect(again(files[1]!)).toBeDefined();
    // An edit that changes the size, its mtime set back (an older copy restored with cp -p): read too.
    const p2 = files[2]!;
    const was = statSync(join(ws, 'gitops/prod', p2));
    writeFileSync(join(ws, 'gitops/prod', p2), readFileSync(join(ws, 'gitops/prod', p2), 'utf8') + '# older\n');
    utimesSync(join(ws, 'gitops/prod', p2), was.atime, was.mtime);
    expect(known('gitops')(p2)).toBeUndefined();
    writeFileSync(join(ws, 'gitops/prod', p2), readFileSync(join(ws, 'gitops/prod', p2), 'utf8').replace('# older\n', ''));
    utimesSync(join(ws, 'gitops/prod', p2), was.atime, was.mtime);
    const r = await review({ environmentsDir: 'environments', cwd: ws, builtins, against: 'gitops' });
    expect(r.ok && r.value.report.environments[0]!.counts).toEqual({ added: 0, changed: 1, removed: 0 });
    // A copy without the state record (a clone of the GitOps repository): nothing is known.
    cpSync(join(ws, 'gitops/prod'), join(ws, 'clone/prod'), { recursive: true });
    expect(known('clone')(files[1]!)).toBeUndefined();
    const c = await review({ environmentsDir: 'environments', cwd: ws, builtins, against: 'clone' });
    expect(c.ok && c.value.report.environments[0]!.counts).toEqual({ added: 0, changed: 1, removed: 0 });
  });

  it('reports a stray copy of an object beside it as a file the render removes, whichever order the walk lists them in', async () => {
    const ws = await renderedIntoGitops();
    const rel = [
      ...treeFromRender(await renderedOrThrow(ws))
        .get('prod')!
        .files.keys(),
    ].find((p) => p.startsWith('clusters/') && p.endsWith('.yaml'))!;
    const file = join(ws, 'gitops/prod', rel);
    const text = readFileSync(file, 'utf8');
    // One copy named to come before the object's file, one after; each with a label of its own.
    const copy = (name: string) => writeFileSync(join(dirname(file), name), text.replace('labels:\n', `labels:\n    stray: ${name.slice(0, 4)}\n`));
    copy('aaaa-copy.yaml');
    copy('zzzz-copy.yaml');
    const answers: string[] = [];
    for (const walk of ['find', 'node']) {
      if (walk === 'node') process.env.TOPOFORGE_WALK = 'node';
      try {
        const r = await review({ environmentsDir: 'environments', cwd: ws, builtins, against: 'gitops' });
        if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
        expect(r.value.report.environments[0]!.counts, walk).toEqual({ added: 0, changed: 0, removed: 2 });
        expect(r.value.exitCode).toBe(1);
        answers.push(JSON.stringify(r.value.report));
      } finally {
        delete process.env.TOPOFORGE_WALK;
      }
    }
    expect(answers[1]).toBe(answers[0]);
  });

  it("lists a rendered tree's files by path, in the order the same tree read from disk lists them", async () => {
    const ws = await renderedIntoGitops();
    const rendered = [
      ...treeFromRender(await renderedOrThrow(ws))
        .get('prod')!
        .files.keys(),
    ];
    const onDisk = [...readTree(join(ws, 'gitops')).get('prod')!.files.keys()];
    expect(rendered.length).toBeGreaterThan(10);
    expect(rendered).toEqual(onDisk);
    expect(rendered).toEqual([...rendered].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('compares with a rendered tree on disk (e.g. the GitOps checkout); plugin names come from its index', async () => {
    const ws = await renderedIntoGitops();
    writeFiles(join(ws, 'environments'), { 'prod.yaml': edit(ENV, 'for: 5m', 'for: 30m') });
    const r = await review({ environmentsDir: 'environments', cwd: ws, builtins, against: 'gitops' });
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    expect(r.value.exitCode).toBe(3);
    expect(r.value.report.flags).toEqual([expect.objectContaining({ rule: 'alert-loosened', detail: 'for 5m → 30m (must hold longer before it fires)' })]);
    expect(r.value.report.environments[0]!.objects.map((o) => o.plugin)).toEqual(['platform']);
  });

  it('two directories (no model on either side): every service counts as client-facing', async () => {
    const ws = tempDir('ws');
    writeFiles(join(ws, 'a'), { 'prod.yaml': ENV });
    writeFiles(join(ws, 'b'), { 'prod.yaml': edit(ENV, '    image: r/stock\n', '    image: r/stock\n    placement: { dataCenters: [n1, n2] }\n') });
    expect((await render({ environmentsDir: 'a', out: 'out-a', cwd: ws, builtins })).ok).toBe(true);
    expect((await render({ environmentsDir: 'b', out: 'out-b', cwd: ws, builtins })).ok).toBe(true);
    const r = diffTrees(readTree(join(ws, 'out-a')), readTree(join(ws, 'out-b')));
    // stock is regional in the model, but nothing on disk says so: flagged to be safe
    expect(r.flags.filter((f) => f.rule === 'service-redundancy-lost').map((f) => f.subject)).toEqual(['service stock']);
  });

  it('a missing directory is an error', async () => {
    const ws = tempDir('ws');
    writeFiles(join(ws, 'environments'), { 'prod.yaml': ENV });
    const r = await review({ environmentsDir: 'environments', cwd: ws, builtins, against: 'nowhere' });
    expect(!r.ok && r.diagnostics[0]!.code).toBe('GITOPS_NOTHING_TO_COMPARE');
  });
});
