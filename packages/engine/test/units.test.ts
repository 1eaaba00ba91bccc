/**
 * Render units (issue 19): what a plugin's `renderService` writes for one service is carried
 * into the next render, unread and unwritten, while the service, the plugin and the host are
 * unchanged and the files are as they were written; anything else renders the unit again.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cpSync,
  existsSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePlugin, Type, type PluginDefinition } from '@topoforge/plugin-sdk';
import { render, check, listTree, unitSalt, type WriteOptions } from '../src/index.js';
import { ENV as BASE } from './fixtures.js';

/** The shared environment with the per-service plugin (and `extra` plugin entries), stock at version `stock`. */
const ENV = (stock = '1.0.0', extra = '') =>
  BASE('alpha', `  per-service: { package: ./plugins/per-service.mjs }${extra}`).replace(
    'image: r/stock, version: "1.0.0"',
    `image: r/stock, version: "${stock}"`,
  );

/**
 * A plugin package made by hand (a plain definition, no imports), loaded from a file so it has
 * a fingerprint. Every call of renderService is recorded on globalThis, where the test reads it.
 */
const PLUGIN = (marker = 'v1') => `
const calls = (globalThis.__unitCalls ??= []);
export default {
  $$type: 'topoforge.plugin', contract: 2, name: 'per-service', description: 'a ConfigMap per service per DC and a note per service',
  after: [], options: { type: 'object' }, policies: {}, review: [],
  hooks: {
    renderService(ctx) {
      calls.push(ctx.service.name);
      for (const dc of ctx.dataCenters)
        ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ctx.service.name + '-cfg', namespace: ctx.service.namespace }, data: { version: ctx.service.version, dc: dc.name, marker: '${marker}' } });
      ctx.file('notes/' + ctx.service.name + '.txt', ctx.service.name + ' runs ' + ctx.service.version + ' in ' + ctx.dataCenters.map((d) => d.name).join(', ') + '\\n');
    },
  },
};
`;

/** Set per pass below: staged files written on this thread, or all on the second thread (WriteBehind). */
let threads: WriteOptions = {};
const calls = (): string[] => ((globalThis as { __unitCalls?: string[] }).__unitCalls ??= []);
const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
  calls().length = 0;
});

function workspace(env: string, plugin = PLUGIN()): string {
  const dir = mkdtempSync(join(tmpdir(), 'topoforge-units-'));
  tmp.push(dir);
  mkdirSync(join(dir, 'environments/plugins'), { recursive: true });
  writeFileSync(join(dir, 'environments/alpha.yaml'), env);
  writeFileSync(join(dir, 'environments/plugins/per-service.mjs'), plugin);
  return dir;
}

const snapshot = (dir: string): Record<string, string> => Object.fromEntries(listTree(dir).map((p) => [p, readFileSync(join(dir, p), 'utf8')]));

async function go(cwd: string, builtins: readonly PluginDefinition<never>[] = []) {
  calls().length = 0;
  const r = await render({ environmentsDir: 'environments', out: 'out', cwd, builtins, write: threads });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return { change: r.value.changes[0]!, calls: [...calls()].sort() };
}

/** The same environments rendered from nothing, into a fresh output: what the carried tree must equal. */
async function fresh(cwd: string): Promise<Record<string, string>> {
  const other = mkdtempSync(join(tmpdir(), 'topoforge-units-fresh-'));
  tmp.push(other);
  cpSync(join(cwd, 'environments'), join(other, 'environments'), { recursive: true });
  const r = await render({ environmentsDir: 'environments', out: 'out', cwd: other, write: threads });
  expect(r.ok).toBe(true);
  return snapshot(join(other, 'out/alpha'));
}

for (const second of [false, true])
  describe(second ? 'render units, staged files written on the second thread' : 'render units', () => {
    beforeAll(() => {
      threads = second ? { writeBehindAfter: 0 } : {};
    });
    describe('render units', () => {
      it('a unit rendered again to the same text (its plugin changed, not its output) changes no file, non-ASCII text too', async () => {
        const cwd = workspace(ENV(), PLUGIN('größe ✓'));
        await go(cwd);
        // A comment changes the plugin's fingerprint: every unit is rendered again, to the same bytes.
        writeFileSync(join(cwd, 'environments/plugins/per-service.mjs'), PLUGIN('größe ✓') + '// changed\n');
        const again = await go(cwd);
        expect(again.calls).toEqual(['shop', 'stock']);
        expect(again.change).toMatchObject({ added: [], changed: [], removed: [], files: 7 });
      });

      it('renders each service once, then only the service that changed; the carried tree equals a fresh render', async () => {
        const cwd = workspace(ENV());
        const first = await go(cwd);
        expect(first.calls).toEqual(['shop', 'stock']);
        expect(first.change.added).toHaveLength(7); // 2 services × (2 ConfigMaps + 1 note) + the index
        expect(existsSync(join(cwd, 'out/.topoforge-state/alpha.json'))).toBe(true);
        const labels = readFileSync(join(cwd, 'out/alpha/clusters/n1/per-service/shop/configmap-shop-cfg.yaml'), 'utf8');
        expect(labels).toContain('topoforge.io/service: shop');

        const again = await go(cwd);
        expect(again.calls).toEqual([]);
        expect(again.change).toMatchObject({ added: [], changed: [], removed: [] });
        // Carried files count as files of the render (the 6 and the index).
        expect(first.change.files).toBe(7);
        expect(again.change.files).toBe(7);
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(await fresh(cwd));

        const inode = (p: string) => statSync(join(cwd, 'out/alpha', p)).ino;
        const shopFile = 'clusters/n1/per-service/shop/configmap-shop-cfg.yaml';
        const shopIno = inode(shopFile);
        writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV('2.0.0'));
        const one = await go(cwd);
        expect(one.calls).toEqual(['stock']);
        expect(one.change.changed).toEqual([
          'clusters/n1/per-service/stock/configmap-stock-cfg.yaml',
          'clusters/n2/per-service/stock/configmap-stock-cfg.yaml',
          'notes/stock.txt',
          'topoforge-index.json',
        ]);
        expect(inode(shopFile)).toBe(shopIno);
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(await fresh(cwd));
        // check (which never carries) agrees that the tree is what the environments render to.
        const c = await check({ environmentsDir: 'environments', out: 'out', cwd });
        expect(c.ok && c.value[0]).toMatchObject({ added: [], changed: [], removed: [] });
      });

      it("carries the units of two plugins: the state record, written a unit at a time, holds every plugin's", async () => {
        const second = PLUGIN('b').replace("name: 'per-service'", "name: 'per-service-b'").replace("'-cfg'", "'-cfg-b'").replace("'notes/' +", "'notes-b/' +");
        const cwd = workspace(ENV('1.0.0', '\n  per-service-b: { package: ./plugins/per-service-b.mjs }'));
        writeFileSync(join(cwd, 'environments/plugins/per-service-b.mjs'), second);
        expect((await go(cwd)).calls).toEqual(['shop', 'shop', 'stock', 'stock']);
        const record = JSON.parse(readFileSync(join(cwd, 'out/.topoforge-state/alpha.json'), 'utf8')) as { units: Record<string, Record<string, unknown>> };
        expect(Object.keys(record.units).sort()).toEqual(['per-service', 'per-service-b']);
        for (const byService of Object.values(record.units)) expect(Object.keys(byService).sort()).toEqual(['shop', 'stock']);
        const again = await go(cwd);
        expect(again.calls).toEqual([]);
        expect(again.change).toMatchObject({ added: [], changed: [], removed: [] });
        writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV('2.0.0', '\n  per-service-b: { package: ./plugins/per-service-b.mjs }'));
        expect((await go(cwd)).calls).toEqual(['stock', 'stock']);
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(await fresh(cwd));
      });

      it('records units larger than the buffer their lines are spilled through, after a unit that cannot be recorded', async () => {
        // shop: 1,400 files with long paths (~400 KB of lines, more than the 256 KB buffer), then an
        // object whose name holds a tab, which the record's line format cannot hold: shop is not
        // recorded, though much of it was spilled. stock: as many files, recorded after it.
        const long = 'x'.repeat(180);
        const plugin = PLUGIN().replace(
          'for (const dc of ctx.dataCenters)',
          `for (let i = 0; i < 1400; i++)
        ctx.object({ dc: 'n1' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ctx.service.name + '-' + i, namespace: ctx.service.namespace }, data: { i: String(i) } },
          { path: 'clusters/n1/many/' + ctx.service.name + '/${long}-' + i + '.yaml' });
      if (ctx.service.name === 'shop')
        ctx.object({ dc: 'n1' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tab\\tname', namespace: 'shop' }, data: {} }, { path: 'clusters/n1/tab.yaml' });
      else
        ctx.object({ dc: 'n1' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n'.repeat(300000), namespace: 'stock' }, data: {} }, { path: 'clusters/n1/huge.yaml' });
      for (const dc of ctx.dataCenters)`,
        );
        const cwd = workspace(ENV(), plugin);
        expect((await go(cwd)).calls).toEqual(['shop', 'stock']);
        const record = JSON.parse(readFileSync(join(cwd, 'out/.topoforge-state/alpha.json'), 'utf8')) as {
          units: Record<string, Record<string, { files: string }>>;
        };
        expect(Object.keys(record.units['per-service']!)).toEqual(['stock']);
        const lines = record.units['per-service']!.stock!.files.split('\n');
        // One line longer than the buffer itself (an object named by 300,000 characters), whole.
        expect(lines).toHaveLength(1400 + 1 + 3);
        const huge = lines.find((l) => l.startsWith('clusters/n1/huge.yaml\t')) ?? '';
        expect(huge.length).toBeGreaterThan(300_000);
        expect(huge.endsWith(`|stock|${'n'.repeat(300_000)}`)).toBe(true);
        expect(lines[0]).toMatch(new RegExp(`^clusters/n1/many/stock/${long}-0\\.yaml\\t\\d+\\t\\+n1\\|\\|ConfigMap\\|stock\\|stock-0$`));
        const again = await go(cwd);
        expect(again.calls).toEqual(['shop']);
        expect(again.change).toMatchObject({ added: [], changed: [], removed: [] });
        writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV('2.0.0'));
        const one = await go(cwd);
        expect(one.calls).toEqual(['shop', 'stock']);
        expect(one.change.changed).toHaveLength(2 + 1 + 1); // stock's two ConfigMaps, its note, the index
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(await fresh(cwd));
      });

      it('renders a unit again when one of its files was edited by hand, and restores it', async () => {
        const cwd = workspace(ENV());
        await go(cwd);
        const note = join(cwd, 'out/alpha/notes/shop.txt');
        const text = readFileSync(note, 'utf8');
        writeFileSync(note, text.replace('1.0.0', '6.6.6')); // same length, newer than the index
        const r = await go(cwd);
        expect(r.calls).toEqual(['shop']);
        expect(r.change.changed).toEqual(['notes/shop.txt']);
        expect(readFileSync(note, 'utf8')).toBe(text);
        // A touch alone (same content, newer) also voids the carry; the file is read, found equal, and kept.
        const later = new Date(Date.now() + 60_000);
        utimesSync(note, later, later);
        const t = await go(cwd);
        expect(t.calls).toEqual(['shop']);
        expect(t.change.changed).toEqual([]);
      });

      /** A first render; shop's note, its text and its times as written. */
      async function renderedNote(): Promise<{ cwd: string; note: string; text: string; atime: Date; mtime: Date }> {
        const cwd = workspace(ENV());
        await go(cwd);
        const note = join(cwd, 'out/alpha/notes/shop.txt');
        const { atime, mtime } = statSync(note);
        return { cwd, note, text: readFileSync(note, 'utf8'), atime, mtime };
      }

      it('renders a unit again when a file of it has another size, even dated back to when it was written', async () => {
        const { cwd, note, text, atime, mtime } = await renderedNote();
        writeFileSync(note, text + 'and more\n');
        utimesSync(note, atime, mtime); // as old as the record: only its size tells
        const r = await go(cwd);
        expect(r.calls).toEqual(['shop']);
        expect(r.change.changed).toEqual(['notes/shop.txt']);
        expect(readFileSync(note, 'utf8')).toBe(text);
      });

      it('renders every unit when the record does not belong to the index on disk, or the plugin code changed', async () => {
        const cwd = workspace(ENV());
        await go(cwd);
        const record = join(cwd, 'out/.topoforge-state/alpha.json');
        const saved = readFileSync(record, 'utf8');
        writeFileSync(record, saved.replace(/"index":"[0-9a-f]+"/, `"index":"${'0'.repeat(64)}"`));
        expect((await go(cwd)).calls).toEqual(['shop', 'stock']);
        writeFileSync(record, '{ not json');
        expect((await go(cwd)).calls).toEqual(['shop', 'stock']);
        expect((await go(cwd)).calls).toEqual([]);
        // A rebuilt plugin (another file content) is another fingerprint: nothing is carried.
        writeFileSync(join(cwd, 'environments/plugins/per-service.mjs'), PLUGIN('v1') + '\n// rebuilt\n');
        expect((await go(cwd)).calls).toEqual(['shop', 'stock']);
      });

      it('a Node runtime with other tz data (or another ICU, V8 or Node) is another salt: no unit is carried across it', () => {
        const cwd = workspace(ENV());
        const req = { environmentsDir: 'environments' };
        const here = unitSalt(req, cwd);
        expect(here).toMatch(/^[0-9a-f]{64}$/);
        expect(unitSalt(req, cwd, process.versions)).toBe(here);
        for (const k of ['tz', 'icu', 'v8', 'node', 'unicode'] as const)
          expect(unitSalt(req, cwd, { ...process.versions, [k]: `${process.versions[k] ?? ''}-other` }), k).not.toBe(here);
      });

      /**
       * Renders again (per-service carried) with a plugin `twin` that emits a ConfigMap `name` in
       * shop's namespace in n1: its diagnostics' codes, with the tree on disk unchanged.
       */
      async function renderTwin(cwd: string, name: string): Promise<{ codes: string[]; messages: string[] }> {
        const twin = definePlugin({
          name: 'twin',
          description: `emits the ConfigMap ${name}, which per-service already wrote`,
          options: Type.Object({}),
          render(ctx) {
            ctx.object({ dc: 'n1' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'shop' }, data: {} });
          },
        }) as PluginDefinition<never>;
        writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV('1.0.0', '\n  twin: {}'));
        const before = snapshot(join(cwd, 'out/alpha'));
        calls().length = 0;
        const r = await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: [twin], write: threads });
        expect(r.ok).toBe(false);
        expect(calls()).toEqual([]); // per-service was carried, and the conflict still found
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(before);
        return { codes: !r.ok ? r.diagnostics.map((d) => d.code) : [], messages: !r.ok ? r.diagnostics.map((d) => d.message) : [] };
      }

      it('still finds a conflict between a carried object and a new one, and writes nothing', async () => {
        const cwd = workspace(ENV());
        await go(cwd);
        expect((await renderTwin(cwd, 'shop-cfg')).codes).toContain('PLUGIN_OBJECT_CONFLICT');
      });

      it("finds a new file written at a carried file's path, told by the plugin that runs later, and writes nothing", async () => {
        const cwd = workspace(ENV());
        await go(cwd);
        // `twin` runs after per-service (ties go by name) and writes the note of shop's carried unit.
        const twin = definePlugin({
          name: 'twin',
          description: "writes shop's note, which per-service already wrote",
          options: Type.Object({}),
          render(ctx) {
            ctx.file('notes/shop.txt', 'mine\n');
          },
        }) as PluginDefinition<never>;
        writeFileSync(join(cwd, 'environments/alpha.yaml'), ENV('1.0.0', '\n  twin: {}'));
        const before = snapshot(join(cwd, 'out/alpha'));
        calls().length = 0;
        const r = await render({ environmentsDir: 'environments', out: 'out', cwd, builtins: [twin], write: threads });
        expect(calls()).toEqual([]);
        expect(!r.ok && r.diagnostics.map((d) => `${d.code} [${d.plugin}] ${d.message}`)).toEqual([
          'PLUGIN_PATH_CONFLICT [twin] writes "notes/shop.txt", which plugin "per-service" already wrote',
        ]);
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(before);
      });

      it("a carried file's document keeps its kind: a new object with its identity is a layout conflict, not two emitted objects", async () => {
        // shop's unit also writes a file under clusters/ holding a ConfigMap: a document of a file, not an emitted object.
        const plugin = PLUGIN().replace(
          "ctx.file('notes/' +",
          "if (ctx.service.name === 'shop') ctx.file('clusters/n1/docs/cm.yaml', 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: doc-cm\\n  namespace: shop\\n');\n      ctx.file('notes/' +",
        );
        const cwd = workspace(ENV(), plugin);
        await go(cwd);
        const { codes, messages } = await renderTwin(cwd, 'doc-cm');
        expect(codes).toContain('RENDER_LAYOUT_INVALID');
        expect(codes).not.toContain('PLUGIN_OBJECT_CONFLICT');
        expect(messages.some((m) => /ConfigMap shop\/doc-cm appears twice in DC n1/.test(m))).toBe(true);
      });

      it('renders a unit again when its record has a line it cannot read (no tab), and the tree still equals a fresh render', async () => {
        const cwd = workspace(ENV());
        await go(cwd);
        const record = join(cwd, 'out/.topoforge-state/alpha.json');
        const state = JSON.parse(readFileSync(record, 'utf8')) as { units: Record<string, Record<string, { files: string }>> };
        const shop = state.units['per-service']!.shop!;
        // The first line's fields run together: the path alone, with no size after it.
        shop.files = shop.files.replace(/^([^\t\n]*)\t[^\n]*/, '$1');
        expect(shop.files.split('\n')[0]).not.toContain('\t');
        // Its date kept: a record dated later than its render dated it is not read at all.
        const { atime, mtime } = statSync(record);
        writeFileSync(record, JSON.stringify(state));
        utimesSync(record, atime, mtime);
        const r = await go(cwd);
        expect(r.calls).toEqual(['shop']);
        expect(r.change).toMatchObject({ added: [], changed: [], removed: [] });
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(await fresh(cwd));
        expect((await go(cwd)).calls).toEqual([]);
      });

      it('renders a unit again when one of its files is now a link (of the same size, dated back), and writes a file there', async () => {
        const { cwd, note, text, atime, mtime } = await renderedNote();
        // A link whose target's path (relative, out of the output) is exactly as long as the note:
        // lstat gives the link the note's size.
        const relative = '../../../' + 'y'.repeat(Buffer.byteLength(text) - 9);
        const target = join(cwd, 'out/alpha/notes', relative);
        writeFileSync(target, text);
        rmSync(note);
        symlinkSync(relative, note);
        expect(lstatSync(note).size).toBe(Buffer.byteLength(text));
        lutimesSync(note, atime, mtime);
        const r = await go(cwd);
        expect(r.calls).toEqual(['shop']);
        expect(lstatSync(note).isFile()).toBe(true);
        expect(readFileSync(note, 'utf8')).toBe(text);
        expect(readFileSync(target, 'utf8')).toBe(text);
      });

      it("refuses output for a DC the service does not run in (the unit's key would not cover it)", async () => {
        const plugin = PLUGIN().replace('for (const dc of ctx.dataCenters)', "for (const dc of [{ name: 'n2' }, { name: 'n1' }])");
        const env = ENV().replace('stock: { kind: warehouse', 'stock: { kind: warehouse, placement: { dataCenters: [n1] }');
        const cwd = workspace(env, plugin);
        const r = await render({ environmentsDir: 'environments', out: 'out', cwd, write: threads });
        expect(r.ok).toBe(false);
        const d = !r.ok ? r.diagnostics.find((x) => x.code === 'PLUGIN_INVALID_OBJECT') : undefined;
        expect(d?.message).toMatch(/renderService of "stock" emits for data centre "n2"/);
      });
    });
  });
