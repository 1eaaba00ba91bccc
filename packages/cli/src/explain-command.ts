/** `topoforge explain CODE`: what an error code means and what to do, from the error catalog. */
import type { Command } from 'commander';
import { explainCode, similarCodes } from '@topoforge/errors';
import { EXIT, type Io } from './io.js';

export function registerExplain(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('explain <code>')
    .description('what an error code means and what to do about it (the catalog docs/errors.md is generated from)')
    .action((code: string) => {
      const text = explainCode(code);
      if (text === undefined) {
        const near = similarCodes(code);
        io.err(`error: no error code ${code}${near.length ? `; did you mean ${near.join(', ')}?` : ''} (every code is listed in docs/errors.md)\n`);
        return setExit(EXIT.usage);
      }
      io.out(`${text}\n`);
      setExit(EXIT.ok);
    });
}
