// Bundles dependencies that load as many small modules into one ES module each, with rolldown
// (the bundler vitest already brings). Their types stay the packages' own (dist/<name>.d.ts
// re-exports them). Measured on the bundled `check`: TypeBox is 200 modules, yaml 84,
// handlebars 57 with source-map; each bundle loads in a fraction of the time.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rolldown } from 'rolldown';

const require = createRequire(import.meta.url);
// A CommonJS package's names cannot be re-exported with `export *`: they are listed here,
// read from the package itself, so a new release's names come along.
const cjsNames = (pkg) => Object.keys(require(pkg)).filter((k) => k !== 'default' && k !== '__esModule');

const entries = {
  typebox: {
    source: "export * from '@sinclair/typebox';\n",
    types: "export * from '@sinclair/typebox';\n",
  },
  yaml: {
    source: `import YAML from 'yaml';\nexport default YAML;\nexport const { ${cjsNames('yaml').join(', ')} } = YAML;\n`,
    types: "export * from 'yaml';\nexport { default } from 'yaml';\n",
  },
  handlebars: {
    source: "export { default } from 'handlebars';\n",
    types: "import Handlebars from 'handlebars';\nexport default Handlebars;\n",
  },
};

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist/entries', { recursive: true });
for (const [name, { source, types }] of Object.entries(entries)) {
  writeFileSync(`dist/entries/${name}.mjs`, source);
  const bundle = await rolldown({ input: `./dist/entries/${name}.mjs`, platform: 'node', logLevel: 'warn' });
  await bundle.write({ file: `dist/${name}.js`, format: 'esm' });
  await bundle.close();
  writeFileSync(`dist/${name}.d.ts`, types);
}
rmSync('dist/entries', { recursive: true, force: true });
