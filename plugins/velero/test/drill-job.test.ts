/**
 * The drill job's orchestration script run for real by /bin/sh against a fake kubectl and
 * curl (a unit test: the Kubernetes side is recorded, not run; the database part runs for
 * real in pgbackrest.test.ts, the drill lease on a real kube-apiserver in
 * drill-lease-sandbox.test.ts). It takes the drill lease before anything else and releases
 * it at the end, picks the right backups, restores full then differential, fails at once on
 * a failed Restore, pushes the result and the RTO, and fails visibly when another drill
 * holds the lease for longer than it may wait.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { synth } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import velero from '../src/index.js';

const plugin = velero as PluginDefinition<never>;
const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];
const dir = mkdtempSync(join(tmpdir(), 'velero-drill-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Fake kubectl: logs every call; answers from files in $FAKE. The drill lease is free unless
// $FAKE/lease-busy exists: then another drill holds it and renews it (a new resourceVersion each read).
const KUBECTL = `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE/calls"
case "$*" in
  *"create -f -"*)
    input=$(cat)
    case "$input" in *'"kind":"Lease"'*) if [ -e "$FAKE/lease-busy" ]; then
      echo 'Error from server (AlreadyExists): error when creating "STDIN": leases.coordination.k8s.io "restore-drill" already exists' >&2; exit 1
    fi ;; esac
    printf '%s\\n' "$input" >> "$FAKE/created" ;;
  *"get lease"*)
    if [ -e "$FAKE/lease-busy" ]; then echo x >> "$FAKE/lease-busy"; printf '%s|300|0|another-drill-pod' "$(($(wc -l < "$FAKE/lease-busy")))"
    else printf '7|300|0|%s' "$DRILL_HOLDER"; fi ;;
  *"get backups.velero.io"*) cat "$FAKE/backups" ;;
  *"get restore.velero.io"*) cat "$FAKE/phase" ;;
  *"get pod"*) echo src-pod ;;
  *"cat /outbox/TOPOFORGE_SET"*) case "$*" in *-src-1*) echo FULLSET ;; *) echo DIFFSET ;; esac ;;
  *"-- env TZ="*) shift; while [ "$1" != -- ]; do shift; done; shift; "$@" ;;
  *"-xf -"*) cat > /dev/null ;;
  *"-- sh -c"*) while [ "$1" != -c ]; do shift; done; shift 2; printf '%s\\n' "$@" > "$FAKE/db-args"; exit "$(cat "$FAKE/db-rc")" ;;
esac
exit 0
`;
const CURL = `#!/bin/sh
for a in "$@"; do last=$a; done
{ echo "URL $last"; cat; } >> "$FAKE/pushed"
`;

async function job(instance: string) {
  const out = await synth(plugin, staging, { restoreDrill: { fromEnvironment: 'production' } }, [production]);
  const cm = out.objects('ConfigMap').find((c) => c.metadata.name === `restore-drill-${instance}`)!;
  for (const [k, v] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(dir, k), v);
  const cron = out.objects('CronJob').find((c) => c.metadata.name === `restore-drill-${instance}`)!;
  const env = (cron.spec as { jobTemplate: { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } } }).jobTemplate.spec
    .template.spec.containers[0]!.env;
  writeFileSync(join(dir, 'kubectl'), KUBECTL);
  writeFileSync(join(dir, 'curl'), CURL);
  chmodSync(join(dir, 'kubectl'), 0o755);
  chmodSync(join(dir, 'curl'), 0o755);
  return (backups: string, phase: string, dbRc = 0, leaseBusy = false) => {
    for (const f of ['calls', 'created', 'pushed', 'db-args']) writeFileSync(join(dir, f), '');
    if (leaseBusy) writeFileSync(join(dir, 'lease-busy'), '');
    else rmSync(join(dir, 'lease-busy'), { force: true });
    writeFileSync(join(dir, 'backups'), backups);
    writeFileSync(join(dir, 'phase'), phase);
    writeFileSync(join(dir, 'db-rc'), String(dbRc));
    const r = spawnSync('/bin/sh', [join(dir, 'drill.sh')], {
      encoding: 'utf8',
      env: {
        ...Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value])),
        // downward API in the cluster; a short wait for the busy-lease case
        DRILL_HOLDER: `restore-drill-${instance}-29000000-x7k2p`,
        LEASE_WAIT_SECONDS: '2',
        LEASE_POLL_SECONDS: '1',
        PATH: `${dir}:/usr/bin:/bin`,
        FAKE: dir,
        DRILL_DIR: dir,
      },
    });
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { ...r, calls: read('calls'), created: read('created'), pushed: read('pushed'), db: read('db-args') };
  };
}

describe('the drill job (sh, fake kubectl and curl)', () => {
  // warehouse-dc09: Kolkata; fulls Tuesday and Friday. 2027-02-01T18:30Z = Tue 00:00 local.
  const backups =
    [
      'warehouse-dc09-dc02-full-20270201183000 full 2027-02-01T18:30:05Z', // Tuesday: real full
      'warehouse-dc09-dc02-diff-20270201183000 differential 2027-02-01T18:30:06Z', // Tuesday: the no-op twin
      'warehouse-dc09-dc03-diff-20270202183000 differential 2027-02-02T18:30:05Z', // Wednesday: real differential
      'warehouse-dc09-dc03-full-20270202183000 full 2027-02-02T18:30:06Z', // Wednesday: the no-op twin
    ].join('\n') + '\n';

  it("restores Tuesday's full, then Wednesday's differential, checks the data and pushes success and RTO", async () => {
    const run = await job('warehouse-dc09');
    const r = run(backups, 'Completed');
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('drilling warehouse-dc09: full warehouse-dc09-dc02-full-20270201183000, last warehouse-dc09-dc03-diff-20270202183000');
    const restores = r.created.split('\n').filter((l) => l.includes('"kind":"Restore"'));
    expect(restores.map((l) => (JSON.parse(l) as { spec: { backupName: string } }).spec.backupName)).toEqual([
      'warehouse-dc09-dc02-full-20270201183000',
      'warehouse-dc09-dc03-diff-20270202183000',
    ]);
    expect(r.db.split('\n').slice(0, 6)).toEqual(['drill', 'warehouse', 'DIFFSET', '/drill/repo', '/drill/pgdata/data', 'warehouse']);
    expect(r.pushed).toContain(
      'URL http://pushgateway.monitoring.svc:9091/metrics/job/topoforge-restore-drill/environment/production/database_instance/warehouse-dc09',
    );
    expect(r.pushed).toContain('topoforge_restore_drill_success 1');
    expect(r.pushed).toMatch(/topoforge_restore_drill_rto_seconds \d+/);
    expect(r.calls.indexOf('delete namespace -l topoforge.io/restore-drill=warehouse-dc09 --ignore-not-found')).toBeLessThan(r.calls.indexOf('\ncreate -f -'));
    // the drill lease first, released last (only after reading that this pod still holds it)
    const calls = r.calls.trim().split('\n');
    expect(calls[0]).toBe('--request-timeout=30s -n velero create -f -');
    expect(JSON.parse(r.created.split('\n')[0]!)).toMatchObject({
      kind: 'Lease',
      metadata: { name: 'restore-drill', namespace: 'velero' },
      spec: { holderIdentity: 'restore-drill-warehouse-dc09-29000000-x7k2p', leaseDurationSeconds: 300 },
    });
    expect(calls.slice(-2)).toEqual([
      '--request-timeout=30s -n velero get lease restore-drill -o jsonpath={.metadata.resourceVersion}|{.spec.leaseDurationSeconds}|{.spec.leaseTransitions}|{.spec.holderIdentity}',
      `--request-timeout=30s delete --raw /apis/coordination.k8s.io/v1/namespaces/velero/leases/restore-drill -f ${calls.at(-1)!.split(' -f ')[1]}`,
    ]);
    expect(r.stdout).toContain('drill lease restore-drill released by restore-drill-warehouse-dc09-29000000-x7k2p');
    expect(r.pushed).toContain('topoforge_restore_drill_lease_wait_seconds 0');
  });

  it('while another drill holds the lease, waits at most LEASE_WAIT_SECONDS, then fails visibly without touching anything', async () => {
    const run = await job('warehouse-dc09');
    const t0 = Date.now();
    const r = run(backups, 'Completed', 0, true);
    expect(r.status).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.stderr).toMatch(/gave up after [23]s waiting for the drill lease restore-drill, held by another-drill-pod/);
    expect(r.pushed).toContain('topoforge_restore_drill_success 0');
    expect(r.pushed).toMatch(/topoforge_restore_drill_lease_wait_seconds [23]\n/);
    expect(r.pushed).not.toContain('last_success');
    // only lease calls: no namespace, Restore or pod was touched, and no release of the other drill's lease
    expect(
      r.calls
        .trim()
        .split('\n')
        .every((c) => / (create -f -|get lease restore-drill .*)$/.test(c)),
    ).toBe(true);
    expect(r.calls).not.toContain('delete');
  });

  it('fails at once on a failed Restore, and on a failed check, pushing success 0 and keeping the last success', async () => {
    const run = await job('warehouse-dc09');
    const failed = run(backups, 'PartiallyFailed');
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain(': PartiallyFailed');
    expect(failed.calls.match(/get restore\.velero\.io/g)).toHaveLength(1); // no waiting
    expect(failed.pushed).toContain('topoforge_restore_drill_success 0');
    expect(failed.pushed).not.toContain('last_success');
    const wrong = run(backups, 'Completed', 1);
    expect(wrong.status).not.toBe(0);
    expect(wrong.pushed).toContain('topoforge_restore_drill_success 0');
    const none = run('', 'Completed');
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('no completed production backup of warehouse-dc09');
  });

  it('after a DC loss, takes the out-of-cycle full (on-demand label, any weekday) as the base of the next differential', async () => {
    const run = await job('warehouse-dc09');
    const after =
      backups +
      [
        'warehouse-dc09-full-now-after-dc02-lost full 2027-02-03T02:00:00Z full', // Wednesday 07:30 local: the procedure's full
        'warehouse-dc09-dc04-diff-20270203183000 differential 2027-02-03T18:30:05Z', // Thursday: real differential, on that full
        'warehouse-dc09-dc04-full-20270203183000 full 2027-02-03T18:30:06Z', // Thursday: the no-op twin
      ].join('\n') +
      '\n';
    const r = run(after, 'Completed');
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('drilling warehouse-dc09: full warehouse-dc09-full-now-after-dc02-lost, last warehouse-dc09-dc04-diff-20270203183000');
  });

  it('for a full-only policy takes the newest full alone', async () => {
    const run = await job('social-network');
    const r = run('social-network-dc01-20270201000000 full 2027-02-01T00:00:05Z\nsocial-network-dc02-20270202000000 full 2027-02-02T00:00:05Z\n', 'Completed');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('full social-network-dc02-20270202000000, last social-network-dc02-20270202000000');
    expect(r.created.split('\n').filter((l) => l.includes('"kind":"Restore"'))).toHaveLength(1);
  });
});
