/**
 * `topoforge diff` and `topoforge publish`: thin wrappers over @topoforge/gitops. The
 * diff prints markdown for a pull-request comment on stdout and exits 0 (no change),
 * 1 (changes), 3 (risky changes) or 2 (errors); publish commits the render into the
 * GitOps repository.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type * as GitopsModule from '@topoforge/gitops';
import { reportDiagnostics } from './commands.js';
import type { DiffHtmlCollector } from './html-command.js';

// Loaded when diff or publish runs: render and check never pay for them.
const load = (): Promise<typeof GitopsModule> => import('@topoforge/gitops');
import { EXIT, type Io } from './io.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

const report = reportDiagnostics;

interface DiffOptions {
  readonly base?: string;
  readonly against?: string;
  readonly env?: string[];
  readonly environments: string;
  readonly output?: string;
  readonly html?: string;
  readonly month?: string;
  readonly crds?: string[];
}

interface PublishOptions {
  readonly repo: string;
  readonly branch?: string;
  readonly message?: string;
  readonly env?: string[];
  readonly environments: string;
}

export function registerGitops(program: Command, io: Io, setExit: (code: number) => void): void {
  const envOpt = () => new Option('--env <name>', 'only this environment (repeatable)').argParser(collect);
  const envsOpt = () => new Option('--environments <dir>', 'directory of environment files').default('environments');

  program
    .command('diff')
    .description('compare the current render with a git ref or a rendered tree; markdown for a PR comment (exit 0 none, 1 changes, 3 risky)')
    .addOption(new Option('--base <ref>', 'render the environments as they were at this git ref (plugins: current checkout)').conflicts('against'))
    .addOption(new Option('--against <dir>', 'compare with an existing rendered tree, e.g. a GitOps checkout'))
    .addOption(envOpt())
    .addOption(envsOpt())
    .option('--output <file>', 'also write the markdown to this file')
    .option('--html <file>', 'also write the before/after views (placement, backups, failover, recovery, canaries) as one HTML page')
    .option('--month <yyyy-mm>', 'month of the backup calendars in --html (default: this month)')
    .addOption(new Option('--crds <dir>', 'validate emitted custom resources against these CRDs (repeatable; default: TOPOFORGE_CRDS)').argParser(collect))
    .action(async (o: DiffOptions) => {
      if (o.base === undefined && o.against === undefined) {
        io.err('error: give --base <git ref> or --against <directory>\n');
        setExit(EXIT.usage);
        return;
      }
      let views: DiffHtmlCollector | undefined;
      if (o.html !== undefined) {
        const c = (await import('./html-command.js')).diffHtml(io, o.environments, o.month);
        if (typeof c === 'number') return setExit(c);
        views = c;
      }
      const { flagLine, orderFlags, review } = await load();
      const r = await review({
        environmentsDir: o.environments,
        cwd: io.cwd,
        ...(o.env ? { only: o.env } : {}),
        ...(o.base !== undefined ? { base: o.base } : {}),
        ...(o.against !== undefined ? { against: o.against } : {}),
        ...(views ? { onRendered: views.hooks } : {}),
        ...(o.crds ? { crds: o.crds } : {}),
      });
      if (!r.ok) {
        setExit(report(io, r.diagnostics));
        return;
      }
      io.out(r.value.markdown);
      if (o.output) writeFileSync(resolve(io.cwd, o.output), r.value.markdown);
      if (views && o.html) {
        writeFileSync(
          resolve(io.cwd, o.html),
          views.page(
            o.base ?? o.against ?? '',
            'working tree',
            o.base === undefined ? `${o.against} is a rendered tree: it holds no model to draw; compare with --base <ref> for both sides` : undefined,
          ),
        );
        io.err(`wrote ${o.html}\n`);
      }
      const flags = r.value.report.flags;
      if (flags.length > 0)
        io.err(
          `${flags.length} risk flag${flags.length === 1 ? '' : 's'}:\n${orderFlags(flags)
            .map((f) => `  ${flagLine(f)}`)
            .join('\n')}\n`,
        );
      setExit(r.value.exitCode === 3 ? EXIT.risky : r.value.exitCode === 1 ? EXIT.changes : EXIT.ok);
    });

  program
    .command('publish')
    .description('render and commit the output into a GitOps repository (local path or URL), one commit, none without changes')
    .requiredOption('--repo <path-or-url>', 'GitOps repository: a local checkout, a bare repository or a URL (cloned and pushed to)')
    .option('--branch <name>', 'branch to commit to (default: current branch, or the remote default branch)')
    .option('--message <text>', 'commit subject (the change summary becomes the body)')
    .addOption(envOpt())
    .addOption(envsOpt())
    .action(async (o: PublishOptions) => {
      const r = await (
        await load()
      ).publish({
        environmentsDir: o.environments,
        cwd: io.cwd,
        repo: o.repo,
        ...(o.env ? { only: o.env } : {}),
        ...(o.branch !== undefined ? { branch: o.branch } : {}),
        ...(o.message !== undefined ? { message: o.message } : {}),
      });
      if (!r.ok) {
        setExit(report(io, r.diagnostics));
        return;
      }
      const v = r.value;
      if (!v.commit) io.out(`${o.repo} (${v.branch}) is up to date: nothing to commit.\n`);
      else {
        io.out(v.message!.split('\n')[0] + '\n');
        io.out(`committed ${v.commit.slice(0, 12)} on ${v.branch}${v.pushed ? ' and pushed' : ''}.\n`);
        if (v.report.flags.length > 0) io.err(`${v.report.flags.length} risk flag(s) in this change; see the commit message.\n`);
      }
      setExit(EXIT.ok);
    });
}
