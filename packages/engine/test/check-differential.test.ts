/**
 * `check` against ground truth: a fresh render of the same environments into an empty
 * directory, compared byte for byte (the out root's dot files left out). Found by a randomized
 * differential run of the CLI (seeded): each case below is a wrong "up to date" from the record
 * (checkFromRecord) where a fresh render differs or fails; the last is a bounded seeded
 * property over perturbations check does answer correctly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, render } from '../src/index.js';
import { ENV as BASE, prng, treeOf } from './fixtures.js';

/** A plugin by path: one ConfigMap and one custom resource (example.com Widget) per service per DC; `extra` comes from an import. */
const PLUGIN = (importFrom: string) => `
import { extra } from '${importFrom}';
export default {
  $$type: 'topoforge.plugin', contract: 2, name: 'recorder', description: 'a ConfigMap and a Widget per service per DC',
  after: [], options: { type: 'object' }, policies: {}, review: [],
  hooks: {
    render(ctx) {
      for (const s of ctx.env.services)
        for (const dc of s.dataCenters) {
          ctx.object({ dc }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: s.name + '-version', namespace: s.namespace }, data: { version: s.version, extra } });
          ctx.object({ dc }, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: s.name, namespace: s.namespace }, spec: { size: 1 } });
        }
    },
  },
};
`;
const CRD = (required: string[]) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  names: { kind: Widget, plural: widgets }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: ${JSON.stringify(required)}
              properties: { size: { type: integer }, colour: { type: string } }
`;

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** environments/alpha.yaml naming the plugin package ../plugin (entry dist/index.mjs, importing ../lib/extra.mjs; no `files`). */
function workspace(version = '1.0.0'): string {
  const dir = mkdtempSync(join(tmpdir(), 'topoforge-check-differential-'));
  tmp.push(dir);
  mkdirSync(join(dir, 'environments'), { recursive: true });
  mkdirSync(join(dir, 'plugin/dist'), { recursive: true });
  mkdirSync(join(dir, 'plugin/lib'), { recursive: true });
  writeFileSync(join(dir, 'plugin/package.json'), JSON.stringify({ name: 'recorder', version: '1.0.0', type: 'module', main: 'dist/index.mjs' }));
  writeFileSync(join(dir, 'plugin/dist/index.mjs'), PLUGIN('../lib/extra.mjs'));
  writeFileSync(join(dir, 'plugin/lib/extra.mjs'), 'export const extra = "one";\n');
  writeFileSync(join(dir, 'environments/alpha.yaml'), env('alpha', version));
  return dir;
}
const env = (name: string, version = '1.0.0') =>
  BASE(name, '  recorder: { package: ../plugin }').replace('image: r/shop, version: "1.0.0"', `image: r/shop, version: "${version}"`);

/** An output tree, topoforge's own dot files at its root left out. */
const tree = (dir: string): Map<string, string> => treeOf(dir, false);

/** Ground truth: does a fresh render of the environments differ from `out` (for `only`, those environments)? undefined: the render fails. */
async function truth(cwd: string, extra: { only?: string[]; crds?: string[] } = {}): Promise<boolean | undefined> {
  const fresh = `fresh-${Math.random().toString(36).slice(2)}`;
  const r = await render({ environmentsDir: 'environments', out: fresh, cwd, ...extra });
  try {
    if (!r.ok) return undefined;
    const a = tree(join(cwd, fresh));
    const b = tree(join(cwd, 'out'));
    const inScope = (p: string) => !extra.only || extra.only.includes(p.split('/')[0]!);
    const keys = new Set([...a.keys(), ...b.keys()].filter(inScope));
    return [...keys].some((k) => a.get(k) !== b.get(k));
  } finally {
    rmSync(join(cwd, fresh), { recursive: true, force: true });
  }
}

/** check's answer: true drift, false up to date, undefined an error. */
async function checkSays(cwd: string, extra: { only?: string[]; crds?: string[] } = {}): Promise<boolean | undefined> {
  const r = await check({ environmentsDir: 'environments', out: 'out', cwd, ...extra });
  if (!r.ok) return undefined;
  return r.value.some((c) => c.added.length + c.changed.length + c.removed.length > 0);
}

/** `render` or `check` of the environments in a new node process (the engine's build), into or against `out`. */
function inChild(cwd: string, command: 'render' | 'check', out: string): { ok: boolean; changed?: string[] } {
  const engine = new URL('../dist/index.js', import.meta.url).href;
  const code = `const e = await import(${JSON.stringify(engine)});
const r = await e.${command}({ environmentsDir: 'environments', out: ${JSON.stringify(out)}, cwd: process.cwd() });
process.stdout.write(JSON.stringify(r.ok ? { ok: true, changed: (Array.isArray(r.value) ? r.value : r.value.changes ?? []).flatMap((c) => c.changed ?? []) } : { ok: false }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd, encoding: 'utf8' })) as { ok: boolean; changed?: string[] };
}

async function renderIn(cwd: string, extra: { only?: string[]; crds?: string[] } = {}): Promise<void> {
  const r = await render({ environmentsDir: 'environments', out: 'out', cwd, ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
}

const FILE = 'out/alpha/clusters/n1/recorder/shop/configmap-shop-version.yaml';

describe('check answers as a fresh render does', () => {
  it('a hand edit that changes a file size, its mtime set back before the record (tree.ts recordedRender: no size check)', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    const file = join(cwd, FILE);
    const { atime, mtime } = statSync(file);
    appendFileSync(file, '# edited\n');
    utimesSync(file, atime, mtime);
    expect(await truth(cwd)).toBe(true);
    // render itself sees it (PreviousTree compares the size): check must too.
    expect(await checkSays(cwd)).toBe(true);
  });

  it("an edit of a file the plugin's entry imports from outside the entry's directory (package.json without `files`)", async () => {
    const cwd = workspace();
    // In new processes: this one's module cache keeps the plugin's modules as first imported
    // (and its engine, from source, keys its records apart from the build's).
    expect(inChild(cwd, 'render', 'out').ok).toBe(true);
    expect(inChild(cwd, 'check', 'out')).toEqual({ ok: true, changed: [] });
    writeFileSync(join(cwd, 'plugin/lib/extra.mjs'), 'export const extra = "two";\n');
    expect(inChild(cwd, 'render', 'fresh').ok).toBe(true);
    const [fresh, out] = [tree(join(cwd, 'fresh')), tree(join(cwd, 'out'))];
    const differ = [...fresh.keys()].filter((k) => fresh.get(k) !== out.get(k)).map((k) => k.slice('alpha/'.length));
    expect(fresh.get(`alpha/${FILE.slice('out/alpha/'.length)}`)).toContain('extra: two');
    const checked = inChild(cwd, 'check', 'out');
    expect(checked.ok).toBe(true);
    expect(checked.changed).toEqual(differ.sort());
  });

  it('an edit of a base the environment extends inside environments/node_modules (a shared base installed as a package)', async () => {
    const cwd = workspace();
    mkdirSync(join(cwd, 'environments/node_modules/shared'), { recursive: true });
    writeFileSync(
      join(cwd, 'environments/node_modules/shared/base.yaml'),
      env('alpha')
        .replace('kind: Environment', 'kind: Base')
        .replace(/^name: .*\n/m, ''),
    );
    writeFileSync(join(cwd, 'environments/alpha.yaml'), 'kind: Environment\nname: alpha\nstage: staging\nextends: node_modules/shared/base.yaml\n');
    await renderIn(cwd);
    const base = join(cwd, 'environments/node_modules/shared/base.yaml');
    writeFileSync(base, readFileSync(base, 'utf8').replace('version: "1.0.0"', 'version: "2.0.0"'));
    expect(await truth(cwd)).toBe(true);
    expect(await checkSays(cwd)).toBe(true);
  });

  for (const where of ['.widgets.yaml', 'linked.yaml', 'node_modules/widgets.yaml'] as const) {
    it(`a CRD render reads but the key does not cover (${where}): check fails as the render does`, async () => {
      const cwd = workspace();
      const crds = join(cwd, 'crds');
      mkdirSync(join(crds, 'node_modules'), { recursive: true });
      const file = where === 'linked.yaml' ? join(cwd, 'widgets-elsewhere.yaml') : join(crds, where);
      writeFileSync(file, CRD(['size']));
      if (where === 'linked.yaml') symlinkSync(file, join(crds, where));
      await renderIn(cwd, { crds: ['crds'] });
      expect(await checkSays(cwd, { crds: ['crds'] })).toBe(false);
      // Now every Widget lacks a required field: a render fails.
      writeFileSync(file, CRD(['size', 'colour']));
      expect(await truth(cwd, { crds: ['crds'] })).toBe(undefined);
      expect(await checkSays(cwd, { crds: ['crds'] })).toBe(undefined);
    });
  }

  it("an earlier render's index and record copied back (a copy's mtime is new): not trusted", async () => {
    const cwd = workspace('1.0.0');
    await renderIn(cwd);
    for (const f of ['out/alpha/topoforge-index.json', 'out/.topoforge-state/alpha.json']) {
      mkdirSync(join(cwd, 'old', f, '..'), { recursive: true });
      writeFileSync(join(cwd, 'old', f), readFileSync(join(cwd, f)));
    }
    writeFileSync(join(cwd, 'environments/alpha.yaml'), env('alpha', '2.0.0'));
    await new Promise((r) => setTimeout(r, 20));
    await renderIn(cwd);
    // The inputs back as they were (a checkout), and the first render's index and record with them.
    writeFileSync(join(cwd, 'environments/alpha.yaml'), env('alpha', '1.0.0'));
    for (const f of ['out/alpha/topoforge-index.json', 'out/.topoforge-state/alpha.json']) writeFileSync(join(cwd, f), readFileSync(join(cwd, 'old', f)));
    expect(await truth(cwd)).toBe(true);
    expect(await checkSays(cwd)).toBe(true);
  });

  it('seeded property: perturbations of inputs and tree, check agrees with a fresh render', async () => {
    // The seed is in the failure message.
    const seed = 20240611;
    const random = prng(seed);
    const next = (n: number): number => Math.floor(random() * n);
    const perturb: ((cwd: string) => string)[] = [
      (cwd) => (writeFileSync(join(cwd, 'environments/alpha.yaml'), env('alpha', `1.0.${next(3)}`)), 'version'),
      (cwd) => (appendFileSync(join(cwd, 'environments/alpha.yaml'), next(2) ? '# comment\n' : '\n  \n'), 'comment/whitespace'),
      (cwd) => (writeFileSync(join(cwd, 'environments/notes.txt'), `n${next(9)}\n`), 'unrelated file'),
      (cwd) => (writeFileSync(join(cwd, 'environments/beta.yaml'), env('beta')), 'environment added'),
      (cwd) => (rmSync(join(cwd, 'environments/beta.yaml'), { force: true }), 'environment removed'),
      (cwd) => (writeFileSync(join(cwd, 'plugin/dist/index.mjs'), PLUGIN('../lib/extra.mjs') + `// ${next(9)}\n`), 'plugin entry'),
      (cwd) => (writeFileSync(join(cwd, FILE), readFileSync(join(cwd, FILE), 'utf8').replace(/version: .*/, `version: 9.9.${next(9)}`)), 'output edited'),
      (cwd) => (writeFileSync(join(cwd, FILE), readFileSync(join(cwd, FILE))), 'output rewritten with the same bytes'),
      (cwd) => (unlinkSync(join(cwd, FILE)), 'output removed'),
      (cwd) => (writeFileSync(join(cwd, 'out/alpha/stray.yaml'), 'x: 1\n'), 'stray file'),
    ];
    for (let i = 0; i < 10; i++) {
      const cwd = workspace();
      await renderIn(cwd);
      const done: string[] = [];
      for (let k = 1 + next(2); k > 0; k--) {
        const j = next(perturb.length);
        try {
          done.push(perturb[j]!(cwd));
        } catch {
          done.push('(not applicable)');
        }
      }
      const only = next(4) === 0 ? ['alpha'] : undefined;
      const extra = only ? { only } : {};
      expect(await checkSays(cwd, extra), `seed ${seed}, iteration ${i}: ${done.join(', ')}${only ? ' (--env alpha)' : ''}`).toBe(await truth(cwd, extra));
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);
});
