/**
 * A seeded differential test of the incremental render (state record, render units, whole-
 * directory swaps, the second writing thread, find's prescan): after random model changes and
 * hand edits of the output, a render leaves every environment directory byte for byte as a
 * render of the same model into an empty output does, reports what a plain comparison of the
 * trees before and after finds, a refused render changes nothing, and `check` answers "up to
 * date" exactly when the tree equals a fresh render. The cases the fuzzer found each have a test
 * of their own (check-differential, check-record, ownership).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, render, type EnvironmentChange, type WriteOptions } from '../src/index.js';
import { directoriesOf, prng, treeOf as tree } from './fixtures.js';

/**
 * A plugin package made by hand (no imports, loaded from a file so it has a fingerprint):
 * renderService units (objects per DC, a directory of `files` files per service, a path that is a
 * file or a directory by `shape`), and environment-level files that depend on every service.
 */
const PLUGIN = `
export default {
  $$type: 'topoforge.plugin', contract: 2, name: 'fz', description: 'differential test plugin',
  after: [], options: { type: 'object' }, policies: {}, review: [],
  hooks: {
    render(ctx) {
      const o = ctx.options;
      const all = ctx.env.services.map((s) => s.name + '@' + s.version).join(',');
      for (let i = 0; i < o.summary; i++) ctx.file('summary/s' + i + '.txt', i + ' ' + o.salt + ' ' + all + '\\n');
    },
    renderService(ctx) {
      const o = ctx.options;
      const s = ctx.service;
      for (const dc of ctx.dataCenters)
        for (let i = 0; i < o.per; i++)
          ctx.object({ dc: dc.name }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: s.name + '-c' + i, namespace: s.namespace }, data: { version: s.version, salt: o.salt } });
      for (let i = 0; i < o.files; i++) ctx.file('svc/' + s.name + '/f' + i + '.txt', s.name + ' ' + s.version + ' ' + i + ' ' + o.salt + '\\n');
      if (o.shape === 'dir') ctx.file('shape/' + s.name + '/leaf.txt', 'leaf ' + s.version + '\\n');
      else ctx.file('shape/' + s.name, 'file ' + s.version + '\\n');
    },
  },
};
`;

interface Model {
  dcs: string[];
  services: { name: string; version: string }[];
  options: { salt: string; per: number; files: number; shape: 'file' | 'dir'; summary: number };
}

const yaml = (m: Model): string =>
  [
    'kind: Environment',
    'name: alpha',
    'stage: staging',
    'regions:',
    '  north: { timeZone: Europe/Oslo, businessUnits: [warehouses, couriers] }',
    'dataCenters:',
    ...m.dcs.map((d, i) => `  ${d}: { region: north, rotation: ${i + 1}, cluster: { context: ${d} }, backupStorage: { provider: aws, bucket: ${d}-backups } }`),
    'services:',
    ...m.services.map((s) => `  ${s.name}: { kind: online-store, image: r/${s.name}, version: "${s.version}" }`),
    'plugins:',
    `  fz: { package: ./plugins/fz.mjs, options: ${JSON.stringify(m.options)} }`,
    '',
  ].join('\n');

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});
function workspace(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tmp.push(dir);
  mkdirSync(join(dir, 'environments/plugins'), { recursive: true });
  writeFileSync(join(dir, 'environments/plugins/fz.mjs'), PLUGIN);
  return dir;
}

function plainChanges(before: Map<string, string>, after: Map<string, string>): { added: string[]; changed: string[]; removed: string[] } {
  const added = [...after.keys()].filter((p) => !before.has(p)).sort();
  const changed = [...after.keys()].filter((p) => before.has(p) && before.get(p) !== after.get(p)).sort();
  const removed = [...before.keys()].filter((p) => !after.has(p)).sort();
  return { added, changed, removed };
}

const upToDate = (cs: readonly EnvironmentChange[]): boolean => cs.every((c) => c.added.length + c.changed.length + c.removed.length === 0);

/** A fresh render's files; its directories in `freshDirectories`. */
let freshDirectories: string[] = [];
async function freshTree(cwd: string): Promise<Map<string, string>> {
  const other = mkdtempSync(join(tmpdir(), 'topoforge-diff-fresh-'));
  tmp.push(other);
  cpSync(join(cwd, 'environments'), join(other, 'environments'), { recursive: true });
  const r = await render({ environmentsDir: 'environments', out: 'out', cwd: other });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  freshDirectories = directoriesOf(join(other, 'out/alpha'));
  return tree(join(other, 'out/alpha'));
}

const SEEDS = [1, 2, 3];
const STEPS = 14;

describe('incremental render against a fresh render (seeded)', () => {
  for (const seed of SEEDS)
    it(`seed ${seed}: every render equals a fresh one, its counts a plain comparison; check agrees`, async () => {
      const rnd = prng(seed);
      const ri = (n: number): number => Math.floor(rnd() * n);
      const pick = <T>(xs: readonly T[]): T => xs[ri(xs.length)]!;
      const cwd = workspace('topoforge-diff-');
      const out = join(cwd, 'out');
      const place = join(out, 'alpha');
      let next = 0;
      const m: Model = {
        dcs: ['d0', 'd1'],
        services: [0, 1, 2].map(() => ({ name: `s${next++}`, version: '1.0.0' })),
        options: { salt: 'a', per: 8, files: 8, shape: 'file', summary: 8 },
      };
      const files = (): string[] => [...tree(place).keys()].filter((p) => p !== 'topoforge-index.json');
      const log: string[] = [];
      const step = (what: string) => log.push(what);

      const modelChanges: (() => void)[] = [
        () => {
          const s = pick(m.services);
          s.version = `1.${ri(9)}.${ri(9)}`;
          step(`version ${s.name} ${s.version}`);
        },
        () => {
          m.services.push({ name: `s${next++}`, version: '1.0.0' });
          step('add service');
        },
        () => {
          if (m.services.length > 1) step(`remove service ${m.services.splice(ri(m.services.length), 1)[0]!.name}`);
        },
        () => {
          m.dcs.push(`d${next++}`);
          step('add dc');
        },
        () => {
          if (m.dcs.length > 1) step(`remove dc ${m.dcs.splice(ri(m.dcs.length), 1)[0]}`);
        },
        () => {
          m.options.salt = pick(['a', 'b', 'cc']);
          m.options.per = pick([1, 8, 9]);
          m.options.files = pick([2, 8, 9]);
          if (rnd() < 0.3) m.options.shape = m.options.shape === 'dir' ? 'file' : 'dir';
          step(`options ${JSON.stringify(m.options)}`);
        },
      ];
      // Hand edits that the record never vouches for (no same-size edit with its mtime set back: git's index has that limit too).
      const handEdits: (() => void)[] = [
        () => {
          const p = pick(files());
          writeFileSync(join(place, p), readFileSync(join(place, p), 'utf8') + '# by hand\n');
          step(`edit ${p}`);
        },
        () => {
          const p = pick(files());
          const b = readFileSync(join(place, p));
          b[0] = b[0] === 0x58 ? 0x59 : 0x58;
          writeFileSync(join(place, p), b);
          step(`edit same size ${p}`);
        },
        () => {
          const p = pick(files());
          unlinkSync(join(place, p));
          step(`delete ${p}`);
        },
        () => {
          const p = pick(files());
          unlinkSync(join(place, p));
          symlinkSync('elsewhere', join(place, p));
          step(`link ${p}`);
        },
        () => {
          const p = pick(files());
          unlinkSync(join(place, p));
          mkdirSync(join(place, p));
          step(`directory at ${p}`);
        },
        () => {
          const p = pick(files());
          const t = Date.now() / 1000 + ri(2) * 3600 - 1800;
          utimesSync(join(place, p), t, t);
          step(`touch ${p}`);
        },
        () => {
          rmSync(join(out, '.topoforge-state/alpha.json'), { force: true });
          step('delete the state record');
        },
        () => {
          const f = join(out, '.topoforge-state/alpha.json');
          if (!existsSync(f)) return;
          const st = statSync(f);
          writeFileSync(f, '{"version":');
          utimesSync(f, st.atime, st.mtime);
          step('corrupt the state record');
        },
        () => {
          mkdirSync(join(place, 'svc'), { recursive: true });
          writeFileSync(join(place, 'svc', 'by-hand.txt'), 'foreign\n');
          step('foreign file');
        },
      ];

      writeFileSync(join(cwd, 'environments/alpha.yaml'), yaml(m));
      expect((await render({ environmentsDir: 'environments', out: 'out', cwd })).ok).toBe(true);
      let rendered = 0;
      for (let i = 0; i < STEPS; i++) {
        for (let k = 1 + ri(2); k > 0; k--) (rnd() < 0.5 ? pick(modelChanges) : pick(handEdits))();
        writeFileSync(join(cwd, 'environments/alpha.yaml'), yaml(m));
        const fresh = await freshTree(cwd);
        const foreign = existsSync(join(place, 'svc/by-hand.txt'));
        const where = `seed ${seed}, step ${i}: ${log.join('; ')}`;

        const c = await check({ environmentsDir: 'environments', out: 'out', cwd });
        expect(c.ok, where).toBe(true);
        const drift = plainChanges(tree(place), fresh);
        if (c.ok) expect(upToDate(c.value), where).toBe(drift.added.length + drift.changed.length + drift.removed.length === 0);

        const write: WriteOptions = { ...(rnd() < 0.5 ? { writeBehindAfter: pick([0, 3]) } : {}), ...(foreign && rnd() < 0.5 ? { adopt: true } : {}) };
        const before = tree(place);
        const r = await render({ environmentsDir: 'environments', out: 'out', cwd, write });
        if (foreign && !write.adopt) {
          // A file topoforge did not write: refused, and nothing changed.
          expect(r.ok, where).toBe(false);
          expect(tree(place), where).toEqual(before);
          unlinkSync(join(place, 'svc/by-hand.txt'));
          step('foreign file removed');
          continue;
        }
        expect(r.ok, `${where}: ${r.ok ? '' : JSON.stringify(r.diagnostics)}`).toBe(true);
        if (!r.ok) return;
        const after = tree(place);
        expect(after, where).toEqual(fresh);
        // No directory left behind that a fresh render has not (one emptied by hand and then no longer rendered, too).
        expect(directoriesOf(place), where).toEqual(freshDirectories);
        const change = r.value.changes.find((x) => x.environment === 'alpha')!;
        expect({ added: change.added, changed: change.changed, removed: change.removed }, where).toEqual(plainChanges(before, after));
        // The tree is as a render left it: check answers from the record, or renders, and finds nothing.
        const again = await check({ environmentsDir: 'environments', out: 'out', cwd });
        expect(again.ok && upToDate(again.value), where).toBe(true);
        rendered++;
        log.length = 0;
      }
      expect(rendered).toBeGreaterThan(STEPS / 2);
    }, 60_000);
});
