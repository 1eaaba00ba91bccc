// Bundles TypeBox's ES modules into dist/index.js with rolldown (the bundler vitest already
// brings); the types stay TypeBox's own. Why: see package.json's description.
import { mkdirSync, writeFileSync } from 'node:fs';
import { rolldown } from 'rolldown';

const bundle = await rolldown({ input: '@sinclair/typebox', platform: 'node', logLevel: 'warn' });
await bundle.write({ file: 'dist/index.js', format: 'esm' });
await bundle.close();
mkdirSync('dist', { recursive: true });
writeFileSync('dist/index.d.ts', "export * from '@sinclair/typebox';\n");
