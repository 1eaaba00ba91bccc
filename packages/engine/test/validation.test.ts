/**
 * Validation is a render phase: layout rules and CRD schemas are checked after the plugins
 * ran and before anything is written. A plugin that emits an invalid object fails the
 * render, the problem names the plugin and the object, and the output directory is not
 * created (nor changed when it exists).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { definePlugin, Type, type PluginDefinition } from '@topoforge/plugin-contract';
import { formatDiagnostic } from '@topoforge/model';
import { render } from '../src/index.js';

const ENV = `kind: Environment
name: stage
stage: staging
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0" }
plugins:
  emitter: {}
`;

type Bad = 'none' | 'notes-under-clusters' | 'twice-in-a-dc' | 'schedule-wrong-type';

const emitter = (bad: Bad) =>
  definePlugin({
    name: 'emitter',
    description: 'emits one valid Schedule and, on request, something invalid',
    options: Type.Object({}),
    render(ctx) {
      const schedule = {
        apiVersion: 'velero.io/v1',
        kind: 'Schedule',
        metadata: { name: 'shop-daily', namespace: 'velero' },
        spec: { schedule: '0 1 * * *', template: { ttl: '168h0m0s', includedNamespaces: ['shop'] } },
      };
      ctx.object({ dc: 'n1' }, schedule, { service: 'shop' });
      if (bad === 'notes-under-clusters') ctx.file('clusters/n1/emitter/notes.yaml', 'owner: team-a\n');
      if (bad === 'twice-in-a-dc') ctx.object({ dc: 'n1' }, schedule, { path: 'clusters/n1/emitter/again.yaml' });
      if (bad === 'schedule-wrong-type')
        ctx.object({ dc: 'n1' }, { ...schedule, metadata: { name: 'shop-broken', namespace: 'velero' }, spec: { schedule: 5, template: { ttl: '168h0m0s' } } });
    },
  }) as PluginDefinition<never>;

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'topoforge-validate-'));
  tmp.push(dir);
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments/stage.yaml'), ENV);
  return dir;
}
const problems = (r: Awaited<ReturnType<typeof render>>) => (r.ok ? [] : r.diagnostics.map(formatDiagnostic));

describe('layout rules run before anything is written', () => {
  it('a non-Kubernetes YAML under clusters/<dc>/ fails the render; nothing is written', async () => {
    const dir = workspace();
    const r = await render({ environmentsDir: 'environments', out: 'out', cwd: dir, builtins: [emitter('notes-under-clusters')] });
    expect(problems(r)).toEqual([
      'error RENDER_LAYOUT_INVALID: [stage] [plugin emitter] clusters/n1/emitter/notes.yaml is not a file of Kubernetes objects (apiVersion, kind, metadata.name), but Flux and Argo CD apply everything under clusters/<dc>/\n    hint: emit it outside clusters/ (e.g. at the environment level) or give it a non-YAML extension',
    ]);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('one object twice in a DC names the plugin, the object and both paths; a previous tree stays as it was', async () => {
    const dir = workspace();
    expect((await render({ environmentsDir: 'environments', out: 'out', cwd: dir, builtins: [emitter('none')] })).ok).toBe(true);
    const before = readFileSync(join(dir, 'out/stage/topoforge-index.json'), 'utf8');
    const r = await render({ environmentsDir: 'environments', out: 'out', cwd: dir, builtins: [emitter('twice-in-a-dc')] });
    // Two emitted objects: a conflict between plugins (here one plugin twice), found in the same phase.
    expect(problems(r)).toEqual([
      expect.stringContaining(
        'error PLUGIN_OBJECT_CONFLICT: [stage] [plugin emitter] Schedule velero/shop-daily in n1 is emitted twice: clusters/n1/emitter/velero/schedule-shop-daily.yaml (emitter) and clusters/n1/emitter/again.yaml (emitter)',
      ),
    ]);
    expect(readFileSync(join(dir, 'out/stage/topoforge-index.json'), 'utf8')).toBe(before);
    expect(existsSync(join(dir, 'out/stage/clusters/n1/emitter/again.yaml'))).toBe(false);
  });
});

const shared = findSharedDir();
if (!shared) console.warn(SHARED_MISSING);

describe.runIf(shared)('CRD validation (the upstream Velero CRDs in ../shared/crds) runs before anything is written', () => {
  it('a Schedule with a number for spec.schedule fails --crds validation, naming plugin and object; nothing is written', async () => {
    const dir = workspace();
    const r = await render({
      environmentsDir: 'environments',
      out: 'out',
      cwd: dir,
      builtins: [emitter('schedule-wrong-type')],
      crds: [join(shared!, 'crds/velero')],
    });
    expect(problems(r)).toEqual([
      'error RENDER_CRD_INVALID: [stage] [plugin emitter] Schedule velero/shop-broken (clusters/n1/emitter/velero/schedule-shop-broken.yaml) does not match its CRD velero.io/v1 Schedule: /spec/schedule must be string {"type":"string"}\n    hint: fix the object the plugin emits; the CRD is the API server\'s schema',
    ]);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('TOPOFORGE_CRDS is the default; valid objects render; a missing CRD directory is an error', async () => {
    const dir = workspace();
    process.env.TOPOFORGE_CRDS = join(shared!, 'crds');
    try {
      expect((await render({ environmentsDir: 'environments', out: 'out', cwd: dir, builtins: [emitter('none')] })).ok).toBe(true);
      expect((await render({ environmentsDir: 'environments', out: 'out2', cwd: dir, builtins: [emitter('schedule-wrong-type')] })).ok).toBe(false);
      expect(existsSync(join(dir, 'out2'))).toBe(false);
    } finally {
      delete process.env.TOPOFORGE_CRDS;
    }
    expect(problems(await render({ environmentsDir: 'environments', out: 'out', cwd: dir, builtins: [emitter('none')], crds: ['no-such-dir'] }))).toEqual([
      'error RENDER_CRD_INVALID: CRD directory no-such-dir does not exist\n    hint: pass --crds <dir> (repeatable) or TOPOFORGE_CRDS with directories of CustomResourceDefinition YAML',
    ]);
  });
});
