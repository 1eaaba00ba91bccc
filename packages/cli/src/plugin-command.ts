/** `topoforge plugin new`: scaffolds a plugin package a team keeps in its own repository. */
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT, type Io } from './io.js';
import { scaffoldPlugin } from './scaffold.js';

export function registerPluginCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  const plugin = program.command('plugin').description('plugin authoring');
  plugin
    .command('new <name>')
    .description('scaffold a standalone plugin package (TypeScript, sample render, policy group, check, risk rule, tests, README)')
    .requiredOption('--dir <dir>', 'where to create it (must not exist or be empty)')
    .option('--sdk-from <dir>', 'install the @topoforge packages from the tarballs `pnpm pack:sdk <dir>` wrote')
    .action((name: string, o: { dir: string; sdkFrom?: string }) => {
      const r = scaffoldPlugin(name, resolve(io.cwd, o.dir), o.sdkFrom !== undefined ? resolve(io.cwd, o.sdkFrom) : undefined);
      if (!r.ok) {
        io.err(`error: ${r.message}\n`);
        return setExit(EXIT.usage);
      }
      const shown = relative(io.cwd, r.dir);
      io.out(`created ${shown.startsWith('..') ? r.dir : shown || '.'}: ${r.files.join(', ')}\n`);
      io.out(`next: cd ${o.dir} && npm install && npm test && npm run build\n`);
      setExit(EXIT.ok);
    });
}
