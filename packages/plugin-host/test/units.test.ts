import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatDiagnostic, type Environment } from '@topoforge/model';
import { env } from './environment.js';
import { definePlugin, Type, type PluginDefinition, type RenderContext } from '@topoforge/plugin-contract';
import {
  checkDefinition,
  frozenCopy,
  pluginFingerprint,
  runPlugins,
  serviceView,
  streamPlugins,
  unitKey,
  type CarriedFile,
  type LoadedPlugin,
  type OutputFile,
  type UnitStore,
} from '../src/index.js';

const ENV = (webVersion = '1.0.0') => `kind: Environment
name: t
stage: staging
regions: { r: { timeZone: UTC, businessUnits: [] } }
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b-backups } }
  d2: { region: r, rotation: 2, cluster: { context: d2 }, backupStorage: { provider: aws, bucket: c-backups } }
services:
  web: { kind: front-application, image: r/web, version: "${webVersion}" }
  api: { kind: online-store, image: r/api, version: "2.0.0" }
`;

const seen: string[] = [];
const perService = definePlugin({
  name: 'per',
  description: 'one ConfigMap per service per DC, from renderService alone',
  options: Type.Object({}),
  renderService(ctx) {
    seen.push(ctx.service.name);
    for (const dc of ctx.dataCenters)
      ctx.object(
        { dc: dc.name },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${ctx.service.name}-cfg`, namespace: ctx.service.namespace },
          data: { v: ctx.service.version },
        },
      );
  },
}) as PluginDefinition<never>;
/** A plugin with a `render` hook alone and no options. */
const renderOnly = (name: string, description: string, render: (ctx: RenderContext<never>) => void): PluginDefinition<never> =>
  definePlugin({ name, description, options: Type.Object({}), render }) as PluginDefinition<never>;

const loaded = (definition: PluginDefinition<never>, fingerprint?: string): LoadedPlugin => ({
  definition,
  use: { name: definition.name, package: definition.name, options: {} },
  ...(fingerprint ? { fingerprint } : {}),
});

describe('renderService', () => {
  it('is a plugin of its own (no render hook needed); its objects carry the service label', async () => {
    expect(checkDefinition(perService, { name: 'per', package: 'per' })).toEqual([]);
    const none = { ...perService, hooks: {} };
    expect(checkDefinition(none, { name: 'per', package: 'per' })[0]?.message).toMatch(/has no render hook \(render or renderService\)/);
    seen.length = 0;
    const e = env(ENV());
    const r = await runPlugins(e, [loaded(perService)]);
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    expect(seen).toEqual(e.services.map((s) => s.name)); // once per service, in the model's order
    expect([...r.value.files.keys()]).toHaveLength(4);
    const web = r.value.emitted.find((e) => e.path === 'clusters/d1/per/web/configmap-web-cfg.yaml');
    expect(web?.type === 'object' && web.object.metadata.labels?.['topoforge.io/service']).toBe('web');
  });

  it('emits items with the service and the DC only when there are any, in a fixed member order, labelled to match', async () => {
    const both = definePlugin({
      name: 'both',
      description: 'objects and files, per service and for the environment',
      options: Type.Object({}),
      render(ctx) {
        ctx.object({ environment: true }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'env-wide' } });
        ctx.file('notes/env.txt', 'env\n');
        ctx.file('clusters/d2/both/f.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: f }\n', { dc: 'd2', service: 'api' });
      },
      renderService(ctx) {
        if (ctx.service.name !== 'web') return;
        ctx.object({ dc: 'd1' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-a', labels: { app: 'web' } } });
        ctx.object({ dc: 'd1' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-b' } }, { path: 'clusters/d1/both/b.yaml' });
        ctx.file('notes/web.txt', 'web\n');
        ctx.template('clusters/d1/both/t.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{n}} }\n', { n: 'tpl' }, { dc: 'd1' });
      },
    }) as PluginDefinition<never>;
    const r = await runPlugins(env(ENV()), [loaded(both)]);
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    const shape = Object.fromEntries(r.value.emitted.map((e) => [e.path, Object.keys(e).join(',')]));
    expect(shape).toEqual({
      'environment/both/namespace-env-wide.yaml': 'type,path,plugin,object',
      'notes/env.txt': 'type,path,plugin,content',
      'clusters/d2/both/f.yaml': 'type,path,plugin,content,service,dc',
      'clusters/d1/both/configmap-web-a.yaml': 'type,path,plugin,object,service,dc',
      'clusters/d1/both/b.yaml': 'type,path,plugin,object,service,dc',
      'notes/web.txt': 'type,path,plugin,content,service',
      'clusters/d1/both/t.yaml': 'type,path,plugin,content,service,dc',
    });
    const item = (path: string) => r.value.emitted.find((e) => e.path === path)!;
    expect(item('clusters/d2/both/f.yaml')).toMatchObject({ service: 'api', dc: 'd2' });
    expect(item('clusters/d1/both/t.yaml')).toMatchObject({ service: 'web', dc: 'd1' });
    const labels = (path: string) => {
      const e = item(path);
      return e.type === 'object' ? JSON.stringify(e.object.metadata.labels) : undefined;
    };
    expect(labels('environment/both/namespace-env-wide.yaml')).toBe('{"app.kubernetes.io/managed-by":"topoforge","topoforge.io/environment":"t"}');
    expect(labels('clusters/d1/both/configmap-web-a.yaml')).toBe(
      '{"app":"web","app.kubernetes.io/managed-by":"topoforge","topoforge.io/environment":"t","topoforge.io/service":"web","topoforge.io/dc":"d1"}',
    );
  });

  it("keys a unit by its service's view: another service's change leaves the key alone", () => {
    const a = env(ENV());
    const b = env(ENV('1.0.1'));
    const key = (e: Environment, s: string) =>
      unitKey(
        'salt',
        'fp',
        'per',
        {},
        serviceView(
          e,
          e.services.find((x) => x.name === s)!,
        ),
      );
    expect(key(a, 'api')).toBe(key(b, 'api'));
    expect(key(a, 'web')).not.toBe(key(b, 'web'));
    expect(unitKey('salt', 'fp2', 'per', {}, serviceView(a, a.services[0]!))).not.toBe(unitKey('salt', 'fp', 'per', {}, serviceView(a, a.services[0]!)));
    expect(serviceView(a, a.services[0]!).dataCenters.every((d) => !('services' in d))).toBe(true);
  });

  it('does not call the plugin for a unit the store carries, and claims its paths (a second writer of one is refused)', async () => {
    const e = env(ENV());
    const files: OutputFile[] = [];
    const asked: string[] = [];
    const carriedApi: CarriedFile[] = [{ path: 'clusters/d1/per/api/configmap-api-cfg.yaml', layout: [{ id: 'd1||ConfigMap|api|api-cfg', object: true }] }];
    const store = {
      salt: 's',
      carry: (plugin: string, service: string) => {
        asked.push(`${plugin}/${service}`);
        return service === 'api' ? { count: carriedApi.length, files: () => carriedApi } : undefined;
      },
    };
    seen.length = 0;
    const r = await streamPlugins(e, [loaded(perService, 'fp')], (f) => void files.push(f), { units: store });
    expect(r.ok).toBe(true);
    expect(asked.sort()).toEqual(['per/api', 'per/web']);
    expect(seen).toEqual(['web']);
    expect(files.map((f) => f.path).sort()).toEqual(['clusters/d1/per/web/configmap-web-cfg.yaml', 'clusters/d2/per/web/configmap-web-cfg.yaml']);
    expect(files.every((f) => f.unit?.service === 'web' && f.unit.layout[0]?.object === true)).toBe(true);
    expect(r.ok && r.value.counts.get('per')).toBe(3);

    // A plugin given in code has no fingerprint: never carried.
    asked.length = 0;
    await streamPlugins(e, [loaded(perService)], () => {}, { units: store });
    expect(asked).toEqual([]);

    // A carried object still meets the layout rule: another plugin emitting it is a conflict.
    const twin = definePlugin({
      name: 'twin',
      description: 'emits the carried ConfigMap again',
      options: Type.Object({}),
      render(ctx) {
        ctx.object({ dc: 'd1' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'api-cfg', namespace: 'api' }, data: {} });
      },
    }) as PluginDefinition<never>;
    const c = await streamPlugins(e, [loaded(twin), loaded(perService, 'fp')], () => {}, { units: store });
    expect(!c.ok && c.diagnostics.map((d) => d.code)).toEqual(['PLUGIN_OBJECT_CONFLICT']);
  });

  /** A store that carries every unit of `per` with one file each (`<service>.yaml`), and counts how often their files are read. */
  function carryAll(): { store: UnitStore; reads: string[] } {
    const reads: string[] = [];
    const store: UnitStore = {
      salt: 's',
      carry: (plugin, service) => ({
        count: 1,
        files: () => {
          reads.push(service);
          return [{ path: `per/${service}.yaml`, layout: [{ id: `d1||ConfigMap|${service}|${service}-cfg`, object: true }] }];
        },
      }),
    };
    return { store, reads };
  }

  it("reads no carried unit's files when nothing was rendered to clash with them, and counts them", async () => {
    const { store, reads } = carryAll();
    seen.length = 0;
    const r = await streamPlugins(env(ENV()), [loaded(perService, 'fp')], () => {}, { units: store });
    expect(r.ok && r.value.counts.get('per')).toBe(2);
    expect(seen).toEqual([]);
    expect(reads).toEqual([]);
  });

  it("tells a clash with a carried file's path as a claim in run order would: by the plugin that runs later", async () => {
    // `aaa` runs before `per`, `zzz` after it (ties go by name); each writes api's carried file.
    const writer = (name: string): PluginDefinition<never> =>
      renderOnly(name, "writes the path of api's carried file", (ctx) => ctx.file('per/api.yaml', 'x: 1\n'));
    const problems = async (other: string): Promise<string[]> => {
      const { store, reads } = carryAll();
      const r = await streamPlugins(env(ENV()), [loaded(writer(other)), loaded(perService, 'fp')], () => {}, { units: store });
      expect(reads.sort()).toEqual(['api', 'web']);
      return r.ok ? [] : r.diagnostics.map((d) => `${d.code} [${d.plugin}] ${d.message}`);
    };
    expect(await problems('aaa')).toEqual(['PLUGIN_PATH_CONFLICT [per] writes "per/api.yaml", which plugin "aaa" already wrote']);
    expect(await problems('zzz')).toEqual(['PLUGIN_PATH_CONFLICT [zzz] writes "per/api.yaml", which plugin "per" already wrote']);
  });

  it('tells a clash with a carried file when a plugin fails too, and leaves a unit without files out of the counts', async () => {
    const thrower = renderOnly('zzz', "writes the path of api's carried file, then throws", (ctx) => {
      ctx.file('per/api.yaml', 'x: 1\n');
      throw new Error('broken');
    });
    const { store } = carryAll();
    const r = await streamPlugins(env(ENV()), [loaded(thrower), loaded(perService, 'fp')], () => {}, { units: store });
    expect(!r.ok && r.diagnostics.map((d) => `${d.code} [${d.plugin}]`)).toEqual(['PLUGIN_THREW [zzz]', 'PLUGIN_PATH_CONFLICT [zzz]']);

    const empty: UnitStore = { salt: 's', carry: () => ({ count: 0, files: () => [] }) };
    const e = await streamPlugins(env(ENV()), [loaded(perService, 'fp')], () => {}, { units: empty });
    expect(e.ok && [...e.value.counts.keys()]).toEqual([]);
  });

  it("names a carried object in a layout clash in full, even with a '|' in its name", async () => {
    const twin = renderOnly('twin', 'emits an object with the identity of a carried one', (ctx) =>
      ctx.object(
        { dc: 'd1' },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a|b', namespace: 'api' }, data: {} },
        { path: 'clusters/d1/twin/cm.yaml' },
      ),
    );
    const store: UnitStore = {
      salt: 's',
      carry: (plugin, service) =>
        service === 'api'
          ? { count: 1, files: () => [{ path: 'clusters/d1/per/x.yaml', layout: [{ id: 'd1||ConfigMap|api|a|b', object: false }] }] }
          : undefined,
    };
    const r = await streamPlugins(env(ENV()), [loaded(twin), loaded(perService, 'fp')], () => {}, { units: store });
    expect(!r.ok && r.diagnostics.map((d) => d.message)).toEqual([
      'ConfigMap api/a|b appears twice in DC d1 (clusters/d1/per/x.yaml and clusters/d1/twin/cm.yaml)',
    ]);
  });

  it('finds a rendered unit writing the path of a carried unit of its plugin, whichever service comes first', async () => {
    for (const [rendered, carried] of [
      ['web', 'api'],
      ['api', 'web'],
    ] as const) {
      // `rendered` is rendered and writes `carried`'s file as well as its own; `carried` is carried.
      const greedy = definePlugin({
        name: 'per',
        description: "renders one service, which also writes the other's file",
        options: Type.Object({}),
        renderService(ctx) {
          if (ctx.service.name === rendered) ctx.file(`per/${carried}.yaml`, 'x: 1\n');
        },
      }) as PluginDefinition<never>;
      const { store } = carryAll();
      const onlyCarried: UnitStore = { ...store, carry: (plugin, service, key) => (service === carried ? store.carry(plugin, service, key) : undefined) };
      const r = await streamPlugins(env(ENV()), [loaded(greedy, 'fp')], () => {}, { units: onlyCarried });
      expect(!r.ok && r.diagnostics.map((d) => `${d.code} [${d.plugin}] ${d.message}`)).toEqual([
        `PLUGIN_PATH_CONFLICT [per] writes "per/${carried}.yaml" twice`,
      ]);
    }
  });
});

describe('pluginFingerprint', () => {
  /** A temporary directory to lay packages out in, and a writer of files below it (directories made). */
  const packageRoot = () => {
    const root = mkdtempSync(join(tmpdir(), 'topoforge-fingerprint-'));
    const write = (rel: string, text: string) => {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    };
    return { root, write };
  };

  it('covers the entry directory, the manifest, linked dependencies by code and installed ones by version', () => {
    const { root, write } = packageRoot();
    try {
      write('plugin/package.json', JSON.stringify({ name: 'p', version: '1.0.0', main: './dist/index.js', dependencies: { linked: '*', installed: '1.0.0' } }));
      write('plugin/dist/index.js', 'export default 1;\n');
      write('linked/package.json', JSON.stringify({ name: 'linked', version: '0.1.0', main: './dist/index.js' }));
      write('linked/dist/index.js', 'export const a = 1;\n');
      write('plugin/node_modules/installed/package.json', JSON.stringify({ name: 'installed', version: '1.0.0' }));
      write('plugin/node_modules/installed/index.js', 'module.exports = 1;\n');
      symlinkSync(join(root, 'linked'), join(root, 'plugin/node_modules/linked'));
      const entry = join(root, 'plugin/dist/index.js');
      const fp = () => pluginFingerprint(entry);
      const first = fp();
      expect(first).toMatch(/^[0-9a-f]{64}$/);
      write('plugin/.vitest-report.json', '{"run": 2}'); // a dot file is not code
      write('plugin/dist/.cache.json', '{}');
      expect(fp()).toBe(first);
      write('linked/dist/index.js', 'export const a = 2;\n'); // a workspace package edited in place
      const second = fp();
      expect(second).not.toBe(first);
      write('plugin/node_modules/installed/index.js', 'module.exports = 2;\n'); // installed: by version only
      expect(fp()).toBe(second);
      write('plugin/node_modules/installed/package.json', JSON.stringify({ name: 'installed', version: '1.0.1' }));
      const third = fp();
      expect(third).not.toBe(second);
      write('plugin/dist/helper.js', 'export const h = 1;\n'); // a file beside the entry
      expect(fp()).not.toBe(third);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('covers what the code reads outside the entry directory by relative path, whatever `files` says', () => {
    const { root, write } = packageRoot();
    try {
      // No `files`: nothing outside dist/ is published by name.
      write('plugin/package.json', JSON.stringify({ name: 'p', version: '1.0.0', main: './dist/index.mjs' }));
      write(
        'plugin/dist/index.mjs',
        [
          "import { extra } from '../lib/extra.mjs';",
          "import './own.mjs';",
          "const require = (await import('node:module')).createRequire(import.meta.url);",
          "const cjs = require('../cjs/helper');",
          "const page = new URL('./page.hbs', import.meta.url);",
          'const template = (n) => new URL(`../templates/${n}.hbs`, import.meta.url);',
          'export default [extra, cjs, page, template];',
        ].join('\n'),
      );
      write('plugin/dist/own.mjs', 'export {};\n');
      write('plugin/dist/page.hbs', 'page\n');
      write('plugin/lib/extra.mjs', "export { deeper as extra } from './deeper.mjs';\n");
      write('plugin/lib/deeper.mjs', 'export const deeper = 1;\n');
      write('plugin/cjs/helper.js', 'module.exports = 1;\n');
      write('plugin/templates/a.hbs', 'a\n');
      write('plugin/unrelated/x.mjs', 'export const x = 1;\n');
      const entry = join(root, 'plugin/dist/index.mjs');
      const fp = () => pluginFingerprint(entry);
      let last = fp();
      expect(last).toMatch(/^[0-9a-f]{64}$/);
      // Each edit below is read by the plugin: each changes the fingerprint.
      for (const [rel, text] of [
        ['plugin/lib/extra.mjs', "export { deeper as extra } from './deeper.mjs'; // edited\n"],
        ['plugin/lib/deeper.mjs', 'export const deeper = 2;\n'], // imported by an imported file
        ['plugin/cjs/helper.js', 'module.exports = 2;\n'], // required without its extension
        ['plugin/dist/page.hbs', 'page 2\n'], // an asset beside the entry (not code)
        ['plugin/templates/b.hbs', 'b\n'], // a template literal's directory, taken whole
        ['plugin/templates/a.hbs', 'a 2\n'],
      ] as const) {
        write(rel, text);
        const next = fp();
        expect(next, rel).not.toBe(last);
        last = next;
      }
      // What nothing references is not read.
      write('plugin/unrelated/x.mjs', 'export const x = 2;\n');
      expect(fp()).toBe(last);
      // Code in a dot directory beside the entry (which the directory's own fingerprint skips),
      // and a file reached through a link, count by what they hold.
      write(
        'plugin/dist/index.mjs',
        `${readFileSync(entry, 'utf8')}\nimport './.gen/data.mjs';\nexport const linked = new URL('../linked.hbs', import.meta.url);\n`,
      );
      write('plugin/dist/.gen/data.mjs', 'export const d = 1;\n');
      write('shared/linked.hbs', 'one\n');
      symlinkSync(join(root, 'shared/linked.hbs'), join(root, 'plugin/linked.hbs'));
      last = fp();
      for (const [rel, text] of [
        ['plugin/dist/.gen/data.mjs', 'export const d = 2;\n'],
        ['shared/linked.hbs', 'two\n'],
      ] as const) {
        write(rel, text);
        const next = fp();
        expect(next, rel).not.toBe(last);
        last = next;
      }
      // A referenced file that goes missing changes it too.
      rmSync(join(root, 'plugin/lib/deeper.mjs'));
      expect(fp()).not.toBe(last);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('frozenCopy (what a retained object becomes)', () => {
  it('copies JSON-shaped data deeply and freezes every level; other values go through structuredClone', () => {
    const src = { a: [1, { b: 'x' }], c: { d: null, e: undefined }, when: new Date(0) };
    const copy = frozenCopy(src);
    expect(copy).toEqual(src);
    expect(copy.a).not.toBe(src.a);
    expect(Object.isFrozen(copy) && Object.isFrozen(copy.a) && Object.isFrozen(copy.a[1]) && Object.isFrozen(copy.c)).toBe(true);
    expect(Object.isFrozen(src.a)).toBe(false);
    expect(copy.when).toBeInstanceOf(Date);
    expect(copy.when).not.toBe(src.when);
    (src.a[1] as { b: string }).b = 'changed';
    expect((copy.a[1] as { b: string }).b).toBe('x');
  });

  it('copies own keys in the order Object.keys lists them (integer-like first), with none inherited', () => {
    const src = { b: 1, 10: 'x', a: { z: 1, y: 2 }, 2: 'y' };
    const copy = frozenCopy(src);
    expect(Object.keys(copy)).toEqual(['2', '10', 'b', 'a']);
    expect(Object.keys(copy.a)).toEqual(['z', 'y']);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { z: 1, y: { x: 2 } });
    expect(frozenCopy(bare)).toEqual({ z: 1, y: { x: 2 } });
    // An enumerable property on Object.prototype (a polluted prototype) is not the object's own.
    Object.defineProperty(Object.prototype, 'polluted', { value: 'p', enumerable: true, configurable: true, writable: true });
    try {
      expect(Object.hasOwn(frozenCopy({ k: { j: 1 } }).k, 'polluted')).toBe(false);
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });
});
