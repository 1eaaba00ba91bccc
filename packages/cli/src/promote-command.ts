import { relative } from 'node:path';
import { Option, type Command } from 'commander';
import type * as PromoteModule from '@topoforge/promote';
import { reportDiagnostics } from './commands.js';
import { EXIT, type Io } from './io.js';

// Loaded when a promote or verify command runs: render and check never pay for it.
const load = (): Promise<typeof PromoteModule> => import('@topoforge/promote');

export function registerPromote(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('promote')
    .description('carry versions verified on the test stand into another environment file (refuses unverified versions)')
    .requiredOption('--from <env>', 'the test stand, e.g. staging')
    .requiredOption('--to <env>', 'the environment to promote into, e.g. production')
    .addOption(new Option('--service <name>', 'only this service (repeatable)').argParser((v: string, prev: string[] = []) => [...prev, v]))
    .option('--dry-run', 'print the change without writing it')
    .option('--check', 'write nothing; fail if --to runs any version not in the --from ledger (for CI)')
    .addOption(new Option('--environments <dir>', 'directory of environment files').default('environments'))
    .action(async (o: { from: string; to: string; service?: string[]; dryRun?: boolean; check?: boolean; environments: string }) => {
      const { audit, promote } = await load();
      if (o.check) {
        // Catches what promote cannot see: a hand edit of the target file or a bump in base.yaml.
        const a = audit({ environmentsDir: o.environments, from: o.from, to: o.to, cwd: io.cwd });
        if (!a.ok) return setExit(reportDiagnostics(io, a.diagnostics));
        io.out(`${o.to} runs only versions verified on ${o.from} (${a.value.checked} services).\n`);
        return setExit(EXIT.ok);
      }
      const r = promote({
        environmentsDir: o.environments,
        from: o.from,
        to: o.to,
        cwd: io.cwd,
        ...(o.service ? { services: o.service } : {}),
        dryRun: o.dryRun ?? false,
      });
      if (!r.ok) return setExit(reportDiagnostics(io, r.diagnostics));
      // A service left out is said, never silent.
      const notPromoted = r.value.notPromoted.map((n) => `not promoted: ${n.service} (${n.reason})\n`);
      if (r.value.changes.length === 0) {
        for (const line of notPromoted) io.out(line);
        io.out(`${o.to} already runs every version of ${o.from}${notPromoted.length ? ' it runs too' : ''}: nothing to promote.\n`);
        return setExit(EXIT.ok);
      }
      for (const c of r.value.changes) {
        const version = c.from === c.to ? [] : [`${c.from} -> ${c.to}`];
        const image = c.image ? [`image ${c.image.from} -> ${c.image.to}`] : [];
        io.out(`${c.service}: ${[...version, ...image].join(', ')}\n`);
      }
      for (const line of notPromoted) io.out(line);
      io.out(`\n${r.value.patch}`);
      io.out(r.value.written ? `\nwrote ${r.value.file}; review and commit it, then render.\n` : `\n(dry run: ${r.value.file} not written)\n`);
      setExit(EXIT.ok);
    });

  program
    .command('verify')
    .description("record that a version passed the test stand, or turn the staging gate's evidence (--from-gate) into ledger entries")
    .requiredOption('--env <env>', 'the test stand')
    .option('--service <name>', 'the service')
    .option('--version <version>', 'the version that passed')
    .addOption(
      new Option(
        '--from-gate <url>',
        "a staging DC's promotion gate (e.g. via `kubectl -n platform port-forward svc/promotion-gate 8080`), repeatable: its evidence of promoted and rolled-back canaries",
      ).argParser((v: string, prev: string[] = []) => [...prev, v]),
    )
    .addOption(new Option('--environments <dir>', 'directory of environment files').default('environments'))
    .action(async (o: { env: string; service?: string; version?: string; fromGate?: string[]; environments: string }) => {
      if (o.fromGate !== undefined) {
        if (o.service || o.version) {
          io.err('error: --from-gate records what the gate saw; it takes no --service or --version\n');
          return setExit(EXIT.usage);
        }
        return setExit(await (await import('./verify-gate.js')).verifyFromGate(io, { env: o.env, urls: o.fromGate, environments: o.environments }));
      }
      if (!o.service || !o.version) {
        io.err('error: verify needs --service and --version, or --from-gate <url>\n');
        return setExit(EXIT.usage);
      }
      const r = (await load()).recordVerified({ environmentsDir: o.environments, env: o.env, service: o.service, version: o.version, cwd: io.cwd });
      if (!r.ok) return setExit(reportDiagnostics(io, r.diagnostics));
      io.out(
        r.value.changed
          ? `recorded ${o.service} ${o.version} as verified on ${o.env} in ${relative(io.cwd, r.value.path)}\n`
          : `${o.service} ${o.version} was already verified on ${o.env}\n`,
      );
      setExit(EXIT.ok);
    });
}
