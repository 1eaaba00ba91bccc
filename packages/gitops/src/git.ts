/**
 * Git work, all through simple-git: rendering the environments as they were at a ref,
 * and publishing a render into a GitOps repository as one commit.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { loadEnvironments } from '@topoforge/model';
import { renderInMemory, sourceIdentity, writeTree, type RenderedEnvironment, type RenderRequest } from '@topoforge/engine';
import { TopoforgeError } from '@topoforge/model';
import { acquireLock, isAlive, LockTimeoutError, writeFileAtomic } from '@topoforge/safe-fs';
import { redactSecrets } from '@topoforge/secret-scan';
import { diffTrees, type DiffReport } from './diff.js';
import { commitMessage } from './markdown.js';
import type { GitopsDiagnostic, Outcome } from './problems.js';
import { readTreeChecked, renameSourceFiles, treeFromRender, type RenderedTree } from './tree.js';

// git's messages repeat the remote URL, credentials included: everything is redacted.
const gitFailed = (what: string, err: unknown, hint?: string): Outcome<never> => ({
  ok: false,
  diagnostics: [
    {
      code: 'GITOPS_GIT_FAILED',
      message: redactSecrets(
        `${what}: ${String((err as Error).message ?? err)
          .trim()
          .split('\n')
          .slice(0, 6)
          .join(' / ')}`,
      ),
      ...(hint ? { hint } : {}),
    },
  ],
});

/**
 * Called with the environments of one side of a diff while its input is still on disk
 * (a ref's environments live in a temporary directory only during its render), e.g. to
 * collect the data of `diff --html`.
 */
export type OnRendered = (rendered: readonly RenderedEnvironment[], environmentsDir: string) => void | Promise<void>;

/**
 * Renders in memory; nothing is written. validateLayout is not run on the result: the render
 * already refused whatever it would find (plugin-host's Layout, a render phase, with the plugin
 * and position named), and at 100k objects it parsed and indexed every object once more.
 */
export async function renderTree(req: RenderRequest, onRendered?: OnRendered): Promise<Outcome<RenderedTree>> {
  const r = await renderInMemory(req);
  if (!r.ok) return r;
  await onRendered?.(r.value, resolve(req.cwd ?? process.cwd(), req.environmentsDir));
  return { ok: true, value: treeFromRender(r.value) };
}

export interface RefRenderRequest extends Omit<RenderRequest, 'environmentsDir'> {
  readonly environmentsDir: string;
  /** A commit-ish of the repository that holds `environmentsDir`. */
  readonly ref: string;
  readonly onRendered?: OnRendered;
}

/**
 * Renders the environments as they were at `ref`. Only the environments directory is
 * taken from the ref (`git ls-tree` + `git cat-file`, into a temporary directory); plugin
 * packages resolve from the working directory, so the base render runs the plugins of the
 * current checkout and the diff shows what the topology change does. Plugins given by a
 * path inside the environments directory come from the ref like the rest of it.
 */
export async function renderAtRef(req: RefRenderRequest): Promise<Outcome<RenderedTree>> {
  const cwd = req.cwd ?? process.cwd();
  const envAbs = resolve(cwd, req.environmentsDir);
  let top: string;
  let commit: string;
  const git = simpleGit({ baseDir: existsSync(envAbs) ? envAbs : cwd });
  try {
    top = realpathSync((await git.revparse(['--show-toplevel'])).trim());
  } catch (err) {
    return gitFailed(`${req.environmentsDir} is not inside a git repository`, err);
  }
  try {
    commit = (await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${req.ref}^{commit}`])).trim();
    if (!commit) throw new Error('no such commit');
  } catch {
    return {
      ok: false,
      diagnostics: [
        {
          code: 'GITOPS_UNKNOWN_REF',
          message: `--base ${req.ref} names no commit in ${top.split(sep).at(-1)}`,
          hint: 'fetch it first (actions/checkout with fetch-depth: 0, or git fetch origin main)',
        },
      ],
    };
  }
  const rel = relative(top, existsSync(envAbs) ? realpathSync(envAbs) : envAbs)
    .split(sep)
    .join('/');
  if (rel.startsWith('..') || isAbsolute(rel))
    return { ok: false, diagnostics: [{ code: 'GITOPS_GIT_FAILED', message: `${req.environmentsDir} is outside the repository` }] };
  const repo = simpleGit({ baseDir: top });
  const tmp = mkdtempSync(join(tmpdir(), 'topoforge-base-'));
  try {
    const listing = await repo.raw(['ls-tree', '-r', '-z', '--name-only', commit, '--', rel === '' ? '.' : rel]);
    const paths = listing.split('\0').filter((p) => p !== '');
    if (paths.length === 0) return { ok: true, value: new Map() };
    for (const p of paths) {
      const content: Buffer = await repo.binaryCatFile(['blob', `${commit}:${p}`]);
      mkdirSync(dirname(join(tmp, p)), { recursive: true });
      writeFileSync(join(tmp, p), content);
    }
    const baseDir = join(tmp, rel);
    let only = req.only;
    if (only && only.length > 0) {
      // an environment new in this change has nothing to compare with at the base
      const all = loadEnvironments(baseDir, { cwd });
      const names = all.ok ? all.value.map((e) => e.name) : [];
      only = only.filter((n) => names.includes(n));
      if (all.ok && only.length === 0) return { ok: true, value: new Map() };
    }
    const { onRendered, ref: _ref, ...renderReq } = req;
    // Relative plugin paths that point outside the environments directory resolve against the checkout.
    const r = await renderTree({ ...renderReq, environmentsDir: baseDir, cwd, copiedFrom: { from: tmp, to: top }, ...(only ? { only } : {}) }, onRendered);
    // Name files as `<ref>:path`, not the temporary directory.
    const at = (f: string) => (f.startsWith(tmp) ? `${req.ref}:${relative(tmp, f).split(sep).join('/')}` : f);
    if (r.ok) return { ok: true, value: new Map([...r.value].map(([k, e]) => [k, e.source ? { ...e, source: renameSourceFiles(e.source, at) } : e])) };
    return { ok: false, diagnostics: r.diagnostics.map((d) => (d.position ? { ...d, position: { ...d.position, file: at(d.position.file) } } : d)) };
  } catch (err) {
    return gitFailed(`cannot read ${rel} at ${req.ref}`, err);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface PublishRequest extends RenderRequest {
  /** A local work tree, a bare repository path, or a URL. */
  readonly repo: string;
  /** Default: the current branch (local work tree) or the remote's default branch. */
  readonly branch?: string;
  /** Commit subject; the change summary becomes the body. */
  readonly message?: string;
  /** Committer identity for this command only (git config and GIT_* variables apply otherwise). */
  readonly identity?: { readonly name: string; readonly email: string };
  /** Extra validation of the render (e.g. CRD schemas); any problem stops the publish. */
  readonly validate?: (tree: RenderedTree) => readonly GitopsDiagnostic[] | Promise<readonly GitopsDiagnostic[]>;
}

export interface PublishResult {
  readonly mode: 'local' | 'remote';
  readonly branch: string;
  /** The new commit, when something changed. */
  readonly commit?: string;
  readonly pushed: boolean;
  readonly report: DiffReport;
  readonly message?: string;
}

async function isLocalWorkTree(path: string): Promise<boolean> {
  if (!existsSync(path) || !statSync(path).isDirectory()) return false;
  try {
    const g = simpleGit({ baseDir: path });
    if ((await g.revparse(['--is-bare-repository'])).trim() === 'true') return false;
    return realpathSync((await g.revparse(['--show-toplevel'])).trim()) === realpathSync(path);
  } catch {
    return false;
  }
}

async function hasRef(git: SimpleGit, ref: string): Promise<boolean> {
  try {
    return (await git.raw(['rev-parse', '--verify', '--quiet', ref])).trim() !== '';
  } catch {
    return false;
  }
}

/** What a publish into a local repository is doing, kept in its git directory until it is done. */
interface PublishMarker {
  readonly pid: number;
  /** The work tree being written: the repository itself, or a temporary worktree. */
  readonly work: string;
  readonly inPlace: boolean;
  readonly dirs: readonly string[];
}

/**
 * Puts back what a killed publish left in a local repository: the owned directories of the
 * work tree are reset to HEAD, a temporary worktree is removed. Only its own work: the
 * marker names it, and a marker of a live process is left alone.
 */
async function resumeLocal(main: SimpleGit, markerPath: string): Promise<void> {
  if (!existsSync(markerPath)) return;
  let m: PublishMarker | undefined;
  try {
    m = JSON.parse(readFileSync(markerPath, 'utf8')) as PublishMarker;
  } catch {
    m = undefined;
  }
  if (m && isAlive(m.pid) && m.pid !== process.pid) return;
  if (m?.inPlace) await restore(main, m.dirs);
  else if (m?.work) {
    await main.raw(['worktree', 'remove', '--force', m.work]).catch(() => undefined);
    rmSync(m.work, { recursive: true, force: true });
    await main.raw(['worktree', 'prune']).catch(() => undefined);
  }
  unlinkSync(markerPath);
}

/**
 * Renders, validates, and commits the output into the GitOps repository: one commit
 * whose message is the change summary, none when nothing changed. The render and the
 * validation happen before the repository is touched, so a failure leaves it as it was.
 * A remote (URL or bare repository) is cloned into a temporary directory and pushed to;
 * a local work tree gets the commit in place (another branch: in a temporary worktree),
 * holding a lock in its git directory so that publishes into it run one at a time, and
 * with a marker there so that the next publish undoes the half-done work of a killed one.
 */
export async function publish(req: PublishRequest): Promise<Outcome<PublishResult>> {
  const cwd = req.cwd ?? process.cwd();
  const shown = redactSecrets(req.repo);
  const rendered = await renderInMemory(req);
  if (!rendered.ok) return rendered;
  const tree = treeFromRender(rendered.value);
  // The layout was checked by the render (see renderTree); the caller's own checks run here.
  const problems = (await req.validate?.(tree)) ?? [];
  if (problems.length > 0) return { ok: false, diagnostics: problems };

  const config = req.identity ? [`user.name=${req.identity.name}`, `user.email=${req.identity.email}`] : [];
  const looksLocal = !/^[a-z][a-z0-9+.-]*:\/\//i.test(req.repo) && !/^[^/\\]+@[^/\\]+:/.test(req.repo);
  const repoPath = looksLocal ? resolve(cwd, req.repo) : req.repo;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  const releases: (() => void)[] = [];
  try {
    return await publishPrepared(req, { shown, tree, rendered: rendered.value, config, looksLocal, repoPath, cleanups, cleanup, releases });
  } finally {
    await cleanup();
    for (const r of releases) r();
  }
}

interface Prepared {
  readonly shown: string;
  readonly tree: RenderedTree;
  readonly rendered: Parameters<typeof treeFromRender>[0];
  readonly config: string[];
  readonly looksLocal: boolean;
  readonly repoPath: string;
  readonly cleanups: (() => Promise<void>)[];
  readonly cleanup: () => Promise<void>;
  /** Lock releases, run after every cleanup. */
  readonly releases: (() => void)[];
}

async function publishPrepared(req: PublishRequest, p: Prepared): Promise<Outcome<PublishResult>> {
  const { shown, tree, config, repoPath, cleanups } = p;
  let mode: 'local' | 'remote';
  let work: string;
  let branch: string;
  let createdBranch = false;
  let inPlace = false;
  let main: SimpleGit | undefined;
  let markerPath: string | undefined;
  try {
    if (p.looksLocal && (await isLocalWorkTree(repoPath))) {
      mode = 'local';
      main = simpleGit({ baseDir: repoPath, config });
      const gitDir = resolve(repoPath, (await main.raw(['rev-parse', '--git-common-dir'])).trim());
      let release: () => void;
      try {
        release = acquireLock(join(gitDir, 'topoforge-publish.lock'), { purpose: 'topoforge publish', timeoutMs: 120_000 });
      } catch (err) {
        if (err instanceof LockTimeoutError)
          return {
            ok: false,
            diagnostics: [
              {
                code: 'GITOPS_LOCKED',
                message: `another publish is writing ${shown}: ${err.message}`,
                hint: `wait for it; if no topoforge is running, delete ${err.path}`,
              },
            ],
          };
        throw err;
      }
      p.releases.push(release);
      markerPath = join(gitDir, 'topoforge-publish.json');
      await resumeLocal(main, markerPath);
      let current = '';
      try {
        current = (await main.raw(['symbolic-ref', '--short', '-q', 'HEAD'])).trim();
      } catch {
        // detached HEAD
      }
      branch = req.branch ?? current;
      if (!branch) return { ok: false, diagnostics: [{ code: 'GITOPS_GIT_FAILED', message: `${shown} has a detached HEAD`, hint: 'pass --branch' }] };
      if (branch === current) {
        work = repoPath;
        inPlace = true;
      } else {
        work = mkdtempSync(join(tmpdir(), 'topoforge-publish-'));
        rmSync(work, { recursive: true });
        const m = main;
        const w = work;
        writeFileAtomic(markerPath, JSON.stringify({ pid: process.pid, work: w, inPlace: false, dirs: [] } satisfies PublishMarker));
        if (await hasRef(main, `refs/heads/${branch}`)) await main.raw(['worktree', 'add', w, branch]);
        else {
          await main.raw(['worktree', 'add', '-b', branch, w, 'HEAD']);
          createdBranch = true;
        }
        const mp = markerPath;
        cleanups.push(async () => {
          await m.raw(['worktree', 'remove', '--force', w]);
          rmSync(mp, { force: true });
        });
      }
    } else {
      mode = 'remote';
      work = mkdtempSync(join(tmpdir(), 'topoforge-publish-'));
      const w = work;
      cleanups.push(async () => rmSync(w, { recursive: true, force: true }));
      await simpleGit({ baseDir: work }).clone(repoPath, work);
      const g = simpleGit({ baseDir: work, config });
      const current = (await g.raw(['symbolic-ref', '--short', 'HEAD'])).trim();
      branch = req.branch ?? current;
      const empty = !(await hasRef(g, 'HEAD'));
      if (await hasRef(g, `refs/remotes/origin/${branch}`)) {
        if (branch !== current) await g.checkout(['-B', branch, `origin/${branch}`]);
      } else if (empty) {
        await g.raw(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
      } else if (branch !== current) {
        // a new branch starts from the remote's default branch
        await g.checkout(['-b', branch]);
      }
    }
  } catch (err) {
    return gitFailed(`cannot prepare ${shown}`, err);
  }

  const git = simpleGit({ baseDir: work, config });
  const only = req.only && req.only.length > 0 ? req.only : undefined;
  const read = readTreeChecked(work, only);
  if (!read.ok) return read;
  const before = read.value;
  const report = diffTrees(before, tree);
  const envDirs = [...new Set([...before.keys(), ...tree.keys()])].sort();
  try {
    if (inPlace) {
      const dirty = (await git.raw(['status', '--porcelain', '--', ...envDirs])).trim();
      if (dirty)
        return {
          ok: false,
          diagnostics: [
            {
              code: 'GITOPS_DIRTY_REPOSITORY',
              message: `${shown} has uncommitted changes in ${envDirs.join(', ')}`,
              hint: 'commit or discard them first; topoforge owns these directories',
            },
          ],
        };
      const staged = (await git.raw(['diff', '--cached', '--name-only'])).trim();
      if (staged)
        return {
          ok: false,
          diagnostics: [
            {
              code: 'GITOPS_DIRTY_REPOSITORY',
              message: `${shown} has staged changes`,
              hint: 'commit or unstage them first, so the topoforge commit holds only rendered output',
            },
          ],
        };
      writeFileAtomic(markerPath!, JSON.stringify({ pid: process.pid, work, inPlace: true, dirs: envDirs } satisfies PublishMarker));
    }
    const environments = resolve(req.cwd ?? process.cwd(), req.environmentsDir);
    writeTree(
      work,
      p.rendered.map((x) => x.result),
      // No state record in a repository's worktree: it is not output (and a clone has none anyway).
      { prune: !only, ...sourceIdentity(environments), keepState: false },
    );
    const present = envDirs.filter((d) => existsSync(join(work, d)) || before.has(d));
    if (present.length > 0) await git.raw(['add', '-A', '--', ...present]);
    const staged = (await git.raw(['diff', '--cached', '--name-only', '--', ...envDirs])).trim();
    if (!staged) {
      if (createdBranch && main) cleanups.unshift(async () => void (await main.raw(['branch', '-D', branch])));
      if (inPlace) rmSync(markerPath!, { force: true });
      return { ok: true, value: { mode, branch, pushed: false, report } };
    }
    const message = commitMessage(report, req.message);
    await git.raw(['commit', '-q', '-m', message]);
    if (inPlace) rmSync(markerPath!, { force: true });
    const commit = (await git.revparse(['HEAD'])).trim();
    let pushed = false;
    if (mode === 'remote') {
      await git.raw(['push', '-q', '--set-upstream', 'origin', `refs/heads/${branch}:refs/heads/${branch}`]);
      pushed = true;
    }
    return { ok: true, value: { mode, branch, commit, pushed, report, message } };
  } catch (err) {
    if (inPlace) {
      await restore(git, envDirs);
      rmSync(markerPath!, { force: true });
    }
    if (createdBranch && main) {
      const m = main;
      cleanups.unshift(async () => void (await m.raw(['branch', '-D', branch])));
    }
    if (err instanceof TopoforgeError) return { ok: false, diagnostics: err.diagnostics };
    return gitFailed(
      mode === 'remote' ? `cannot publish to ${shown} (nothing was pushed)` : `cannot commit in ${shown} (the directories were restored)`,
      err,
      'when the push was rejected, someone published meanwhile: run publish again',
    );
  }
}

/** Puts the owned directories of a local work tree back as they are at HEAD. */
async function restore(git: SimpleGit, dirs: readonly string[]): Promise<void> {
  for (const d of dirs) {
    await git.raw(['reset', '-q', 'HEAD', '--', d]).catch(() => undefined);
    await git.raw(['checkout', '-q', 'HEAD', '--', d]).catch(() => undefined);
    await git.raw(['clean', '-fdq', '--', d]).catch(() => undefined);
  }
}
