/**
 * Restore drills on the test stand: each production database instance's latest backup is
 * restored into a FRESH PostgreSQL instance in an isolated namespace and checked with the
 * service's own data assertion (database.check). Weekly, one CronJob per instance, at a
 * time in the drill window that depends on the instance's name alone (drillStart); one
 * drill restores at a time, whatever the schedules, through the drill Lease (lease.ts).
 * The result, the time to restore (RTO) and the wait for the lease are pushed to a
 * Pushgateway.
 *
 * The orchestration (DRILL_SCRIPT, in the drill job) and the database part
 * (DATABASE_SCRIPT, run in the fresh instance) are CONSTANT scripts: every value reaches
 * them through the environment or as positional parameters, always double-quoted, so no
 * model or option value is ever shell code. Objects the job creates (Restores, the fresh
 * Pod, the resource modifiers) are built here as JSON, not by the shell.
 *
 * Isolation: only the database pod of the backup is restored (`includedResources: pods`,
 * the primary's labels), into `drill-<instance>-src-N`, and a resource modifier replaces
 * its containers and volumes with a holder of the outbox volume: no production Secret,
 * workload, Canary or Gslb is restored. Namespaces get a deny-all NetworkPolicy; data
 * moves through the API server (`kubectl exec … tar`).
 */
import { byString, type Environment } from '@topoforge/model';
import { ruleTestFile, type KubeObject, type RuleTestFile } from '@topoforge/plugin-sdk';
import { ISO_WEEKDAY, type HookPaths } from './hooks.js';
import { LABEL_INSTANCE, LABEL_RESTORE_DRILL, OUTBOX_VOLUME } from './names.js';
import { runners } from './schedules.js';
import type { RuleGroup } from './alerts.js';
import { promString } from './alerts.js';
import { backupPolicyOf } from './policy.js';
import { DRILL_LEASE, LEASE_SCRIPT, LEASE_TIMING, leaseRbac } from './lease.js';

export interface DrillOptions {
  readonly namespace: string;
  readonly weekday: string;
  readonly start: string;
  readonly timeZone: string;
  readonly windowMinutes: number;
  readonly waitMinutes: number;
  readonly image: string;
  readonly databaseImage: string;
  readonly pushgateway: string;
  readonly restoreTimeoutMinutes: number;
  readonly selector: Readonly<Record<string, string>>;
  readonly container: string;
  readonly paths: HookPaths;
}

const SA = 'restore-drill';

/**
 * The selector's labels in key order: the order the option was written in means nothing
 * (a selector is a set), so it must not reach the job's environment or its Restore.
 */
const labelsByKey = (labels: Readonly<Record<string, string>>): [string, string][] => Object.entries(labels).sort(([a], [b]) => byString(a, b));
export const DRILL_JOB = 'topoforge-restore-drill';

/**
 * Restores one backup set (a full, or a differential with its full already laid down in
 * the repository) into a fresh data directory, starts PostgreSQL on a private socket, runs
 * the read-only check and compares its output.
 * $1 stanza  $2 set label  $3 repository  $4 data directory (must be empty)  $5 database
 * $6 query  $7 expected output  $8 port  $9 socket directory.
 */
export const DATABASE_SCRIPT = `set -eu
stanza=$1 set=$2 repo=$3 pgdata=$4 dbname=$5 query=$6 expected=$7 port=$8 sockdir=$9
fail() { printf 'restore drill FAILED: %s\\n' "$1" >&2; exit 1; }
[ -f "$repo/backup/$stanza/backup.info" ] || fail "no backup of stanza $stanza in $repo"
[ -d "$repo/backup/$stanza/$set" ] || fail "backup set $set is not in $repo"
if [ -d "$pgdata" ] && [ -n "$(ls -A "$pgdata")" ]; then fail "$pgdata is not a fresh data directory"; fi
mkdir -p "$pgdata" "$sockdir"
chmod 700 "$pgdata"
pgbackrest --stanza="$stanza" --repo1-path="$repo" --pg1-path="$pgdata" --set="$set" --type=immediate --target-action=promote --archive-mode=off restore || fail "pgbackrest restore of $set"
postgres -D "$pgdata" -c port="$port" -c listen_addresses= -c unix_socket_directories="$sockdir" > "$pgdata/drill-server.log" 2>&1 &
server=$!
stop() { kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap stop EXIT
export PGHOST="$sockdir" PGPORT="$port" PGDATABASE="$dbname" PGOPTIONS='-c default_transaction_read_only=on'
tries=0
until [ "$(psql -X -A -t -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 600 ] || ! kill -0 "$server" 2>/dev/null; then cat "$pgdata/drill-server.log" >&2; fail "the restored server did not finish recovery"; fi
  sleep 1
done
got=$(psql -X -A -t -v ON_ERROR_STOP=1 -c "$query") || fail "the check query failed"
if [ "$got" != "$expected" ]; then fail "the check returned '$got', expected '$expected'"; fi
echo "restore drill passed: $set of $stanza restored, check returned '$got'"
`;

/** The drill job: picks the backups, restores them, runs DATABASE_SCRIPT, reports. Values come from the environment. */
export const DRILL_SCRIPT = `#!/bin/sh
# Restore drill of one database instance; see the velero plugin's README.
set -eu
started=
result=1
ns=$DRILL_NAMESPACE
dir=\${DRILL_DIR:-/drill}
backups=$(mktemp)
renewer=
child=
. "$dir/lease.sh"
# A long command runs in the background and is waited for ("cmd & waitbg"): sh runs a trap only
# once its foreground command has ended, and the kubelet follows the TERM of the Job's deadline
# with KILL after the grace period (30 s), long before a 10-minute kubectl wait ends, so the
# drill would neither release its lease nor push its failure. "wait" returns at once on TERM.
waitbg() { child=$!; wait "$child"; child=; }
lease_init
push() {
  now=$(date +%s)
  {
    echo "# TYPE topoforge_restore_drill_success gauge"
    echo "topoforge_restore_drill_success $1"
    echo "# TYPE topoforge_restore_drill_last_run_timestamp_seconds gauge"
    echo "topoforge_restore_drill_last_run_timestamp_seconds $now"
    echo "# TYPE topoforge_restore_drill_lease_wait_seconds gauge"
    echo "topoforge_restore_drill_lease_wait_seconds $lease_waited"
    if [ "$1" = 1 ]; then
      echo "# TYPE topoforge_restore_drill_last_success_timestamp_seconds gauge"
      echo "topoforge_restore_drill_last_success_timestamp_seconds $now"
      echo "# TYPE topoforge_restore_drill_rto_seconds gauge"
      echo "topoforge_restore_drill_rto_seconds $((now - started))"
    fi
  } | curl -fsS --max-time 30 --data-binary @- "$PUSHGATEWAY/metrics/job/${DRILL_JOB}/environment/$FROM_ENVIRONMENT/database_instance/$INSTANCE" || echo "could not push the drill result to $PUSHGATEWAY" >&2
}
finish() {
  trap '' TERM INT
  # The command the drill was waiting for when it was stopped (its namespaces stay, see below).
  if [ -n "$child" ]; then kill "$child" 2>/dev/null || :; fi
  # The lease goes first (the next drill may start), only if this drill still holds it.
  if [ -n "$renewer" ]; then kill "$renewer" 2>/dev/null || :; wait "$renewer" 2>/dev/null || :; fi
  lease_release
  # A failed drill's namespaces stay for investigation; the next drill removes them first.
  if [ "$result" = 0 ]; then push 1; else push 0; fi
  lease_done
  rm -f "$backups"
}
trap finish EXIT
# TERM: the Job's activeDeadlineSeconds, or the lease renewal found the lease lost; the drill fails and reports.
trap 'exit 143' TERM
trap 'exit 130' INT
# 0. One drill at a time on the test stand: wait for the drill lease (src/lease.ts), keep it renewed.
lease_acquire || exit 1
lease_keep "$$" &
renewer=$!
started=$(date +%s)
# 1. Leftovers of an earlier drill: restoring into them would skip existing objects.
kubectl delete namespace -l "topoforge.io/restore-drill=$INSTANCE" --ignore-not-found --wait=true --timeout=10m & waitbg
# 2. The isolated namespaces and the fresh instance.
for n in "$ns" "$ns-src-1" "$ns-src-2"; do
  sed -e "s/__NAMESPACE__/$n/g" "$dir/namespace.json" | kubectl create -f -
  sed -e "s/__NAMESPACE__/$n/g" "$dir/isolation.json" | kubectl create -f -
done
kubectl create -f "$dir/fresh-instance.json"
kubectl wait -n "$ns" pod/fresh-instance --for=condition=Ready --timeout=10m & waitbg
# 3. The backups: the newest real one, and for a differential the newest full before it.
#    A weekday pair's Schedule ships nothing on the other half's days: the local weekday of
#    the Backup's start (in the source DC's zone, read in the fresh instance, which has
#    tzdata) tells which Backups carry a set.
kubectl get backups.velero.io -n "$VELERO_NAMESPACE" -l "topoforge.io/database-instance=$INSTANCE,topoforge.io/environment=$FROM_ENVIRONMENT" \\
  --sort-by=.status.startTimestamp \\
  -o jsonpath='{range .items[?(@.status.phase=="Completed")]}{.metadata.name}{" "}{.metadata.labels.topoforge\\.io/backup-type}{" "}{.status.startTimestamp}{" "}{.metadata.labels.topoforge\\.io/on-demand}{"\\n"}{end}' > "$backups"
real() { # $1 type $2 startTimestamp $3 on-demand label
  [ -z "$FULL_WEEKDAYS" ] && return 0
  # the out-of-cycle full after a DC loss (-full-now template) is a full on any weekday
  [ "$3" = full ] && [ "$1" = full ] && return 0
  day=$(kubectl exec -n "$ns" fresh-instance -- env TZ="$SOURCE_ZONE" date -d "$2" +%u)
  case " $FULL_WEEKDAYS " in *" $day "*) [ "$1" = full ] ;; *) [ "$1" = differential ] ;; esac
}
chosen= chosen_type= chosen_at=
while read -r name type at ondemand; do
  if real "$type" "$at" "$ondemand"; then chosen=$name chosen_type=$type chosen_at=$at; fi
done < "$backups"
[ -n "$chosen" ] || { echo "no completed $FROM_ENVIRONMENT backup of $INSTANCE to drill" >&2; exit 1; }
full=$chosen
if [ "$chosen_type" = differential ]; then
  full=
  while read -r name type at ondemand; do
    if [ "$type" = full ] && [ "$at" \\< "$chosen_at" ] && real "$type" "$at" "$ondemand"; then full=$name; fi
  done < "$backups"
  [ -n "$full" ] || { echo "the differential $chosen has no full backup left" >&2; exit 1; }
fi
echo "drilling $INSTANCE: full $full, last $chosen"
# 4. Restore the database pod of each backup (full first), holding only its outbox.
n=0
for backup in $full $( [ "$chosen" != "$full" ] && echo "$chosen" ); do
  n=$((n + 1))
  case "$backup" in *[!a-z0-9.-]*) echo "unexpected backup name $backup" >&2; exit 1 ;; esac
  restore="drill-$INSTANCE-$n-$(date -u +%Y%m%d%H%M%S)"
  sed -e "s/__BACKUP__/$backup/" -e "s/__NAME__/$restore/" -e "s/__TARGET__/$ns-src-$n/" "$dir/restore.json" | kubectl create -f -
  waited=0
  while :; do
    phase=$(kubectl get restore.velero.io -n "$VELERO_NAMESPACE" "$restore" -o jsonpath='{.status.phase}')
    case "$phase" in
      Completed) break ;;
      Failed|PartiallyFailed|FailedValidation) echo "restore $restore of $backup: $phase" >&2; exit 1 ;;
    esac
    waited=$((waited + 10))
    [ "$waited" -lt $((RESTORE_TIMEOUT_MINUTES * 60)) ] || { echo "restore $restore still $phase after $RESTORE_TIMEOUT_MINUTES minutes" >&2; exit 1; }
    sleep 10 & waitbg
  done
  kubectl wait -n "$ns-src-$n" pod -l "$DATABASE_SELECTOR" --for=condition=Ready --timeout=15m & waitbg
  pod=$(kubectl get pod -n "$ns-src-$n" -l "$DATABASE_SELECTOR" -o jsonpath='{.items[0].metadata.name}')
  kubectl exec -n "$ns-src-$n" "$pod" -c outbox-holder -- tar -C /outbox -cf - . | kubectl exec -i -n "$ns" fresh-instance -- tar -C /drill/repo -xf - & waitbg
  set_label=$(kubectl exec -n "$ns-src-$n" "$pod" -c outbox-holder -- cat /outbox/TOPOFORGE_SET)
done
# 5. Restore into the fresh data directory and check the data.
kubectl exec -n "$ns" fresh-instance -- sh -c "$(cat "$dir/database.sh")" drill "$STANZA" "$set_label" /drill/repo /drill/pgdata/data "$DATABASE" "$CHECK_QUERY" "$CHECK_EXPECT" 5432 /drill/run & waitbg
result=0
echo "restore drill of $INSTANCE passed in $(( $(date +%s) - started ))s"
kubectl delete namespace -l "topoforge.io/restore-drill=$INSTANCE" --wait=false
`.replace('${DRILL_JOB}', DRILL_JOB);

const isolation = (): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'restore-drill-isolation', namespace: '__NAMESPACE__' },
  spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
});

/** The Restore the job creates for one backup (placeholders filled in by the job). */
export function drillRestore(instance: string, sourceNamespace: string, veleroNamespace: string, selector: Readonly<Record<string, string>>): KubeObject {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: { name: '__NAME__', namespace: veleroNamespace, labels: { [LABEL_INSTANCE]: instance, [LABEL_RESTORE_DRILL]: 'true' } },
    spec: {
      backupName: '__BACKUP__',
      includedNamespaces: [sourceNamespace],
      namespaceMapping: { [sourceNamespace]: '__TARGET__' },
      // Only the primary database pod, nothing else of production (no Secrets, workloads,
      // Canaries, Gslbs); its outbox volume is restored by Velero's fs-restore.
      includedResources: ['pods'],
      labelSelector: { matchLabels: Object.fromEntries(labelsByKey(selector)) },
      includeClusterResources: false,
      restorePVs: false,
      existingResourcePolicy: 'none',
      resourceModifier: { kind: 'ConfigMap', name: `restore-drill-modifiers-${instance}` },
    },
  };
}

/** Velero resource modifiers: the restored pod keeps only its outbox and a holder container. */
function modifiers(sourceNamespace: string, image: string): string {
  const patch = (path: string, value: unknown) => ({ operation: 'add', path, value: JSON.stringify(value) });
  return JSON.stringify({
    version: 'v1',
    resourceModifierRules: [
      {
        conditions: { groupResource: 'pods', namespaces: [sourceNamespace] },
        patches: [
          patch('/spec/volumes', [{ name: OUTBOX_VOLUME, emptyDir: {} }]),
          patch('/spec/initContainers', []),
          patch('/spec/containers', [
            { name: 'outbox-holder', image, command: ['sleep', 'infinity'], volumeMounts: [{ name: OUTBOX_VOLUME, mountPath: '/outbox' }] },
          ]),
          patch('/spec/serviceAccountName', 'default'),
          patch('/spec/automountServiceAccountToken', false),
        ],
      },
    ],
  });
}

const freshInstance = (namespace: string, image: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'fresh-instance', namespace, labels: { 'topoforge.io/restore-drill-role': 'fresh-instance' } },
  spec: {
    automountServiceAccountToken: false,
    securityContext: { runAsUser: 999, runAsGroup: 999, fsGroup: 999 },
    containers: [
      {
        name: 'postgres',
        image,
        command: ['sleep', 'infinity'],
        volumeMounts: [
          { name: 'repo', mountPath: '/drill/repo' },
          { name: 'pgdata', mountPath: '/drill/pgdata' },
          { name: 'run', mountPath: '/drill/run' },
        ],
        readinessProbe: { exec: { command: ['pgbackrest', 'version'] } },
      },
    ],
    volumes: [
      { name: 'repo', emptyDir: {} },
      { name: 'pgdata', emptyDir: {} },
      { name: 'run', emptyDir: {} },
    ],
  },
});

/** 32-bit FNV-1a of a string's UTF-8 bytes. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/**
 * When an instance's drill starts: `start` plus a minute of the drill window chosen by the
 * instance's name alone (FNV-1a of the name, modulo windowMinutes). Adding, removing or
 * re-prioritising another service moves no other drill (a one-service change touches only
 * that service's files); two drills may start together, and the drill Lease runs them one
 * after the other. `dayShift`: days after `weekday` (a window past midnight).
 */
export function drillStart(instance: string, start: string, windowMinutes: number): { hour: number; minute: number; dayShift: number } {
  const total = Number(start.slice(0, 2)) * 60 + Number(start.slice(3, 5)) + (fnv1a(instance) % windowMinutes);
  return { hour: Math.floor(total / 60) % 24, minute: total % 60, dayShift: Math.floor(total / 1440) };
}

/**
 * The drill Job's deadline (activeDeadlineSeconds / 60): the wait for the drill Lease, then
 * the drill itself (two restores of restoreTimeoutMinutes and half an hour for the rest).
 */
export const drillDeadlineMinutes = (o: { readonly waitMinutes: number; readonly restoreTimeoutMinutes: number }): number =>
  o.waitMinutes + o.restoreTimeoutMinutes * 2 + 30;

const CRON_WEEKDAY = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

export function drillObjects(from: Environment, o: DrillOptions): { object: KubeObject; service?: string }[] {
  const out: { object: KubeObject; service?: string }[] = [
    { object: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: o.namespace } } },
    {
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: SA },
        rules: [
          { apiGroups: ['velero.io'], resources: ['backups'], verbs: ['get', 'list'] },
          { apiGroups: ['velero.io'], resources: ['restores'], verbs: ['get', 'list', 'watch', 'create'] },
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create'] },
          { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
          { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'create', 'delete'] },
          { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create'] },
        ],
      },
    },
    {
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: SA },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SA },
        subjects: [{ kind: 'ServiceAccount', name: SA, namespace: o.namespace }],
      },
    },
    ...leaseRbac(o.namespace, SA).map((object) => ({ object })),
  ];
  const selector = labelsByKey(o.selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const primaries = runners(from).filter((r) => !r.standby);
  for (const r of primaries) {
    const s = r.service;
    const db = s.database!;
    const name = `restore-drill-${r.instance.name}`;
    const drillNs = `drill-${r.instance.name}`;
    const policy = backupPolicyOf(s)!;
    const check = db.check ?? { query: 'select count(*) > 0 from pg_stat_user_tables', expect: 't' };
    const when = drillStart(r.instance.name, o.start, o.windowMinutes);
    const weekday = CRON_WEEKDAY[(CRON_WEEKDAY.indexOf(o.weekday) + when.dayShift) % 7];
    const namespaceJson = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: '__NAMESPACE__', labels: { [LABEL_RESTORE_DRILL]: r.instance.name } },
    });
    out.push({
      service: s.name,
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: o.namespace },
        data: {
          'drill.sh': DRILL_SCRIPT,
          'lease.sh': LEASE_SCRIPT,
          'database.sh': DATABASE_SCRIPT,
          'namespace.json': namespaceJson,
          'isolation.json': JSON.stringify(isolation()),
          'fresh-instance.json': JSON.stringify(freshInstance(drillNs, o.databaseImage)),
          'restore.json': JSON.stringify(drillRestore(r.instance.name, s.namespace, o.namespace, o.selector)),
        },
      },
    });
    out.push({
      service: s.name,
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `restore-drill-modifiers-${r.instance.name}`, namespace: o.namespace },
        data: { 'modifiers.json': modifiers(s.namespace, o.databaseImage) },
      },
    });
    const env: Record<string, string> = {
      INSTANCE: r.instance.name,
      FROM_ENVIRONMENT: from.name,
      VELERO_NAMESPACE: o.namespace,
      DRILL_NAMESPACE: drillNs,
      PUSHGATEWAY: o.pushgateway,
      RESTORE_TIMEOUT_MINUTES: String(o.restoreTimeoutMinutes),
      DATABASE_SELECTOR: selector,
      DATABASE_CONTAINER: o.container,
      SOURCE_ZONE: r.dc.timeZone,
      FULL_WEEKDAYS:
        policy.differential && policy.full.weekdays
          ? policy.full.weekdays
              .map((d) => ISO_WEEKDAY[d]!)
              .sort((a, b) => a - b)
              .join(' ')
          : '',
      STANZA: db.name,
      DATABASE: db.name,
      CHECK_QUERY: check.query,
      CHECK_EXPECT: check.expect,
      LEASE_NAME: DRILL_LEASE,
      LEASE_DURATION_SECONDS: String(LEASE_TIMING.durationSeconds),
      LEASE_RENEW_SECONDS: String(LEASE_TIMING.renewSeconds),
      LEASE_POLL_SECONDS: String(LEASE_TIMING.pollSeconds),
      LEASE_WAIT_SECONDS: String(o.waitMinutes * 60),
    };
    out.push({
      service: s.name,
      object: {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name, namespace: o.namespace },
        spec: {
          // A time of its own name's choosing in the window; the drill Lease runs one drill at a time.
          schedule: `${when.minute} ${when.hour} * * ${CRON_WEEKDAY.indexOf(weekday!)}`,
          timeZone: o.timeZone,
          concurrencyPolicy: 'Forbid',
          jobTemplate: {
            spec: {
              backoffLimit: 0,
              activeDeadlineSeconds: drillDeadlineMinutes(o) * 60,
              template: {
                spec: {
                  serviceAccountName: SA,
                  restartPolicy: 'Never',
                  containers: [
                    {
                      name: 'drill',
                      image: o.image,
                      command: ['/bin/sh', '/drill/drill.sh'],
                      env: [
                        ...Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
                        // the lease holder: this pod
                        { name: 'DRILL_HOLDER', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                      ],
                      volumeMounts: [{ name: 'drill', mountPath: '/drill' }],
                    },
                  ],
                  volumes: [{ name: 'drill', configMap: { name } }],
                },
              },
            },
          },
        },
      },
    });
  }
  return out;
}

/**
 * Hours without a successful drill before RestoreDrillLate: a week, an hour for a DST change
 * of the drill's zone, the Job's deadline (a drill succeeds at most that long after its
 * scheduled start, waiting for the drill Lease included; a week's drill that waited longest
 * can follow one that waited not at all) and the slack.
 */
export const drillLateHours = (deadlineMinutes: number, slackHours: number): number => 7 * 24 + 1 + Math.ceil(deadlineMinutes / 60) + slackHours;

/** Drill alerts (evaluated where the drills run): failed, or no success for drillLateHours. */
export function drillAlertGroup(from: Environment, deadlineMinutes: number, slackHours: number): RuleGroup {
  const rules = runners(from)
    .filter((r) => !r.standby)
    .flatMap((r) => {
      const sel = `job=${promString(DRILL_JOB)},environment=${promString(from.name)},database_instance=${promString(r.instance.name)}`;
      const labels = { database_instance: r.instance.name, service: r.service.name, environment: from.name };
      const late = drillLateHours(deadlineMinutes, slackHours);
      return [
        {
          alert: 'RestoreDrillFailed',
          expr: `topoforge_restore_drill_success{${sel}} == 0`,
          for: '0m',
          labels: { ...labels, severity: 'critical' },
          annotations: { summary: `The restore drill of ${r.instance.name} failed: its backups may not restore` },
        },
        {
          alert: 'RestoreDrillLate',
          expr: `time() - topoforge_restore_drill_last_success_timestamp_seconds{${sel}} > ${late * 3600} or absent(topoforge_restore_drill_last_success_timestamp_seconds{${sel}})`,
          for: '1h',
          labels: { ...labels, severity: 'warning' },
          annotations: { summary: `No successful restore drill of ${r.instance.name} for more than ${late}h` },
        },
      ];
    });
  return { name: `restore-drills-${from.name}`, rules };
}

/** promtool tests of the drill alerts, over every instance: on time → silent; failed → Failed; a week without success → Late. */
export function drillAlertTests(from: Environment, group: RuleGroup, rulesFile: string, deadlineMinutes: number, slackHours: number): RuleTestFile {
  const instances = runners(from).filter((r) => !r.standby);
  const late = drillLateHours(deadlineMinutes, slackHours);
  const exp = (alert: string) =>
    group.rules.filter((r) => r.alert === alert).map((r) => ({ exp_labels: { ...r.labels, job: DRILL_JOB }, exp_annotations: r.annotations }));
  const series = (success: string, lastSuccess: string) =>
    instances.flatMap((r) => {
      const sel = `job=${promString(DRILL_JOB)},environment=${promString(from.name)},database_instance=${promString(r.instance.name)}`;
      return [
        { series: `topoforge_restore_drill_success{${sel}}`, values: success },
        { series: `topoforge_restore_drill_last_success_timestamp_seconds{${sel}}`, values: lastSuccess },
      ];
    });
  return ruleTestFile(rulesFile, '5m', [
    {
      // weekly drills that pass: silent, just before the next one
      interval: '1h',
      input_series: series(`1x${late + 5}`, `3600x167 604800x${late - 160}`),
      alert_rule_test: [
        { eval_time: `${late + 2}h`, alertname: 'RestoreDrillFailed', exp_alerts: [] },
        { eval_time: `${late + 2}h`, alertname: 'RestoreDrillLate', exp_alerts: [] },
      ],
    },
    {
      // the drills fail from 4h on and never succeed again
      interval: '1h',
      input_series: series(`1x3 0x${late + 3}`, `3600x${late + 5}`),
      alert_rule_test: [
        { eval_time: '2h', alertname: 'RestoreDrillFailed', exp_alerts: [] },
        { eval_time: '5h', alertname: 'RestoreDrillFailed', exp_alerts: exp('RestoreDrillFailed') },
        { eval_time: `${late - 1}h`, alertname: 'RestoreDrillLate', exp_alerts: [] },
        { eval_time: `${late + 3}h`, alertname: 'RestoreDrillLate', exp_alerts: exp('RestoreDrillLate') },
      ],
    },
  ]);
}
