/**
 * `topoforge schema [--out FILE]`: the JSON Schema of environment files, with the options
 * schemas of the plugins the environments use, for editors (yaml-language-server reads
 * the `# yaml-language-server: $schema=…` line at the top of each file).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { reportDiagnostics } from './commands.js';
import { EXIT, type Io } from './io.js';

export function registerSchema(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('schema')
    .description('print (or write) the JSON Schema of environment files, plugin options included, for editors')
    .option('--out <file>', 'write the schema to this file instead of printing it')
    .option('--environments <dir>', 'directory of environment files (their plugins contribute option schemas)', 'environments')
    .action(async (o: { out?: string; environments: string }) => {
      const { schemaForEnvironments } = await import('@topoforge/engine');
      const r = await schemaForEnvironments(o.environments, { cwd: io.cwd });
      if (!r.ok) return setExit(reportDiagnostics(io, r.diagnostics));
      const text = JSON.stringify(r.value, null, 2) + '\n';
      if (o.out === undefined) io.out(text);
      else {
        try {
          writeFileSync(resolve(io.cwd, o.out), text);
        } catch (err) {
          io.err(`error: cannot write ${o.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
          return setExit(EXIT.error);
        }
        io.err(`wrote ${o.out}\n`);
      }
      setExit(EXIT.ok);
    });
}
