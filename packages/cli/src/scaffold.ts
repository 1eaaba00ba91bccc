/**
 * `topoforge plugin new NAME --dir D [--sdk-from DIR]`: a standalone plugin package
 * (TypeScript, one sample render, one policy group with its schema and check, one risk
 * rule, tests with the harness, README) whose `npm install`, `npm test` and `npm run build`
 * pass as generated. With --sdk-from, the @topoforge packages come from the tarballs of
 * `pnpm pack:sdk DIR` (file: dependencies); otherwise from a registry at this version.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDnsLabel } from '@topoforge/model/core';

const TEMPLATES = fileURLToPath(new URL('../templates/plugin/', import.meta.url));
/** What a plugin project installs directly; npm needs the contract's and the harness' own @topoforge dependencies at the top too when they come from tarballs. */
const RUNTIME = ['@topoforge/plugin-contract', '@topoforge/model', '@topoforge/errors'];
const DEV = ['@topoforge/plugin-testing', '@topoforge/plugin-host', '@topoforge/yaml-emit'];
const SDK_VERSION = '0.1.0';

export type ScaffoldResult = { ok: true; dir: string; files: string[] } | { ok: false; message: string };

const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function sdkSpecs(target: string, sdkFrom: string | undefined): Record<string, string> | string {
  if (!sdkFrom) return Object.fromEntries([...RUNTIME, ...DEV].map((n) => [n, SDK_VERSION]));
  let manifest: { packages: { name: string; file: string }[] };
  try {
    manifest = JSON.parse(readFileSync(join(sdkFrom, 'sdk.json'), 'utf8')) as typeof manifest;
  } catch {
    return `${sdkFrom} has no sdk.json: write it with \`pnpm pack:sdk ${sdkFrom}\` in the topoforge repository`;
  }
  const specs: Record<string, string> = {};
  const file = (f: string) => `file:${relative(target, join(sdkFrom, f)).split(sep).join('/')}`;
  for (const n of [...RUNTIME, ...DEV]) {
    const p = manifest.packages.find((x) => x.name === n);
    if (!p) return `${sdkFrom}/sdk.json lists no ${n}`;
    specs[n] = file(p.file);
  }
  // What those depend on (e.g. the model's safe-fs and secret-scan) is on no registry either:
  // listed too, so npm takes it from its tarball instead of asking the registry.
  for (const p of manifest.packages) if (!(p.name in specs) && p.name !== '@topoforge/plugin-sdk') specs[p.name] = file(p.file);
  return specs;
}

export function scaffoldPlugin(name: string, dir: string, sdkFrom?: string): ScaffoldResult {
  if (!isDnsLabel(name)) return { ok: false, message: `plugin name "${name}" is not a DNS-1123 label (lower-case letters, digits and "-")` };
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) return { ok: false, message: `${dir} exists and is not empty` };
  const specs = sdkSpecs(target, sdkFrom ? resolve(sdkFrom) : undefined);
  if (typeof specs === 'string') return { ok: false, message: specs };
  // The policy group is named after the plugin; the built-in plugins' groups keep their names.
  const group = ['backup', 'canary', 'trafficDrop', 'sessionCache'].includes(camel(name)) ? `${camel(name)}Quota` : camel(name);
  const fill = (text: string) => text.replaceAll('__NAME__', name).replaceAll('__GROUP__', group);
  const pick = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, specs[n]!]));
  const pkg = {
    name: `topoforge-plugin-${name}`,
    version: '0.1.0',
    description: `topoforge plugin ${name}: one ResourceQuota per service namespace per DC`,
    type: 'module',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist'],
    scripts: { build: 'tsc -p tsconfig.json', test: 'vitest run' },
    dependencies: { ...pick(RUNTIME), ...Object.fromEntries(Object.entries(specs).filter(([n]) => !RUNTIME.includes(n) && !DEV.includes(n))) },
    devDependencies: { ...pick(DEV), '@types/node': '^20.19.0', typescript: '6.0.3', vitest: '4.1.12' },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noUncheckedIndexedAccess: true,
      declaration: true,
      rootDir: 'src',
      outDir: 'dist',
      skipLibCheck: true,
      types: ['node'],
    },
    include: ['src'],
  };
  const files: Record<string, string> = {
    'package.json': JSON.stringify(pkg, null, 2) + '\n',
    'tsconfig.json': JSON.stringify(tsconfig, null, 2) + '\n',
    '.gitignore': readFileSync(join(TEMPLATES, 'gitignore.txt'), 'utf8'),
    'src/index.ts': fill(readFileSync(join(TEMPLATES, 'index.ts.txt'), 'utf8')),
    'test/plugin.test.ts': fill(readFileSync(join(TEMPLATES, 'plugin.test.ts.txt'), 'utf8')),
    'README.md': fill(readFileSync(join(TEMPLATES, 'README.md.txt'), 'utf8')),
    'vitest.config.ts': readFileSync(join(TEMPLATES, 'vitest.config.ts.txt'), 'utf8'),
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(target, path, '..'), { recursive: true });
    writeFileSync(join(target, path), content);
  }
  return { ok: true, dir: target, files: Object.keys(files).sort() };
}
