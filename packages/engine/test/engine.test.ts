import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { definePlugin, Type, type PluginDefinition } from '@topoforge/plugin-sdk';
import { formatDiagnostic } from '@topoforge/model';
import { check, render, renderInMemory, listTree, sha256 } from '../src/index.js';
import { ENV } from './fixtures.js';

const cms = definePlugin({
  name: 'cms',
  description: 'one ConfigMap per service per DC',
  options: Type.Object({ greeting: Type.String({ default: 'hello' }) }, { additionalProperties: false }),
  render(ctx) {
    for (const dc of ctx.env.dataCenters) {
      for (const s of dc.services) {
        const svc = ctx.env.services.find((x) => x.name === s)!;
        ctx.object(
          { dc: dc.name },
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `${s}-settings`, namespace: svc.namespace },
            data: { greeting: ctx.options.greeting, version: svc.version },
          },
          { service: s },
        );
      }
    }
    ctx.template('notes/readme.txt', 'Environment {{env}} has {{count}} services.\n', { env: ctx.env.name, count: ctx.env.services.length });
  },
});

const tmp: string[] = [];
function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'topoforge-engine-'));
  tmp.push(dir);
  mkdirSync(join(dir, 'environments'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, 'environments', name), content);
  return dir;
}
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

const builtins = (...ps: PluginDefinition<never>[]) => ps as readonly PluginDefinition<never>[];
/**
 * Every file below `dir` by path and text; a state record (local knowledge, not output: see
 * STATE_DIR) with the date its render gave it and the index it was sealed with left out.
 */
const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(
    listTree(dir).map((p) => {
      const text = readFileSync(join(dir, p), 'utf8');
      if (!p.startsWith('.topoforge-state/') || !p.endsWith('.json')) return [p, text];
      const { dated, sealed, ...rest } = JSON.parse(text) as { dated?: unknown; sealed?: { ino?: unknown } };
      expect(typeof dated).toBe('number');
      expect(typeof sealed?.ino).toBe('number');
      return [p, JSON.stringify(rest)];
    }),
  );

describe('render', () => {
  it('writes one directory per environment with labels, an index with sha256 and plugin, and a summary of changes', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    const r = await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    const files = listTree(join(cwd, 'out', 'alpha'));
    expect(files).toEqual([
      'clusters/n1/cms/shop/configmap-shop-settings.yaml',
      'clusters/n1/cms/stock/configmap-stock-settings.yaml',
      'clusters/n2/cms/shop/configmap-shop-settings.yaml',
      'clusters/n2/cms/stock/configmap-stock-settings.yaml',
      'notes/readme.txt',
      'topoforge-index.json',
    ]);
    const cm = readFileSync(join(cwd, 'out/alpha/clusters/n2/cms/shop/configmap-shop-settings.yaml'), 'utf8');
    expect(cm).toBe(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-settings\n  namespace: shop\n  labels:\n    app.kubernetes.io/managed-by: topoforge\n    topoforge.io/dc: n2\n    topoforge.io/environment: alpha\n    topoforge.io/service: shop\ndata:\n  greeting: hello\n  version: "1.0.0"\n',
    );
    const index = JSON.parse(readFileSync(join(cwd, 'out/alpha/topoforge-index.json'), 'utf8'));
    expect(index.files).toHaveLength(5);
    expect(index.files[0]).toEqual({
      path: 'clusters/n1/cms/shop/configmap-shop-settings.yaml',
      plugin: 'cms',
      sha256: sha256(readFileSync(join(cwd, 'out/alpha', index.files[0].path), 'utf8')),
    });
    expect(r.value.changes).toEqual([
      expect.objectContaining({ environment: 'alpha', added: expect.arrayContaining(['notes/readme.txt']), changed: [], removed: [] }),
    ]);
  });

  it('is deterministic: two renders from different working directories are byte-identical', async () => {
    const a = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    const b = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    await render({ environmentsDir: 'environments', out: 'out', cwd: a, builtins: builtins(cms as PluginDefinition<never>) });
    await render({ environmentsDir: join(b, 'environments'), out: join(b, 'rendered'), cwd: tmpdir(), builtins: builtins(cms as PluginDefinition<never>) });
    expect(snapshot(join(b, 'rendered'))).toEqual(snapshot(join(a, 'out')));
    expect(JSON.stringify(snapshot(join(a, 'out')))).not.toContain(a);
  });

  it('touches only the changed service files when one service changes, and removes files no longer produced', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    const go = () => render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    await go();
    writeFileSync(
      join(cwd, 'environments/a.yaml'),
      ENV('alpha', '  cms: {}').replace(
        'stock: { kind: warehouse, image: r/stock, version: "1.0.0" }',
        'stock: { kind: warehouse, image: r/stock, version: "1.1.0" }',
      ),
    );
    const r = await go();
    expect(r.ok && r.value.changes[0]!.changed).toEqual([
      'clusters/n1/cms/stock/configmap-stock-settings.yaml',
      'clusters/n2/cms/stock/configmap-stock-settings.yaml',
      'topoforge-index.json',
    ]);
    // One of its files deleted by hand first: its directory, left empty, goes too (a fresh render has none).
    rmSync(join(cwd, 'out/alpha/clusters/n2/cms/stock/configmap-stock-settings.yaml'));
    writeFileSync(join(cwd, 'environments/a.yaml'), ENV('alpha', '  cms: {}').replace(/ {2}stock: .*\n/, ''));
    const r2 = await go();
    expect(r2.ok && r2.value.changes[0]!.removed).toEqual(['clusters/n1/cms/stock/configmap-stock-settings.yaml']);
    expect(existsSync(join(cwd, 'out/alpha/clusters/n1/cms/stock'))).toBe(false);
    expect(existsSync(join(cwd, 'out/alpha/clusters/n2/cms/stock'))).toBe(false);
    expect(existsSync(join(cwd, 'out/alpha/clusters/n2/cms/shop'))).toBe(true);
  });

  it('writes only what changed: other files keep their inode; a hand edit or a touch is caught by reading, not by trusting the index', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    const go = () => render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    await go();
    const out = join(cwd, 'out/alpha');
    const inodes = () => new Map(listTree(out).map((p) => [p, statSync(join(out, p)).ino]));
    const before = inodes();
    writeFileSync(
      join(cwd, 'environments/a.yaml'),
      ENV('alpha', '  cms: {}').replace(
        'stock: { kind: warehouse, image: r/stock, version: "1.0.0" }',
        'stock: { kind: warehouse, image: r/stock, version: "1.1.0" }',
      ),
    );
    await go();
    const after = inodes();
    const rewritten = [...after].filter(([p, ino]) => before.get(p) !== ino).map(([p]) => p);
    expect(rewritten.sort()).toEqual([
      'clusters/n1/cms/stock/configmap-stock-settings.yaml',
      'clusters/n2/cms/stock/configmap-stock-settings.yaml',
      'topoforge-index.json',
    ]);
    // A hand edit of the same length, made after the render: the index still vouches for the
    // old hash, but the file is newer than the index, so check reads it and render rewrites it.
    const edited = join(out, rewritten[0]!);
    const text = readFileSync(edited, 'utf8');
    writeFileSync(edited, text.replace('1.1.0', '9.9.9'));
    const c = await check({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    expect(c.ok && c.value[0]!.changed).toEqual([rewritten[0]]);
    const r = await go();
    expect(r.ok && r.value.changes[0]!.changed).toEqual([rewritten[0]]);
    expect(readFileSync(edited, 'utf8')).toBe(text);
    // A touch (newer, same content) is read, found equal, and neither reported nor rewritten.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(out, rewritten[1]!), later, later);
    const ino = statSync(join(out, rewritten[1]!)).ino;
    const r2 = await go();
    expect(r2.ok && r2.value.changes[0]!.changed).toEqual([]);
    expect(statSync(join(out, rewritten[1]!)).ino).toBe(ino);
  });

  it('an index reformatted by hand is still read (as JSON): the tree stays ours, and only the index is rewritten', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    const go = () => render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    await go();
    const index = join(cwd, 'out/alpha/topoforge-index.json');
    const canonical = readFileSync(index, 'utf8');
    for (const text of [JSON.stringify(JSON.parse(canonical), null, 4), JSON.stringify(JSON.parse(canonical))]) {
      writeFileSync(index, text);
      const r = await go();
      expect(r.ok && r.value.changes[0]).toMatchObject({ added: [], changed: ['topoforge-index.json'], removed: [] });
      expect(readFileSync(index, 'utf8')).toBe(canonical);
    }
    // Whole lines of the index as it was written, then more: not an index (it is not JSON either).
    writeFileSync(index, canonical + '{}\n');
    const r = await go();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.diagnostics[0]!.code).toBe('RENDER_FOREIGN_CONTENT');
    // Its files as written, then a second "files" that JSON takes instead: it lists none, so every file is foreign.
    writeFileSync(index, canonical.replace(/\n {2}\]\n\}\n$/, '\n  ],\n  "files": []\n}\n'));
    const r2 = await go();
    expect(!r2.ok && r2.diagnostics[0]!.message).toMatch(/holds 5 files topoforge did not write/);
  });

  it('updates in place when a file becomes a directory and back', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  shape: {}') });
    let asDirectory = false;
    const shape = definePlugin({
      name: 'shape',
      description: 'a path that is a file, then a directory',
      options: Type.Object({}),
      render(ctx) {
        if (asDirectory) ctx.file('notes/x/inside.txt', 'inside\n');
        else ctx.file('notes/x', 'a file\n');
        ctx.file('notes/keep.txt', 'kept\n');
      },
    }) as PluginDefinition<never>;
    const go = () => render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(shape) });
    expect((await go()).ok).toBe(true);
    asDirectory = true;
    const r = await go();
    expect(r.ok && r.value.changes[0]).toMatchObject({ added: ['notes/x/inside.txt'], removed: ['notes/x'] });
    expect(readFileSync(join(cwd, 'out/alpha/notes/x/inside.txt'), 'utf8')).toBe('inside\n');
    asDirectory = false;
    const back = await go();
    expect(back.ok && back.value.changes[0]).toMatchObject({ added: ['notes/x'], removed: ['notes/x/inside.txt'] });
    expect(readFileSync(join(cwd, 'out/alpha/notes/x'), 'utf8')).toBe('a file\n');
    expect(listTree(join(cwd, 'out/alpha')).sort()).toEqual(['notes/keep.txt', 'notes/x', 'topoforge-index.json']);
  });

  it('removes the directory of an environment that no longer exists, but only on a full render', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}'), 'b.yaml': ENV('beta', '  cms: {}') });
    const go = (only?: string[]) =>
      render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>), ...(only ? { only } : {}) });
    await go();
    rmSync(join(cwd, 'environments/b.yaml'));
    await go(['alpha']);
    expect(existsSync(join(cwd, 'out/beta'))).toBe(true);
    expect(readdirSync(join(cwd, 'out/.topoforge-state')).sort()).toEqual(['.gitignore', 'alpha.json', 'beta.json']);
    await go();
    expect(readdirSync(join(cwd, 'out')).filter((n) => n !== '.topoforge-state')).toEqual(['alpha']);
    // The pruned environment's state record goes with it.
    expect(readdirSync(join(cwd, 'out/.topoforge-state')).sort()).toEqual(['.gitignore', 'alpha.json']);
  });
});

describe('all or nothing', () => {
  const boom = definePlugin({
    name: 'boom',
    description: 'throws after cms ran',
    after: ['cms'],
    options: Type.Object({}),
    render(ctx) {
      ctx.file('partial.txt', 'half');
      throw new Error('kaboom');
    },
  });

  it('a plugin that throws mid-render leaves the earlier tree intact and names the plugin', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    const before = snapshot(join(cwd, 'out'));
    writeFileSync(join(cwd, 'environments/a.yaml'), ENV('alpha', '  cms: { options: { greeting: changed } }\n  boom: {}'));
    const r = await render({
      environmentsDir: 'environments',
      out: 'out',
      cwd,
      builtins: builtins(cms as PluginDefinition<never>, boom as PluginDefinition<never>),
    });
    expect(r.ok).toBe(false);
    const text = !r.ok ? r.diagnostics.map(formatDiagnostic).join('\n') : '';
    expect(text).toContain('error PLUGIN_THREW: [alpha] [plugin boom] threw during render: kaboom');
    expect(snapshot(join(cwd, 'out'))).toEqual(before);
  });

  it('an error in one environment writes nothing for any environment', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}'), 'b.yaml': ENV('beta', '  cms: { options: { greting: x } }') });
    const r = await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    expect(r.ok).toBe(false);
    const d = !r.ok ? r.diagnostics[0]! : undefined;
    expect(d).toMatchObject({
      code: 'PLUGIN_INVALID_OPTIONS',
      plugin: 'cms',
      position: { file: 'environments/b.yaml', line: 13 },
      hint: 'did you mean "greeting"?',
    });
    expect(existsSync(join(cwd, 'out'))).toBe(false);
  });

  it('a failure while staging the new tree leaves the previous tree as it was', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    const before = snapshot(join(cwd, 'out'));
    writeFileSync(join(cwd, 'environments/a.yaml'), ENV('alpha', '  cms: { options: { greeting: changed } }'));
    const r = await render({
      environmentsDir: 'environments',
      out: 'out',
      cwd,
      builtins: builtins(cms as PluginDefinition<never>),
      write: {
        beforeSwap: () => {
          throw new Error('disk full');
        },
      },
    });
    expect(!r.ok && r.diagnostics[0]!.code).toBe('RENDER_WRITE_FAILED');
    expect(snapshot(join(cwd, 'out'))).toEqual(before);
  });

  it('recovers a tree that a kill left half-swapped', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    const before = snapshot(join(cwd, 'out'));
    // Simulate a kill after "old → trash" and before "staged → place".
    mkdirSync(join(cwd, 'out/.topoforge-trash'));
    const { renameSync } = await import('node:fs');
    renameSync(join(cwd, 'out/alpha'), join(cwd, 'out/.topoforge-trash/alpha'));
    // a staging directory of a process that is gone
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    mkdirSync(join(cwd, `out/.topoforge-staging-${dead}-x/alpha`), { recursive: true });
    await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    expect(snapshot(join(cwd, 'out'))).toEqual(before);
    expect(readdirSync(join(cwd, 'out')).filter((n) => n !== '.topoforge-state')).toEqual(['alpha']);
  });

  it('removes what a render killed while writing its state record left, and only that', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    const state = join(cwd, 'out/.topoforge-state');
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    const leftovers = [`.alpha.json.tmp-${dead}-0a1b2c3d`, `.seal-${dead}-deadbeef`];
    // Another render's, still running (this process stands for it), and names that are not ours.
    const kept = [`.alpha.json.tmp-${process.ppid}-0a1b2c3d`, `.seal-${dead}-deadbeef.bak`, 'notes.txt'];
    for (const n of [...leftovers, ...kept]) writeFileSync(join(state, n), 'x');
    symlinkSync(join(cwd, 'environments/a.yaml'), join(state, `.seal-${dead}-00000000`));
    await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) });
    expect(readdirSync(state).sort()).toEqual(['.gitignore', `.seal-${dead}-00000000`, ...kept, 'alpha.json'].sort());
    // The link was not followed.
    expect(readFileSync(join(cwd, 'environments/a.yaml'), 'utf8')).toContain('alpha');
  });
});

describe('plugin contract enforcement', () => {
  const emitting = (name: string, fn: PluginDefinition<never>['hooks']['render'], after: string[] = []) =>
    ({ ...definePlugin({ name, description: name, after, options: Type.Object({}), render: () => {} }), hooks: { render: fn } }) as PluginDefinition<never>;
  const run = async (plugins: PluginDefinition<never>[], names = plugins.map((p) => `  ${p.name}: {}`).join('\n')) => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', names) });
    const r = await renderInMemory({ environmentsDir: 'environments', cwd, builtins: plugins });
    return r.ok ? '' : r.diagnostics.map(formatDiagnostic).join('\n');
  };

  it.each([
    ['../escape.yaml', 'leaves the environment directory'],
    ['/etc/passwd', 'the path is absolute'],
    ['a/../../b', 'leaves the environment directory'],
    ['topoforge-index.json', "engine's index"],
    ['.hidden/x', 'starts with "."'],
  ])('rejects the path %s', async (path, why) => {
    const text = await run([emitting('bad', (ctx) => ctx.file(path, 'x'))]);
    expect(text).toContain('PLUGIN_PATH_ESCAPE');
    expect(text).toContain('[plugin bad]');
    expect(text).toContain(why);
  });

  it('rejects two plugins writing one path, naming both', async () => {
    const text = await run([emitting('first', (ctx) => ctx.file('same.txt', 'a')), emitting('second', (ctx) => ctx.file('same.txt', 'b'))]);
    expect(text).toContain('error PLUGIN_PATH_CONFLICT: [alpha] [plugin second] writes "same.txt", which plugin "first" already wrote');
  });

  it('rejects objects without apiVersion, kind or metadata.name', async () => {
    const text = await run([emitting('bad', (ctx) => ctx.object({ environment: true }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } as never))]);
    expect(text).toContain('PLUGIN_INVALID_OBJECT');
    expect(text).toContain('without apiVersion, kind and metadata.name (ConfigMap/?)');
  });

  it("refuses a plain-text secret in a plugin's output, naming the file and field, never the value", async () => {
    const text = await run([
      emitting('leaky', (ctx) => {
        ctx.object(
          { environment: true },
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'conn' }, data: { url: 'postgres://app:Sup3r-s3cret@db:5432/app' } },
        );
        ctx.file('notes/token.txt', 'export API_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a\n');
      }),
    ]);
    expect(text).toContain(
      'error PLUGIN_PLAIN_SECRET: [alpha] [plugin leaky] environment/leaky/configmap-conn.yaml would hold a plain-text secret at data.url: looks like a URL with a password',
    );
    expect(text).toContain('notes/token.txt would hold a plain-text secret at line 1: looks like a GitHub token');
    expect(text).toContain('secretKeyRef');
    expect(text).not.toContain('Sup3r-s3cret');
    expect(text).not.toContain('ghp_16C7');
  });

  it('rejects an object for an unknown DC', async () => {
    const text = await run([emitting('bad', (ctx) => ctx.object({ dc: 'nowhere' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }))]);
    expect(text).toContain('emits for unknown data centre "nowhere"');
  });

  it('runs a plugin after those it names and lets it read their output', async () => {
    const seen: string[] = [];
    const reader = emitting(
      'aaa-reader',
      (ctx) => {
        seen.push(...ctx.emitted().map((e) => `${e.plugin}:${e.path}`));
      },
      ['zzz-writer'],
    );
    const writer = emitting('zzz-writer', (ctx) => ctx.file('w.txt', 'w'));
    expect(await run([reader, writer])).toBe('');
    expect(seen).toEqual(['zzz-writer:w.txt']);
  });

  it('rejects an ordering cycle and a template referencing a missing field', async () => {
    const a = emitting('a', () => {}, ['b']);
    const b = emitting('b', () => {}, ['a']);
    expect(await run([a, b])).toContain('PLUGIN_ORDER_CYCLE');
    expect(await run([emitting('t', (ctx) => ctx.template('x.txt', '{{missing}}', {}))])).toContain('PLUGIN_TEMPLATE_ERROR');
  });

  it('reports a plugin that cannot be found with the environment file position', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  no-such-plugin: {}') });
    const r = await renderInMemory({ environmentsDir: 'environments', cwd });
    expect(!r.ok && formatDiagnostic(r.diagnostics[0]!)).toMatch(
      /^environments\/a\.yaml:13:3: error PLUGIN_NOT_FOUND: \[plugin no-such-plugin\] cannot find plugin package @topoforge\/plugin-no-such-plugin/,
    );
  });
});

describe('check', () => {
  it('lists drift and is clean right after a render', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    const args = { environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) };
    await render(args);
    const clean = await check(args);
    expect(clean.ok && clean.value.every((c) => c.added.length + c.changed.length + c.removed.length === 0)).toBe(true);
    writeFileSync(join(cwd, 'out/alpha/notes/readme.txt'), 'edited by hand');
    writeFileSync(join(cwd, 'out/alpha/extra.txt'), 'x');
    const drift = await check(args);
    expect(drift.ok && drift.value[0]).toMatchObject({ changed: ['notes/readme.txt'], removed: ['extra.txt'], added: [] });
  });

  it('finds a same-size hand edit committed to the tree in a fresh checkout, where every file is as new as the index', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    const args = { environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) };
    await render(args);
    // A commit edits one file by hand (same length) and leaves the index alone; a pull-request
    // pipeline clones it: git writes the files in path order, the index after the clusters/.
    const rel = 'clusters/n1/cms/shop/configmap-shop-settings.yaml';
    const text = readFileSync(join(cwd, 'out/alpha', rel), 'utf8');
    const repo = join(cwd, 'gitops');
    mkdirSync(repo);
    execFileSync('git', ['init', '-q'], { cwd: repo });
    execFileSync('cp', ['-r', join(cwd, 'out/alpha'), join(repo, 'alpha')]);
    writeFileSync(join(repo, 'alpha', rel), text.replace('hello', 'HELLO'));
    execFileSync('git', ['add', '-A'], { cwd: repo });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'hand edit'], { cwd: repo });
    const clone = join(cwd, 'clone');
    execFileSync('git', ['clone', '-q', repo, clone]);
    expect(statSync(join(clone, 'alpha', rel)).mtimeMs).toBeLessThanOrEqual(statSync(join(clone, 'alpha/topoforge-index.json')).mtimeMs);
    const drift = await check({ ...args, out: 'clone' });
    expect(drift.ok && drift.value[0]?.changed).toEqual([rel]);
    // render restores it (the clone's files are not trusted either)
    const r = await render({ ...args, out: 'clone' });
    expect(r.ok && r.value.changes[0]?.changed).toEqual([rel]);
    expect(readFileSync(join(clone, 'alpha', rel), 'utf8')).toBe(text);
  });

  it('neither reports nor deletes a node_modules directory installed inside the output (npm ci in the Pulumi project)', async () => {
    const cwd = workspace({ 'a.yaml': ENV('alpha', '  cms: {}') });
    const args = { environmentsDir: 'environments', out: 'out', cwd, builtins: builtins(cms as PluginDefinition<never>) };
    await render(args);
    const installed = join(cwd, 'out/alpha/notes/node_modules/pkg');
    mkdirSync(installed, { recursive: true });
    writeFileSync(join(installed, 'package.json'), '{"name":"pkg"}');
    const clean = await check(args);
    expect(clean.ok && clean.value.every((c) => c.added.length + c.changed.length + c.removed.length === 0)).toBe(true);
    const again = await render(args);
    expect(again.ok && again.value.changes[0]).toMatchObject({ added: [], changed: [], removed: [] });
    expect(readFileSync(join(installed, 'package.json'), 'utf8')).toBe('{"name":"pkg"}');
    // a stray file beside it is still drift, and a rendered file inside node_modules is not a thing
    writeFileSync(join(cwd, 'out/alpha/notes/stray.txt'), 'x');
    const drift = await check(args);
    expect(drift.ok && drift.value[0]).toMatchObject({ removed: ['notes/stray.txt'] });
  });
});
