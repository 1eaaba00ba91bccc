#!/usr/bin/env node
// `pnpm pack:sdk DIR`: writes installable tarballs of every package a plugin project needs
// (the contract, the test harness and what they depend on) into DIR, plus sdk.json listing
// them. No @topoforge package is on a registry: a plugin project installs these with plain
// `npm install` (`topoforge plugin new NAME --sdk-from DIR` writes the file: dependencies).
// `pnpm pack` rewrites `workspace:*` to the packed versions, so the tarballs need no workspace.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// What a plugin project imports: plugin-contract, its tests plugin-testing (plugin-sdk for
// plugins written against the façade). Everything they depend on in the workspace is packed
// too, read from package.json, so a new dependency of the model cannot break the kit.
const ROOTS = ['@topoforge/plugin-contract', '@topoforge/plugin-testing', '@topoforge/plugin-sdk'];

const workspace = new Map();
for (const d of readdirSync(join(root, 'packages'))) {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8'));
    workspace.set(pkg.name, { dir: d, pkg });
  } catch {
    // not a package
  }
}
/** The packages to pack, dependencies first (packages/<dir> names). */
function closure() {
  const order = [];
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const w = workspace.get(name);
    if (!w) throw new Error(`${name} is not a package of this workspace`);
    for (const [dep, spec] of Object.entries(w.pkg.dependencies ?? {})) if (String(spec).startsWith('workspace:')) visit(dep);
    order.push(w.dir);
  };
  for (const r of ROOTS) visit(r);
  return order;
}
export const SDK_PACKAGES = closure();

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: pnpm pack:sdk DIR\n');
  process.exit(64);
}
const out = resolve(process.env.INIT_CWD ?? process.cwd(), dir);
mkdirSync(out, { recursive: true });
const packed = [];
for (const p of SDK_PACKAGES) {
  const pkgDir = join(root, 'packages', p);
  const { name, version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const r = spawnSync('pnpm', ['pack', '--pack-destination', out], { cwd: pkgDir, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`pnpm pack failed in packages/${p}:\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  const file = `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
  packed.push({ name, version, file });
}
writeFileSync(join(out, 'sdk.json'), JSON.stringify({ packages: packed }, null, 2) + '\n');
process.stdout.write(`packed ${packed.length} packages into ${dir}: ${packed.map((p) => p.file).join(', ')}\n`);
