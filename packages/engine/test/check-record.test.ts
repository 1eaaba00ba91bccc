/**
 * `check` answers from the record of the render that wrote the tree when nothing it would read
 * has changed (issue 19: the bundled check under 0.5 s), and renders and compares whenever
 * anything has: an environment file, a plugin's code or resolution, the CRDs, the tree itself.
 * Each case also runs the full check (the record removed) and expects the very same answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, render, STATE_DIR } from '../src/index.js';
import { ENV as BASE } from './fixtures.js';

const ENV = (name = 'alpha', version = '1.0.0') =>
  BASE(name, '  recorder: { package: ./plugins/recorder.mjs }').replace('image: r/shop, version: "1.0.0"', `image: r/shop, version: "${version}"`);

/** A plugin by path (so it has a fingerprint); every render call is counted on globalThis. */
const PLUGIN = `
export default {
  $$type: 'topoforge.plugin', contract: 2, name: 'recorder', description: 'a ConfigMap per service per DC',
  after: [], options: { type: 'object' }, policies: {}, review: [],
  hooks: {
    render(ctx) {
      globalThis.__recorderCalls = (globalThis.__recorderCalls ?? 0) + 1;
      globalThis.__recorderDuring?.();
      for (const s of ctx.env.services)
        for (const dc of s.dataCenters)
          ctx.object({ dc }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: s.name + '-version', namespace: s.namespace }, data: { version: s.version } });
    },
  },
};
`;

/** One rendered file: shop's ConfigMap in n1. */
const SHOP = 'clusters/n1/recorder/shop/configmap-shop-version.yaml';

const calls = (): number => (globalThis as { __recorderCalls?: number }).__recorderCalls ?? 0;
const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

function workspace(files: Record<string, string> = { 'alpha.yaml': ENV() }): string {
  const dir = mkdtempSync(join(tmpdir(), 'topoforge-check-record-'));
  tmp.push(dir);
  mkdirSync(join(dir, 'environments/plugins'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'environments', name), text);
  writeFileSync(join(dir, 'environments/plugins/recorder.mjs'), PLUGIN);
  return dir;
}

async function renderIn(cwd: string): Promise<void> {
  const r = await render({ environmentsDir: 'environments', out: 'out', cwd });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
}

/** check's answer, and whether it rendered (called the plugin) to give it. */
async function checked(cwd: string, extra: { only?: string[]; crds?: string[] } = {}) {
  const before = calls();
  const r = await check({ environmentsDir: 'environments', out: 'out', cwd, ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return { changes: r.value, rendered: calls() > before };
}

/** The same check with the record moved away (every file read and compared), the record put back after. */
async function fullCheck(cwd: string, extra: { only?: string[]; crds?: string[] } = {}) {
  const state = join(cwd, 'out', STATE_DIR);
  const aside = join(cwd, 'state-aside');
  // Times kept (`cp -a`): a record with a later mtime than its render gave it is a copy, not trusted.
  cpSync(state, aside, { recursive: true, preserveTimestamps: true });
  rmSync(state, { recursive: true, force: true });
  try {
    const r = await checked(cwd, extra);
    expect(r.rendered).toBe(true);
    return r.changes;
  } finally {
    cpSync(aside, state, { recursive: true, preserveTimestamps: true });
    rmSync(aside, { recursive: true, force: true });
  }
}

describe('check from the render record', () => {
  it('right after a render: up to date without rendering, with the same counts as the full check', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    const r = await checked(cwd);
    expect(r.rendered).toBe(false);
    expect(r.changes).toEqual(await fullCheck(cwd));
    expect(r.changes).toEqual([{ environment: 'alpha', added: [], changed: [], removed: [], files: 5 }]);
    // --env of a recorded environment answers from the record too.
    expect((await checked(cwd, { only: ['alpha'] })).rendered).toBe(false);
  });

  it('renders and compares after an edit of an environment file, whether or not the output changes', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV('alpha', '2.0.0'));
    const bumped = await checked(cwd);
    expect(bumped.rendered).toBe(true);
    expect(bumped.changes[0]!.changed).toEqual([SHOP, 'clusters/n2/recorder/shop/configmap-shop-version.yaml', 'topoforge-index.json']);
    writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV() + '# a comment\n');
    const comment = await checked(cwd);
    expect(comment.rendered).toBe(true);
    expect(comment.changes[0]!.changed).toEqual([]);
    // Another file in the directory (every environment may read every other): rendered too.
    writeFileSync(join(cwd, 'environments/notes.txt'), 'not an environment\n');
    expect((await checked(cwd)).rendered).toBe(true);
  });

  it("renders and compares when a plugin's code changed, or a file its package publishes (templates read at run time)", async () => {
    const cwd = workspace();
    await renderIn(cwd);
    appendFileSync(join(cwd, 'environments/plugins/recorder.mjs'), '// rebuilt\n');
    expect((await checked(cwd)).rendered).toBe(true);
    // A package whose entry is dist/ and which reads ../templates: `files` names both.
    const pkg = join(cwd, 'recorder-package');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    mkdirSync(join(pkg, 'templates'));
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'recorder-package', type: 'module', main: 'dist/index.mjs', files: ['dist', 'templates'] }),
    );
    writeFileSync(join(pkg, 'dist/index.mjs'), PLUGIN);
    writeFileSync(join(pkg, 'templates/note.hbs'), 'v1\n');
    writeFileSync(join(cwd, 'environments/alpha.yaml'), BASE('alpha', '  recorder: { package: ../recorder-package }'));
    await renderIn(cwd);
    expect((await checked(cwd)).rendered).toBe(false);
    writeFileSync(join(pkg, 'templates/note.hbs'), 'v2\n');
    expect((await checked(cwd)).rendered).toBe(true);
  });

  it('renders and compares when the environments directory holds a link, or an environment extends a file outside it', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    // A dot file is read by the loader too (`.x.yaml`): part of the key.
    writeFileSync(join(cwd, 'environments/.notes'), 'x\n');
    expect((await checked(cwd)).rendered).toBe(true);
    await renderIn(cwd);
    expect((await checked(cwd)).rendered).toBe(false);
    symlinkSync(join(cwd, 'environments/.notes'), join(cwd, 'environments/notes-link'));
    await renderIn(cwd);
    expect((await checked(cwd)).rendered).toBe(true);
    unlinkSync(join(cwd, 'environments/notes-link'));
    // extends: a base outside the directory, which the key does not cover.
    writeFileSync(
      join(cwd, 'base.yaml'),
      ENV()
        .replace('kind: Environment', 'kind: Base')
        .replace(/^name: .*\n/m, ''),
    );
    writeFileSync(join(cwd, 'environments/alpha.yaml'), 'kind: Environment\nname: alpha\nextends: ../base.yaml\n');
    await renderIn(cwd);
    expect((await checked(cwd)).rendered).toBe(true);
  });

  it('renders and compares when a file of the tree was edited, removed or added, and reports it as the full check does', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    const file = join(cwd, 'out/alpha', SHOP);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('1.0.0', '9.9.9'));
    const edited = await checked(cwd);
    expect(edited.rendered).toBe(true);
    expect(edited.changes[0]!.changed).toEqual([SHOP]);
    expect(edited.changes).toEqual(await fullCheck(cwd));
    writeFileSync(file, text);
    unlinkSync(file);
    const removed = await checked(cwd);
    expect(removed.rendered).toBe(true);
    expect(removed.changes[0]!.added).toEqual([SHOP]);
    await renderIn(cwd);
    writeFileSync(join(cwd, 'out/alpha/clusters/n1/recorder/extra.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n');
    const added = await checked(cwd);
    expect(added.rendered).toBe(true);
    expect(added.changes[0]!.removed).toEqual(['clusters/n1/recorder/extra.yaml']);
  });

  it('renders and compares when an older copy of a file was restored over it, its mtime and size kept (cp -p); render restores it', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    const file = join(cwd, 'out/alpha', SHOP);
    const older = join(cwd, 'older.yaml');
    cpSync(file, older, { preserveTimestamps: true });
    // A version of the same length: the file keeps its size.
    writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV('alpha', '1.0.1'));
    await renderIn(cwd);
    expect(readFileSync(file, 'utf8')).toContain('1.0.1');
    cpSync(older, file, { preserveTimestamps: true });
    expect(statSync(file).size).toBe(statSync(older).size);
    expect(statSync(file).mtimeMs).toBe(statSync(older).mtimeMs);
    const c = await checked(cwd);
    expect(c.rendered).toBe(true);
    expect(c.changes[0]!.changed).toEqual([SHOP]);
    expect(c.changes).toEqual(await fullCheck(cwd));
    const r = await render({ environmentsDir: 'environments', out: 'out', cwd });
    expect(r.ok && r.value.changes[0]!.changed).toEqual([SHOP]);
    expect(readFileSync(file, 'utf8')).toContain('1.0.1');
  });

  it('renders and compares when the record was copied, its times kept, from another output of the same model (the same index text)', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    const file = join(cwd, 'out/alpha', SHOP);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('1.0.0', '9.9.9'));
    // Rendered after the edit: its record is dated later than the edited file.
    await new Promise((done) => setTimeout(done, 20));
    expect((await render({ environmentsDir: 'environments', out: 'other', cwd })).ok).toBe(true);
    expect(readFileSync(join(cwd, 'other/alpha/topoforge-index.json'), 'utf8')).toBe(readFileSync(join(cwd, 'out/alpha/topoforge-index.json'), 'utf8'));
    cpSync(join(cwd, 'other', STATE_DIR, 'alpha.json'), join(cwd, 'out', STATE_DIR, 'alpha.json'), { preserveTimestamps: true });
    const c = await checked(cwd);
    expect(c.rendered).toBe(true);
    expect(c.changes[0]!.changed).toEqual([SHOP]);
    const r = await render({ environmentsDir: 'environments', out: 'out', cwd });
    expect(r.ok && r.value.changes[0]!.changed).toEqual([SHOP]);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('renders and compares when the index is not the one the record was written beside (every file still as rendered)', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    const index = join(cwd, 'out/alpha/topoforge-index.json');
    const text = readFileSync(index, 'utf8');
    // A listed hash changed, the file it names untouched: only the index differs from the render's.
    const edited = text.replace(/"sha256": "[0-9a-f]{64}"/, `"sha256": "${'0'.repeat(64)}"`);
    expect(edited).not.toBe(text);
    writeFileSync(index, edited);
    const r = await checked(cwd);
    expect(r.rendered).toBe(true);
    expect(r.changes[0]!.changed).toEqual(['topoforge-index.json']);
    expect(r.changes).toEqual(await fullCheck(cwd));
  });

  it('renders and compares beside another rendered environment, with other CRDs, or when the record says nothing of its inputs', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    // A rendered environment no longer produced: the full check reports it.
    const other = workspace({ 'beta.yaml': ENV('beta') });
    await renderIn(other);
    cpSync(join(other, 'out/beta'), join(cwd, 'out/beta'), { recursive: true });
    const beside = await checked(cwd);
    expect(beside.rendered).toBe(true);
    expect(beside.changes.map((c) => [c.environment, c.removed.length > 0])).toEqual([
      ['alpha', false],
      ['beta', true],
    ]);
    rmSync(join(cwd, 'out/beta'), { recursive: true });
    expect((await checked(cwd)).rendered).toBe(false);
    // CRDs the render did not validate against.
    mkdirSync(join(cwd, 'crds'));
    expect((await checked(cwd, { crds: ['crds'] })).rendered).toBe(true);
    // A record without what the render read (an older topoforge wrote it).
    const record = join(cwd, 'out', STATE_DIR, 'alpha.json');
    const saved = JSON.parse(readFileSync(record, 'utf8')) as Record<string, unknown>;
    delete saved.inputs;
    writeFileSync(record, JSON.stringify(saved));
    expect((await checked(cwd)).rendered).toBe(true);
  });

  it('keeps no record when the environments directory changed while the render read it', async () => {
    const cwd = workspace();
    // The plugin saves an edit of the environment file mid-render, as an editor might.
    const g = globalThis as { __recorderDuring?: () => void };
    g.__recorderDuring = () => appendFileSync(join(cwd, 'environments/alpha.yaml'), '# saved during the render\n');
    try {
      await renderIn(cwd);
    } finally {
      delete g.__recorderDuring;
    }
    const record = JSON.parse(readFileSync(join(cwd, 'out', STATE_DIR, 'alpha.json'), 'utf8')) as { inputs?: unknown };
    expect(record.inputs).toBeUndefined();
    expect((await checked(cwd)).rendered).toBe(true);
  });

  for (const thread of ['its own thread', 'the second thread'] as const)
    it(`a file edited by hand while a render runs is not vouched for by its record: check finds it and the next render restores it (written on ${thread})`, async () => {
      const cwd = workspace();
      await renderIn(cwd);
      const file = join(cwd, 'out/alpha', SHOP);
      const text = readFileSync(file, 'utf8');
      // Edited after the render walked the tree (before its swap): the same size, so only its mtime can tell.
      const during = await render({
        environmentsDir: 'environments',
        out: 'out',
        cwd,
        write: { beforeSwap: () => writeFileSync(file, text.replace('1.0.0', '9.9.9')) },
      });
      expect(during.ok && during.value.changes[0]!.changed).toEqual([]);
      const found = await checked(cwd);
      expect(found.rendered).toBe(true);
      expect(found.changes[0]!.changed).toEqual([SHOP]);
      const restored = await render({
        environmentsDir: 'environments',
        out: 'out',
        cwd,
        ...(thread === 'the second thread' ? { write: { writeBehindAfter: 0 } } : {}),
      });
      expect(restored.ok && restored.value.changes[0]!.changed).toEqual([SHOP]);
      expect(readFileSync(file, 'utf8')).toBe(text);
      // What that render wrote is dated before its record: the next check answers from the record.
      expect((await checked(cwd)).rendered).toBe(false);
      // By more than 2 s: still older where the file system keeps times to the second (2 s on FAT).
      expect(statSync(join(cwd, 'out', STATE_DIR, 'alpha.json')).mtimeMs - statSync(file).mtimeMs).toBeGreaterThan(2000);
    });

  it('renders and compares when a plugin package resolves to another file', async () => {
    // The plugin installed as a package in the workspace, then another copy beside the environments (resolved first).
    const cwd = workspace();
    const env = BASE('alpha', '  recorder: { package: recorder-plugin }');
    writeFileSync(join(cwd, 'environments/alpha.yaml'), env);
    const install = (dir: string) => {
      mkdirSync(join(cwd, dir), { recursive: true });
      writeFileSync(join(cwd, dir, 'package.json'), JSON.stringify({ name: 'recorder-plugin', version: '1.0.0', type: 'module', main: 'index.mjs' }));
      writeFileSync(join(cwd, dir, 'index.mjs'), PLUGIN);
    };
    install('node_modules/recorder-plugin');
    await renderIn(cwd);
    expect((await checked(cwd)).rendered).toBe(false);
    // The recorded file is still there, unchanged; the environment now resolves to another one.
    install('environments/node_modules/recorder-plugin');
    // Node caches resolutions for the life of a process; `topoforge check` is a new one.
    const pathCache = (Module as unknown as { _pathCache: Record<string, string> })._pathCache;
    for (const k of Object.keys(pathCache)) delete pathCache[k];
    expect((await checked(cwd)).rendered).toBe(true);
  });

  it('renders, and checks by rendering, when a file stands where the record directory goes (left as it is)', async () => {
    const cwd = workspace();
    await renderIn(cwd);
    const state = join(cwd, 'out', STATE_DIR);
    rmSync(state, { recursive: true });
    writeFileSync(state, 'not a directory\n');
    await renderIn(cwd);
    expect(readFileSync(state, 'utf8')).toBe('not a directory\n');
    const r = await checked(cwd);
    expect(r.rendered).toBe(true);
    expect(r.changes).toEqual([{ environment: 'alpha', added: [], changed: [], removed: [], files: 5 }]);
  });
});
