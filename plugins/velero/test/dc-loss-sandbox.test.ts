/**
 * The DC-loss procedure and its reverse on a real kube-apiserver (@topoforge/sandbox) with the
 * Velero CRDs of ../shared/crds: production rendered, the Velero objects of one surviving DC
 * (the standby of the databases whose primary is in the lost DC) applied with strict
 * server-side validation; then each line of `dcLossProcedure(X)` run verbatim by /bin/sh, as the
 * README documents it, with the real kubectl; `velero` is the real CLI when
 * TOPOFORGE_VELERO_CLI names it, else test/velero-kubectl.mjs, which makes the same API changes
 * (spec.paused, spec.skipImmediately, a Backup from the Schedule's template) with kubectl.
 * Asserted on the API server's objects: what stores in X paused, X's fallbacks and standbys
 * unpaused with skipImmediately, one Backup per -full-now template created from its template
 * and accepted by the Backup CRD; then `dcRecoveryProcedure(X)` puts every Schedule back as
 * applied. No Velero server runs: nothing is backed up, the objects are what it would act on.
 * Skipped with a message when ../shared or the cluster tools (`pnpm run setup:tools`) are absent.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { KubeObject, PluginDefinition } from '@topoforge/plugin-sdk';
import { findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { kubectlSync, readState, requireTool, SETUP_HINT, startSandbox, stopSandbox, toolsAvailable, type SandboxState } from '@topoforge/sandbox';
import { parseGoDuration } from '@topoforge/robfig-cron';
import velero, { dcLossProcedure, dcRecoveryProcedure, standbyDc } from '../src/index.js';

vi.setConfig({ testTimeout: 600_000, hookTimeout: 300_000 });

const shared = findSharedDir(fileURLToPath(new URL('../../..', import.meta.url)));
const tools = toolsAvailable();
if (!shared) console.warn(`dc-loss-sandbox.test.ts ${SHARED_MISSING}`);
if (!tools) console.warn(`dc-loss-sandbox.test.ts skipped: kube-apiserver, kube-controller-manager, kubectl or etcd not found — ${SETUP_HINT}`);
const veleroCli = process.env.TOPOFORGE_VELERO_CLI;

const plugin = velero as PluginDefinition<never>;
const envDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const LOST = 'dc01';
const NS = 'velero';
const L = {
  dc: 'topoforge.io/backup-dc',
  fallback: 'topoforge.io/fallback-for',
  standby: 'topoforge.io/standby-for',
  onDemand: 'topoforge.io/on-demand',
  instance: 'topoforge.io/database-instance',
};

interface Schedule {
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { paused?: boolean; skipImmediately?: boolean; template: { storageLocation: string; metadata?: { labels?: Record<string, string> } } };
}
interface Backup {
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

/**
 * A Backup spec as the real CLI writes it, comparable with the template: the Go round trip adds
 * zero timeouts (csiSnapshotTimeout, itemOperationTimeout: "0s") and writes durations as Go
 * prints them ("30m" → "30m0s"); BackupBuilder.FromSchedule adds velero.io/schedule-name to the
 * template's own label map, which the spec shares.
 */
function comparable(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => comparable(x));
  if (typeof v === 'string' && /(timeout|ttl)$/i.test(key) && /^(\d+(\.\d+)?(h|m|s|ms))+$/.test(v)) return parseGoDuration(v);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if ((k === 'csiSnapshotTimeout' || k === 'itemOperationTimeout') && x === '0s') continue;
    if (k === 'velero.io/schedule-name' && key === 'labels') continue;
    out[k] = comparable(x, k);
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'topoforge-velero-dc-loss-'));
const sandboxDir = join(work, 'sandbox');
afterAll(async () => {
  if (readState(sandboxDir)) await stopSandbox(sandboxDir);
  rmSync(work, { recursive: true, force: true });
}, 300_000);

describe.runIf(shared && tools)('the DC-loss procedure and its reverse on a real kube-apiserver with the Velero CRDs', () => {
  it(`${LOST} lost: the documented commands, run in a surviving cluster, change exactly the Schedules they should; the recovery undoes it`, async () => {
    const started = Date.now();
    const loaded = loadEnvironments(envDir);
    if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
    const production = loaded.value.find((e) => e.name === 'production') as Environment;
    // The surviving cluster: the standby of the replicated databases whose primary is in LOST.
    const replicated = production.services.flatMap((s) => (s.database?.topology === 'replicated' ? s.database.instances : []));
    const here = standbyDc(
      production,
      replicated.find((i) => i.primary === LOST)!,
    )!;
    expect(here).not.toBe(LOST);
    const out = await synth(plugin, production, {}, loaded.value);
    const objects = out
      .records()
      .filter((r) => r.dc === here)
      .map((r) => r.object as KubeObject);
    const kinds = new Set(objects.map((o) => o.kind));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['BackupStorageLocation', 'Schedule']));

    const state: SandboxState = await startSandbox({ dir: sandboxDir, clusters: [{ name: here, context: `prod-${here}` }], crdDirs: [join(shared!, 'crds')] });
    const k = (args: string[], input?: string) => kubectlSync(state, `prod-${here}`, args, input);
    for (const ns of new Set(objects.map((o) => o.metadata.namespace).filter((n): n is string => !!n))) {
      if (k(['get', 'namespace', ns]).code !== 0) expect(k(['create', 'namespace', ns]).code).toBe(0);
    }
    const applied = k(
      ['apply', '--server-side', '--validate=strict', '--field-manager=topoforge', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    );
    expect(applied.code, applied.err).toBe(0);

    const schedules = () => (JSON.parse(k(['-n', NS, 'get', 'schedules.velero.io', '-o', 'json']).out) as { items: Schedule[] }).items;
    const git = new Map(objects.filter((o) => o.kind === 'Schedule').map((o) => [o.metadata.name, (o.spec as { paused?: boolean }).paused === true]));
    const before = schedules();
    expect(before.map((s) => s.metadata.name).sort()).toEqual([...git.keys()].sort());
    const locations = new Set(objects.filter((o) => o.kind === 'BackupStorageLocation').map((o) => o.metadata.name));

    // A shell as the operator's: KUBECONFIG with this cluster as current context, kubectl and velero on PATH.
    const kubeconfig = join(work, 'kubeconfig');
    const kc = parse(readFileSync(state.kubeconfig, 'utf8')) as Record<string, unknown>;
    writeFileSync(kubeconfig, stringify({ ...kc, 'current-context': `prod-${here}` }), { mode: 0o600 });
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(requireTool('kubectl'), join(bin, 'kubectl'));
    if (veleroCli) symlinkSync(veleroCli, join(bin, 'velero'));
    else {
      copyFileSync(fileURLToPath(new URL('./velero-kubectl.mjs', import.meta.url)), join(bin, 'velero'));
      chmodSync(join(bin, 'velero'), 0o755);
    }
    const sh = (line: string) => {
      const r = spawnSync('/bin/sh', ['-ec', line], {
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: kubeconfig, HOME: work, PATH: [bin, process.env.PATH ?? ''].join(delimiter) },
      });
      expect(r.status, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
      return r.stdout;
    };

    // The loss: each documented line, verbatim.
    const log = dcLossProcedure(LOST, NS).map(sh).join('');
    const during = new Map(schedules().map((s) => [s.metadata.name, s]));
    const changed: string[] = [];
    for (const s of before) {
      const l = s.metadata.labels;
      const now = during.get(s.metadata.name)!;
      const want = l[L.onDemand] ? true : l[L.fallback] === LOST || l[L.standby] === LOST ? false : l[L.dc] === LOST ? true : git.get(s.metadata.name)!;
      expect(`${s.metadata.name} paused=${now.spec.paused === true}`).toBe(`${s.metadata.name} paused=${want}`);
      if (want !== git.get(s.metadata.name)) changed.push(s.metadata.name);
      // unpaused by the procedure: the next run is the cron's next time, not at once
      if (git.get(s.metadata.name) && !want) expect(now.spec.skipImmediately, s.metadata.name).toBe(true);
      // running, storing elsewhere: untouched
      if (!git.get(s.metadata.name) && l[L.dc] !== LOST) expect(now.spec).toEqual(s.spec);
    }
    const unpaused = before.filter((s) => git.get(s.metadata.name) && !during.get(s.metadata.name)!.spec.paused);
    const paused = before.filter((s) => !git.get(s.metadata.name) && during.get(s.metadata.name)!.spec.paused);
    // this cluster takes over dc01's days (fallbacks) and its databases (standbys)
    expect(unpaused.some((s) => s.metadata.labels[L.fallback] === LOST)).toBe(true);
    expect(unpaused.some((s) => s.metadata.labels[L.standby] === LOST)).toBe(true);
    expect(paused.length).toBeGreaterThan(0);
    expect(paused.every((s) => s.spec.template.storageLocation === LOST)).toBe(true);
    expect(unpaused.every((s) => s.spec.template.storageLocation !== LOST)).toBe(true);

    // One Backup per -full-now template that concerns LOST, made from its template, accepted by the Backup CRD.
    const templates = before.filter((s) => s.metadata.labels[L.onDemand] === 'full' && (s.metadata.labels[L.standby] ?? LOST) === LOST);
    expect(templates.length).toBeGreaterThanOrEqual(2); // this DC's own instance and the standby's
    const backups = (JSON.parse(k(['-n', NS, 'get', 'backups.velero.io', '-o', 'json']).out) as { items: Backup[] }).items;
    expect(backups.map((b) => b.metadata.name).sort()).toEqual(templates.map((t) => `${t.metadata.name}-after-${LOST}-lost`).sort());
    for (const t of templates) {
      const b = backups.find((x) => x.metadata.name === `${t.metadata.name}-after-${LOST}-lost`)!;
      const template = before.find((s) => s.metadata.name === t.metadata.name)!.spec.template as Record<string, unknown>;
      expect(comparable(b.spec)).toEqual(comparable(template));
      expect(b.metadata.labels).toEqual({ ...(template.metadata as { labels: Record<string, string> }).labels, 'velero.io/schedule-name': t.metadata.name });
      expect(b.metadata.labels[L.onDemand]).toBe('full');
      expect(b.metadata.labels['topoforge.io/backup-type']).toBe('full');
      expect(locations.has(b.spec.storageLocation as string)).toBe(true);
      expect(b.spec.storageLocation).toBe(here);
    }

    // The DC is back: the reverse, each line verbatim; every Schedule as applied, the resumed ones skipping their overdue run.
    const recoveryLog = dcRecoveryProcedure(LOST, NS).map(sh).join('');
    const after = new Map(schedules().map((s) => [s.metadata.name, s]));
    const wrong = before.filter((s) => (after.get(s.metadata.name)!.spec.paused === true) !== git.get(s.metadata.name)).map((s) => s.metadata.name);
    expect(wrong).toEqual([]);
    for (const s of paused) expect(after.get(s.metadata.name)!.spec.skipImmediately, s.metadata.name).toBe(true);
    for (const s of unpaused) expect(after.get(s.metadata.name)!.spec.skipImmediately, s.metadata.name).toBeUndefined();
    // nothing else was touched by either procedure
    for (const s of before.filter((x) => !changed.includes(x.metadata.name))) expect(after.get(s.metadata.name)!.spec, s.metadata.name).toEqual(s.spec);
    console.info(
      `dc-loss-sandbox: ${here} (surviving, ${before.length} Schedules, ${locations.size} locations) with ${veleroCli ? `the velero CLI ${veleroCli}` : 'velero-kubectl.mjs'}: ` +
        `${paused.length} paused, ${unpaused.length} unpaused, ${templates.length} Backups, all back after the recovery, in ${Math.round((Date.now() - started) / 1000)} s\n${log}${recoveryLog}`,
    );
  });
});
