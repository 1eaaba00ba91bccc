/**
 * The backup hooks and the drill's database part, run for REAL: PostgreSQL 15 and
 * pgBackRest from Debian, as the postgres user, with a local repository per test run.
 * The hook commands are exactly those the emitted Schedules carry (rendered with the
 * repository and outbox paths pointed at a temp dir), run under libfaketime on the local
 * day of each activation; only the clock is faked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import velero, { DATABASE_SCRIPT } from '../src/index.js';

const plugin = velero as PluginDefinition<never>;
const BIN = '/usr/lib/postgresql/15/bin';
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const ready = existsSync(`${BIN}/postgres`) && have('pgbackrest') && have('faketime') && have('runuser') && process.getuid?.() === 0;
if (!ready)
  console.warn('POSTGRES_PGBACKREST_MISSING: run `pnpm run setup:tools` as root (postgresql 15, pgbackrest, faketime) to run the real backup and drill tests');

const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const production = loaded.value.find((e) => e.name === 'production') as Environment;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.runIf(ready)('real PostgreSQL 15 + pgBackRest: the emitted hooks back up, the drill restores', () => {
  const root = mkdtempSync(join(tmpdir(), 'velero-pg-'));
  const p = (x: string) => join(root, x);
  let port = 0;
  let server: ReturnType<typeof spawnSync> | undefined;
  const env = () => ({ PATH: `${BIN}:/usr/bin:/bin`, PGBACKREST_CONFIG: p('pgbackrest.conf'), PGHOST: p('run'), PGPORT: String(port), TZ: 'UTC', LANG: 'C' });
  const asPostgres = (argv: string[], extraEnv: Record<string, string> = {}) => {
    const e = { ...env(), ...extraEnv };
    return spawnSync('runuser', ['-u', 'postgres', '--', 'env', ...Object.entries(e).map(([k, v]) => `${k}=${v}`), ...argv], {
      encoding: 'utf8',
      cwd: root,
      timeout: 240_000,
    });
  };
  const ok = (r: ReturnType<typeof asPostgres>, what: string) => {
    expect(r.status, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const sql = (db: string, text: string) => ok(asPostgres(['psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', text]), text).trim();
  let commands = new Map<string, string[]>();
  const at = (iso: string) => Date.parse(iso);
  /** Runs an emitted Schedule's exact hook command as if it were `atMs`. */
  const hook = (schedule: string, atMs: number) => {
    const offset = Math.round((atMs + 5_000 - Date.now()) / 1000);
    return asPostgres(['faketime', '-f', `${offset >= 0 ? '+' : ''}${offset}`, ...commands.get(schedule)!]);
  };
  const outbox = () => p('outbox');
  const keep = (name: string) => {
    rmSync(p(name), { recursive: true, force: true });
    cpSync(outbox(), p(name), { recursive: true });
  };

  beforeAll(async () => {
    port = await freePort();
    for (const d of ['run', 'repo', 'outbox', 'log', 'lock']) mkdirSync(p(d), { recursive: true });
    writeFileSync(
      p('pgbackrest.conf'),
      `[global]\nrepo1-path=${p('repo')}\nlog-path=${p('log')}\nlock-path=${p('lock')}\nlog-level-console=warn\nlog-level-file=off\nstart-fast=y\narchive-timeout=120\n\n[warehouse]\npg1-path=${p('data')}\npg1-port=${port}\npg1-socket-path=${p('run')}\n`,
    );
    // The drill's fresh instance knows nothing of the production repository's configuration.
    writeFileSync(p('drill.conf'), `[global]\nlog-level-file=off\nlock-path=${p('lock')}\n`);
    spawnSync('chown', ['-R', 'postgres:postgres', root]);
    ok(asPostgres(['initdb', '-D', p('data'), '-A', 'trust', '-U', 'postgres']), 'initdb');
    writeFileSync(
      p('data/postgresql.auto.conf'),
      `port = ${port}\nlisten_addresses = ''\nunix_socket_directories = '${p('run')}'\nwal_level = replica\narchive_mode = on\narchive_command = 'pgbackrest --stanza=warehouse archive-push %p'\nmax_wal_senders = 3\n`,
    );
    spawnSync('chown', ['postgres:postgres', p('data/postgresql.auto.conf')]);
    ok(asPostgres(['pg_ctl', '-D', p('data'), '-l', p('log/server.log'), '-w', 'start']), 'pg_ctl start');
    ok(asPostgres(['pgbackrest', '--stanza=warehouse', 'stanza-create']), 'stanza-create');
    sql('postgres', 'create database warehouse');
    sql('warehouse', 'create table stock_movements (id serial primary key, note text not null, moved_at timestamptz not null default now())');
    // The exact commands of the warehouse instance in dc03 (Europe/Berlin), rendered with
    // the repository and outbox in this temp dir.
    const out = await synth(plugin, production, { repositoryPath: p('repo'), outboxPath: outbox() });
    commands = new Map(
      out
        .records('Schedule')
        .filter((r) => r.dc === 'dc03' && r.object.metadata.name.startsWith('warehouse-dc03-'))
        .map((r) => [
          r.object.metadata.name,
          ((r.object as KubeObject).spec as { template: { hooks: { resources: { pre: { exec: { command: string[] } }[] }[] } } }).template.hooks.resources[0]!
            .pre[0]!.exec.command,
        ]),
    );
    // 20 running (a full/diff pair per rotation DC), their 20 paused fallbacks, one -full-now template
    expect(commands.size).toBe(41);
    expect(
      out
        .records('Schedule')
        .filter((r) => r.dc === 'dc03' && r.object.metadata.name.startsWith('warehouse-dc03-') && !(r.object.spec as { paused?: boolean }).paused),
    ).toHaveLength(20);
    // a fallback runs exactly the hook of the slot it stands in for
    expect(commands.get('warehouse-dc03-dc10-for-dc09-diff')).toEqual(commands.get('warehouse-dc03-dc09-diff'));
  }, 300_000);

  afterAll(() => {
    asPostgres(['pg_ctl', '-D', p('data'), '-m', 'immediate', 'stop']);
    void server;
    rmSync(root, { recursive: true, force: true });
  });

  let fullSet = '';
  let diffSet = '';

  it('Tuesday: the -full Schedule of the day takes a full and ships only that set; its -diff twin ships nothing', () => {
    sql('warehouse', "insert into stock_movements (note) values ('monday'), ('tuesday')");
    // 2027-02-02 is a Tuesday; 00:00 in Berlin = 2027-02-01 23:00 UTC; day 2 → dc02.
    const tuesday = at('2027-02-01T23:00:00Z');
    ok(hook('warehouse-dc03-dc02-diff', tuesday), 'tuesday diff twin');
    expect(readdirSync(outbox())).toEqual(['TOPOFORGE_SKIPPED']);
    ok(hook('warehouse-dc03-dc02-full', tuesday), 'tuesday full');
    expect(readFileSync(join(outbox(), 'TOPOFORGE_TYPE'), 'utf8').trim()).toBe('full');
    fullSet = readFileSync(join(outbox(), 'TOPOFORGE_SET'), 'utf8').trim();
    expect(fullSet).toMatch(/^\d{8}-\d{6}F$/);
    expect(readdirSync(join(outbox(), 'backup', 'warehouse')).sort()).toEqual([fullSet, 'backup.info', 'backup.info.copy'].sort());
    keep('tuesday');
  }, 240_000);

  it('Wednesday: the -diff Schedule takes a differential that ships only the changes, not the full', () => {
    sql('warehouse', "insert into stock_movements (note) values ('wednesday')");
    const wednesday = at('2027-02-02T23:00:00Z');
    ok(hook('warehouse-dc03-dc03-full', wednesday), 'wednesday full twin');
    expect(readdirSync(outbox())).toEqual(['TOPOFORGE_SKIPPED']);
    ok(hook('warehouse-dc03-dc03-diff', wednesday), 'wednesday diff');
    expect(readFileSync(join(outbox(), 'TOPOFORGE_TYPE'), 'utf8').trim()).toBe('differential');
    diffSet = readFileSync(join(outbox(), 'TOPOFORGE_SET'), 'utf8').trim();
    expect(diffSet).toMatch(new RegExp(`^${fullSet}_\\d{8}-\\d{6}D$`));
    // only the differential's set travels: the full stays in Tuesday's Backup
    expect(readdirSync(join(outbox(), 'backup', 'warehouse')).sort()).toEqual([diffSet, 'backup.info', 'backup.info.copy'].sort());
    const size = (dir: string): number =>
      readdirSync(dir, { withFileTypes: true }).reduce((a, e) => a + (e.isDirectory() ? size(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
    expect(size(outbox())).toBeLessThan(size(p('tuesday')) / 3);
    keep('wednesday');
  }, 240_000);

  const drill = (repo: string, set: string, db: string, query: string, expected: string, data: string) =>
    asPostgres(
      ['/bin/sh', '-c', DATABASE_SCRIPT, 'drill', 'warehouse', set, repo, data, db, query, expected, String(port + 1), p(`run-${data.split('/').pop()}`)],
      { PGBACKREST_CONFIG: p('drill.conf') },
    );
  const merged = (name: string, ...parts: string[]) => {
    rmSync(p(name), { recursive: true, force: true });
    for (const part of parts) cpSync(p(part), p(name), { recursive: true });
    spawnSync('chown', ['-R', 'postgres:postgres', p(name)]);
    return p(name);
  };
  const CHECK = "select string_agg(note, ',' order by id) from stock_movements";

  it("the drill restores Wednesday's differential with Tuesday's full into a fresh data directory and finds Wednesday's rows", () => {
    const repo = merged('restore-wed', 'tuesday', 'wednesday');
    const r = drill(repo, diffSet, 'warehouse', CHECK, 'monday,tuesday,wednesday', p('fresh-1'));
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain("check returned 'monday,tuesday,wednesday'");
  }, 240_000);

  it('the drill fails on the wrong data (the full alone), the wrong or empty database, an empty repository and a used data directory', () => {
    const full = merged('restore-tue', 'tuesday');
    const wrong = drill(full, fullSet, 'warehouse', CHECK, 'monday,tuesday,wednesday', p('fresh-2'));
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("the check returned 'monday,tuesday', expected 'monday,tuesday,wednesday'");
    const empty = drill(merged('restore-wed2', 'tuesday', 'wednesday'), diffSet, 'postgres', CHECK, 'monday,tuesday,wednesday', p('fresh-3'));
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('the check query failed');
    mkdirSync(p('empty-repo'));
    spawnSync('chown', ['postgres:postgres', p('empty-repo')]);
    const none = drill(p('empty-repo'), diffSet, 'warehouse', CHECK, 'x', p('fresh-4'));
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('no backup of stanza warehouse');
    const used = drill(merged('restore-wed3', 'tuesday', 'wednesday'), diffSet, 'warehouse', CHECK, 'x', p('data'));
    expect(used.status).toBe(1);
    expect(used.stderr).toContain('is not a fresh data directory');
    // a hostile query and expected value are data: the script runs them as one SQL string
    const hostile = drill(
      merged('restore-wed4', 'tuesday', 'wednesday'),
      diffSet,
      'warehouse',
      "select '$(touch /tmp/velero-drill-pwned)'",
      "'; touch /tmp/velero-drill-pwned2 #",
      p('fresh-5'),
    );
    expect(hostile.status).toBe(1);
    expect(existsSync('/tmp/velero-drill-pwned') || existsSync('/tmp/velero-drill-pwned2')).toBe(false);
  }, 300_000);

  it('over two more weeks of daily hooks, pgBackRest never keeps a differential whose full it expired', () => {
    const labels = () => {
      const info = JSON.parse(ok(asPostgres(['pgbackrest', '--stanza=warehouse', '--output=json', 'info']), 'info')) as {
        backup: { label: string; type: string; prior: string | null }[];
      }[];
      return info[0]!.backup;
    };
    let fulls = 0;
    for (let day = 4; day <= 17; day++) {
      sql('warehouse', `insert into stock_movements (note) values ('day ${day}')`);
      const t = Date.UTC(2027, 1, day - 1, 23, 0, 0); // local midnight in Berlin (winter)
      const slot = String(((day - 1) % 10) + 1).padStart(2, '0');
      for (const half of ['full', 'diff']) ok(hook(`warehouse-dc03-dc${slot}-${half}`, t), `day ${day} ${half}`);
      const backups = labels();
      const have = new Set(backups.map((b) => b.label));
      for (const b of backups.filter((x) => x.type === 'diff')) expect(have.has(b.prior!), `${b.label} lost its full ${b.prior}`).toBe(true);
      expect(backups.filter((b) => b.type === 'full').length).toBeLessThanOrEqual(2);
      fulls = Math.max(fulls, backups.filter((b) => b.type === 'full').length);
    }
    expect(fulls).toBe(2);
    expect(labels().some((b) => b.label === fullSet)).toBe(false); // Tuesday's full expired, with its differentials
  }, 600_000);

  it("after losing the DC with the week's full: the -full-now template's full and the next differential on it restore without that full", () => {
    const set = () => readFileSync(join(outbox(), 'TOPOFORGE_SET'), 'utf8').trim();
    // Thursday 18 (differential, slot dc08) and Friday 19 (full, slot dc09) as usual.
    for (const [day, slot] of [
      [18, '08'],
      [19, '09'],
    ] as const) {
      sql('warehouse', `insert into stock_movements (note) values ('day ${day}')`);
      for (const half of ['diff', 'full']) ok(hook(`warehouse-dc03-dc${slot}-${half}`, Date.UTC(2027, 1, day - 1, 23, 0, 0)), `day ${day} ${half}`);
    }
    const fridayFull = set();
    expect(fridayFull).toMatch(/F$/);
    // dc09 (holding Friday's full) is lost on Friday afternoon; the procedure runs at 02:00 UTC
    // on Saturday: one Backup from warehouse-dc03-full-now, a full on a Saturday.
    sql('warehouse', "insert into stock_movements (note) values ('saturday')");
    ok(hook('warehouse-dc03-full-now', Date.UTC(2027, 1, 20, 2, 0, 0)), 'out-of-cycle full');
    expect(readFileSync(join(outbox(), 'TOPOFORGE_TYPE'), 'utf8').trim()).toBe('full');
    const onDemand = set();
    expect(onDemand).toMatch(/F$/);
    keep('after-loss-full');
    // Sunday 21 (slot dc01): the differential builds on the out-of-cycle full, not on Friday's.
    sql('warehouse', "insert into stock_movements (note) values ('sunday')");
    ok(hook('warehouse-dc03-dc01-full', Date.UTC(2027, 1, 20, 23, 0, 0)), 'sunday full twin');
    ok(hook('warehouse-dc03-dc01-diff', Date.UTC(2027, 1, 20, 23, 0, 0)), 'sunday diff');
    const sunday = set();
    expect(sunday).toMatch(new RegExp(`^${onDemand}_\\d{8}-\\d{6}D$`));
    keep('after-loss-diff');
    const r = drill(
      merged('restore-after-loss', 'after-loss-full', 'after-loss-diff'),
      sunday,
      'warehouse',
      "select string_agg(note, ',' order by id) from stock_movements where note in ('day 19', 'saturday', 'sunday')",
      'day 19,saturday,sunday',
      p('fresh-6'),
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
  }, 600_000);
});
