/** `node dist/write-docs.js <file>`: writes docs/errors.md from the catalog. */
import { writeFileSync } from 'node:fs';
import { errorsMarkdown } from './docs.js';

const target = process.argv[2];
if (!target) {
  process.stderr.write('usage: write-docs <file>\n');
  process.exitCode = 64;
} else writeFileSync(target, errorsMarkdown());
