import { main } from './program.js';
import { processIo } from './io.js';
import { redactSecrets } from '@topoforge/secret-scan';

export function run(): void {
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`internal error: ${redactSecrets(String(err))}\n`);
      process.exitCode = 2;
    },
  );
}
