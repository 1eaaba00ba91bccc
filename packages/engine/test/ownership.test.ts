/**
 * The engine touches only what it wrote: links are never followed, foreign content and
 * another source's output are refused with the path named, unsafe output directories are
 * refused, and a kill inside the swap is completed by the next check or render.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePlugin, Type, type PluginDefinition } from '@topoforge/plugin-sdk';
import { formatDiagnostic, type Diagnostic } from '@topoforge/model';
import { check, listTree, readIndex, render, sha256, type WriteOptions, type WriteRequest } from '../src/index.js';

const ENV = (name: string, greeting = 'hello') => `kind: Environment
name: ${name}
stage: staging
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [] }
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
services:
  shop: { kind: online-store, image: r/shop, version: "1.0.0" }
plugins:
  note: { options: { greeting: ${greeting} } }
`;

const note = definePlugin({
  name: 'note',
  description: 'one file per environment',
  options: Type.Object({ greeting: Type.String() }, { additionalProperties: false }),
  render(ctx) {
    ctx.file('notes/greeting.txt', `${ctx.options.greeting} from ${ctx.env.name}\n`);
    ctx.file('notes/second.txt', 'x\n');
  },
}) as PluginDefinition<never>;

const tmp: string[] = [];
function workspace(envs: Record<string, string>, dir = 'environments'): string {
  const cwd = mkdtempSync(join(tmpdir(), 'topoforge-own-'));
  tmp.push(cwd);
  mkdirSync(join(cwd, dir), { recursive: true });
  for (const [n, c] of Object.entries(envs)) writeFileSync(join(cwd, dir, n), c);
  return cwd;
}
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Set per pass below: staged files written on this thread, or all on the second thread (WriteBehind). */
let threads: WriteOptions = {};
const req = (cwd: string, extra: Partial<WriteRequest> = {}): WriteRequest => ({
  environmentsDir: 'environments',
  out: 'out',
  cwd,
  builtins: [note],
  ...extra,
  write: { ...threads, ...extra.write },
});
const snapshot = (dir: string): Record<string, string> => Object.fromEntries(listTree(dir).map((p) => [p, readFileSync(join(dir, p), 'utf8')]));
const text = (ds: readonly Diagnostic[]): string => ds.map(formatDiagnostic).join('\n');
const deadPid = (): number => Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());

/** Every environment directory holds exactly the files its index lists, with those hashes. */
function matchesIndex(out: string): void {
  for (const env of readdirSync(out).filter((n) => !n.startsWith('.'))) {
    const idx = readIndex(join(out, env), env);
    expect(idx, `${env} has an index`).toBeDefined();
    expect(listTree(join(out, env))).toEqual([...idx!.files.map((f) => f.path), 'topoforge-index.json'].sort());
    for (const f of idx!.files) expect(sha256(readFileSync(join(out, env, f.path), 'utf8'))).toBe(f.sha256);
  }
}

for (const second of [false, true])
  describe(second ? 'staged files written on the second thread' : 'on one thread', () => {
    beforeAll(() => {
      threads = second ? { writeBehindAfter: 0 } : {};
    });
    describe('links are never followed', () => {
      it('a symlink named .topoforge-trash is refused; what it points to is untouched', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha') });
        expect((await render(req(cwd))).ok).toBe(true);
        const victim = join(cwd, 'dot-ssh');
        mkdirSync(join(victim, 'keys'), { recursive: true });
        writeFileSync(join(victim, 'id_ed25519'), 'private');
        writeFileSync(join(victim, 'keys/other'), 'other');
        symlinkSync(victim, join(cwd, 'out/.topoforge-trash'));
        const before = snapshot(join(cwd, 'out/alpha'));
        const r = await render(req(cwd));
        expect(r.ok).toBe(false);
        expect(text(!r.ok ? r.diagnostics : [])).toContain('RENDER_UNSAFE_PATH');
        expect(text(!r.ok ? r.diagnostics : [])).toContain('.topoforge-trash is a symbolic link');
        expect(snapshot(victim)).toEqual({ id_ed25519: 'private', 'keys/other': 'other' });
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(before);
        expect(existsSync(join(cwd, 'out/id_ed25519'))).toBe(false);
      });

      it('a symlinked staging directory of a dead process is refused, not emptied', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha') });
        mkdirSync(join(cwd, 'out'));
        const victim = join(cwd, 'precious');
        mkdirSync(victim);
        writeFileSync(join(victim, 'data'), 'keep');
        symlinkSync(victim, join(cwd, `out/.topoforge-staging-${deadPid()}-ab`));
        const r = await render(req(cwd));
        expect(!r.ok && r.diagnostics[0]!.code).toBe('RENDER_UNSAFE_PATH');
        expect(snapshot(victim)).toEqual({ data: 'keep' });
      });

      it('an environment-named link to a rendered tree elsewhere is neither pruned nor followed', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha'), 'b.yaml': ENV('beta') });
        await render(req(cwd, { out: 'elsewhere' }));
        rmSync(join(cwd, 'environments/b.yaml'));
        mkdirSync(join(cwd, 'out'));
        symlinkSync(join(cwd, 'elsewhere/beta'), join(cwd, 'out/beta'));
        expect((await render(req(cwd))).ok).toBe(true);
        expect(readdirSync(join(cwd, 'elsewhere/beta/notes'))).toEqual(['greeting.txt', 'second.txt']);
      });
    });

    describe('foreign content is refused, and adopted only on purpose', () => {
      it('a directory named like an environment that topoforge did not write', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha'), 's.yaml': ENV('staging') });
        mkdirSync(join(cwd, 'out/staging'), { recursive: true });
        writeFileSync(join(cwd, 'out/staging/notes.txt'), 'mine');
        const r = await render(req(cwd));
        expect(!r.ok && r.diagnostics[0]).toMatchObject({ code: 'RENDER_FOREIGN_CONTENT', hint: expect.stringContaining('--adopt') });
        expect(text(!r.ok ? r.diagnostics : [])).toContain(`${join(cwd, 'out/staging')} was not written by topoforge`);
        expect(readFileSync(join(cwd, 'out/staging/notes.txt'), 'utf8')).toBe('mine');
        expect(existsSync(join(cwd, 'out/alpha'))).toBe(false); // all or nothing
        const adopted = await render(req(cwd, { write: { adopt: true } }));
        expect(adopted.ok).toBe(true);
        expect(existsSync(join(cwd, 'out/staging/notes.txt'))).toBe(false);
        matchesIndex(join(cwd, 'out'));
      });

      it('a file and a directory whose names are not UTF-8, adopted: removed, not reported removed and left', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha') });
        await render(req(cwd));
        const before = snapshot(join(cwd, 'out/alpha'));
        const raw = (rel: string, ...bytes: number[]) => Buffer.concat([Buffer.from(join(cwd, 'out/alpha', rel)), Buffer.from(bytes)]);
        writeFileSync(Buffer.concat([raw('notes/hand', 0xff), Buffer.from('.txt')]), 'mine');
        mkdirSync(raw('dir', 0xfe, 0x80));
        writeFileSync(Buffer.concat([raw('dir', 0xfe, 0x80), Buffer.from('/inside.txt')]), 'mine');
        const refused = await render(req(cwd));
        expect(!refused.ok && refused.diagnostics[0]!.code).toBe('RENDER_FOREIGN_CONTENT');
        const adopted = await render(req(cwd, { write: { adopt: true } }));
        expect(adopted.ok && adopted.value.changes[0]!.removed).toEqual(['dir\ufffd\ufffd/inside.txt', 'notes/hand\ufffd.txt']);
        // Gone for real: the tree is what it was, and the next render has nothing to refuse.
        const names = (d: string) => readdirSync(join(cwd, 'out/alpha', d), { encoding: 'buffer' });
        expect([...names('.'), ...names('notes')].some((n) => n.includes(0xff) || n.includes(0xfe))).toBe(false);
        expect(snapshot(join(cwd, 'out/alpha'))).toEqual(before);
        expect((await render(req(cwd))).ok).toBe(true);
      });

      it('a file added by hand inside an environment topoforge wrote, also when the environment is pruned', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha'), 'b.yaml': ENV('beta') });
        await render(req(cwd));
        writeFileSync(join(cwd, 'out/alpha/README.md'), 'hand-written');
        const r = await render(req(cwd));
        expect(text(!r.ok ? r.diagnostics : [])).toContain('holds 1 file topoforge did not write: README.md; refusing to replace it');
        expect(readFileSync(join(cwd, 'out/alpha/README.md'), 'utf8')).toBe('hand-written');
        rmSync(join(cwd, 'out/alpha/README.md'));
        writeFileSync(join(cwd, 'out/beta/keep.txt'), 'k');
        rmSync(join(cwd, 'environments/b.yaml'));
        const p = await render(req(cwd));
        expect(text(!p.ok ? p.diagnostics : [])).toContain('refusing to delete it');
        expect(existsSync(join(cwd, 'out/beta/keep.txt'))).toBe(true);
      });

      it('another environments directory rendered into the same output is an error, not a deletion', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha'), 'b.yaml': ENV('beta') });
        mkdirSync(join(cwd, 'other'));
        writeFileSync(join(cwd, 'other/c.yaml'), ENV('gamma'));
        await render(req(cwd));
        const before = snapshot(join(cwd, 'out'));
        const r = await render(req(cwd, { environmentsDir: 'other' }));
        expect(!r.ok && r.diagnostics[0]).toMatchObject({
          code: 'RENDER_OTHER_SOURCE',
          message: expect.stringContaining('was rendered from environments, not other; refusing to delete it'),
        });
        expect(snapshot(join(cwd, 'out'))).toEqual(before);
        // the index records the source, the same from any working directory
        expect(JSON.parse(readFileSync(join(cwd, 'out/alpha/topoforge-index.json'), 'utf8')).source).toBe('environments');
      });

      it('environments at a repository root render the same bytes whatever the clone is called; an index naming the clone is still its own', async () => {
        const base = workspace({});
        for (const clone of ['clone-one', 'ci-checkout']) {
          mkdirSync(join(base, clone, '.git'), { recursive: true });
          writeFileSync(join(base, clone, 'a.yaml'), ENV('alpha'));
          const r = await render(req(base, { environmentsDir: clone, out: `out-${clone}` }));
          expect(r.ok, text(!r.ok ? r.diagnostics : [])).toBe(true);
        }
        const one = join(base, 'out-clone-one');
        expect(snapshot(join(base, 'out-ci-checkout/alpha'))).toEqual(snapshot(join(one, 'alpha')));
        const index = join(one, 'alpha/topoforge-index.json');
        expect(JSON.parse(readFileSync(index, 'utf8')).source).toBe('.');
        // As an earlier version named it: the clone's own name. Still ours, and renamed by the next render.
        writeFileSync(index, readFileSync(index, 'utf8').replace('"source": "."', '"source": "clone-one"'));
        const before = snapshot(one);
        expect((await render(req(base, { environmentsDir: 'ci-checkout', out: 'out-clone-one' }))).ok).toBe(false);
        expect(snapshot(one)).toEqual(before);
        const again = await render(req(base, { environmentsDir: 'clone-one', out: 'out-clone-one' }));
        expect(again.ok, text(!again.ok ? again.diagnostics : [])).toBe(true);
        expect(JSON.parse(readFileSync(index, 'utf8')).source).toBe('.');
      });
    });

    describe('unsafe output directories are refused before anything is written', () => {
      it.each([
        ['/', () => '/'],
        ['the home directory', () => homedir()],
        ['the repository root', (cwd: string) => cwd],
        ['a directory holding the environments', (cwd: string) => join(cwd, 'nested')],
      ])('%s', async (_what, out) => {
        const cwd = workspace({ 'a.yaml': ENV('docs') }, 'nested/environments');
        mkdirSync(join(cwd, '.git'));
        mkdirSync(join(cwd, 'docs'));
        writeFileSync(join(cwd, 'docs/guide.md'), 'guide');
        const r = await render(req(cwd, { environmentsDir: 'nested/environments', out: out(cwd) }));
        expect(!r.ok && r.diagnostics[0]!.code).toBe('RENDER_UNSAFE_OUTPUT');
        expect(readFileSync(join(cwd, 'docs/guide.md'), 'utf8')).toBe('guide');
      });
    });

    describe('a kill inside the swap', () => {
      it('leaves a journal that the next check completes, so the tree is one render, never a mix', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha'), 'b.yaml': ENV('beta') });
        await render(req(cwd));
        for (const f of ['a.yaml', 'b.yaml']) writeFileSync(join(cwd, 'environments', f), ENV(f === 'a.yaml' ? 'alpha' : 'beta', 'changed'));
        let swapped = 0;
        const killed = await render(
          req(cwd, {
            write: {
              duringSwap: () => {
                if (++swapped === 2) throw new Error('SIGKILL');
              },
            },
          }),
        );
        expect(killed.ok).toBe(false);
        // on disk now: alpha new; beta updated in place up to the kill, its index still the old
        // one; the journal says what is left to do
        expect(readFileSync(join(cwd, 'out/alpha/notes/greeting.txt'), 'utf8')).toBe('changed from alpha\n');
        expect(readFileSync(join(cwd, 'out/beta/topoforge-index.json'), 'utf8')).not.toContain(sha256('changed from beta\n'));
        expect(readdirSync(join(cwd, 'out')).filter((n) => n.startsWith('.topoforge-swap-'))).toHaveLength(1);
        const c = await check(req(cwd));
        expect(c.ok && c.value.every((x) => x.added.length + x.changed.length + x.removed.length === 0)).toBe(true);
        expect(
          readdirSync(join(cwd, 'out'))
            .filter((n) => n !== '.topoforge-state')
            .sort(),
        ).toEqual(['alpha', 'beta']);
        matchesIndex(join(cwd, 'out'));
      });
    });

    describe('check with an unreadable --out', () => {
      it('a file or a symlink loop is a coded error, not a stack trace', async () => {
        const cwd = workspace({ 'a.yaml': ENV('alpha') });
        writeFileSync(join(cwd, 'file'), 'x');
        symlinkSync(join(cwd, 'loop'), join(cwd, 'loop'));
        for (const out of ['file', 'loop']) {
          const r = await check(req(cwd, { out }));
          expect(!r.ok && r.diagnostics[0]!.code).toBe('RENDER_OUTPUT_INVALID');
        }
        const r = await render(req(cwd, { out: 'file' }));
        expect(!r.ok && r.diagnostics[0]!.code).toBe('RENDER_OUTPUT_INVALID');
      });
    });
  });
