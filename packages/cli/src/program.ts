/**
 * Command-line parsing with commander (well kept, generates help, validates options);
 * commands are thin: they call the engine and turn diagnostics into text and exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { redactSecrets } from '@topoforge/secret-scan';
import { printableLines } from '@topoforge/model/core';
import { checkCommand, planCommand, renderCommand } from './commands.js';
import { EXIT, type Io } from './io.js';
import { registerGitops } from './gitops-command.js';
import { registerPromote } from './promote-command.js';
import { registerDrill } from './drill-command.js';
import { registerSandbox } from './sandbox-command.js';
import { registerSchema } from './schema-command.js';
import { registerPluginCommands } from './plugin-command.js';
import { registerExplain } from './explain-command.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('topoforge')
    .description('Render GitOps configuration for a distributed platform from one topology model.')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const envOpt = () => new Option('--env <name>', 'only this environment (repeatable)').argParser(collect);
  const envsOpt = () => new Option('--environments <dir>', 'directory of environment files').default('environments');
  const outOpt = () => new Option('--out <dir>', 'output directory').default('out');
  const crdsOpt = () =>
    new Option(
      '--crds <dir>',
      'validate emitted custom resources against the CRDs in this directory before writing (repeatable; default: TOPOFORGE_CRDS)',
    ).argParser(collect);

  program
    .command('render')
    .description('render every environment (or --env) into the output directory, all or nothing')
    .addOption(envOpt())
    .addOption(outOpt())
    .addOption(envsOpt())
    .option('--adopt', 'replace content in the output that topoforge did not write (or rendered from another environments directory)')
    .addOption(crdsOpt())
    .action(async (o: { env?: string[]; out: string; environments: string; adopt?: boolean; crds?: string[] }) => setExit(await renderCommand(io, o)));

  program
    .command('check')
    .description('render in memory and list every file that differs from the output directory (exit 1 on drift)')
    .addOption(envOpt())
    .addOption(outOpt())
    .addOption(envsOpt())
    .addOption(crdsOpt())
    .action(async (o: { env?: string[]; out: string; environments: string; crds?: string[] }) => setExit(await checkCommand(io, o)));

  program
    .command('plan')
    .description('print the resolved model: placement, recovery order and plugin sections')
    .addOption(envOpt())
    .addOption(envsOpt())
    .option('--month <yyyy-mm>', 'month for calendars (default: the next 31 days)')
    .option('--from <yyyy-mm-dd>', 'first day of calendars (default: today)')
    .option('--html <file>', 'write the visual plan of one --env as a self-contained HTML page (calendar: --month, default this month)')
    .action(async (o: { env?: string[]; environments: string; month?: string; from?: string; html?: string }) =>
      setExit(o.html !== undefined ? await (await import('./html-command.js')).planHtmlCommand(io, { ...o, html: o.html }) : await planCommand(io, o)),
    );

  registerGitops(program, io, setExit);
  registerPromote(program, io, setExit);
  registerDrill(program, io, setExit);
  registerSandbox(program, io, setExit);
  registerSchema(program, io, setExit);
  registerPluginCommands(program, io, setExit);
  registerExplain(program, io, setExit);

  return program;
}

/**
 * Everything the CLI prints passes through redaction (no credential reaches a terminal or a CI
 * log) and has its control characters escaped but for newline and tab (a file name or a key in
 * a message cannot drive the terminal; diagnostics escape their newlines too, see formatDiagnostic).
 */
function redacting(io: Io): Io {
  return { ...io, out: (t) => io.out(printableLines(redactSecrets(t))), err: (t) => io.err(printableLines(redactSecrets(t))) };
}

/** Runs the CLI in-process; returns the exit code. */
export async function main(argv: readonly string[], rawIo: Io): Promise<number> {
  const io = redacting(rawIo);
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    // Not a coded error: a bug. Say so in one line (no stack trace for users; TOPOFORGE_DEBUG=1 shows it).
    io.err(
      `internal error: ${process.env.TOPOFORGE_DEBUG ? ((err as Error).stack ?? String(err)) : ((err as Error).message ?? String(err))}\n    hint: this is a bug in topoforge; please report it with the command you ran\n`,
    );
    return EXIT.error;
  }
  return code;
}
