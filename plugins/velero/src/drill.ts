/**
 * Restore drills on the test stand: restores are tested before use, like an update.
 *
 * Staging's first DC gets read-only BackupStorageLocations for the production DCs (so its
 * Velero syncs production's Backups) and, per production service with backups, a weekly
 * CronJob that
 *   1. picks the newest Completed production Backup labelled with the service,
 *   2. creates a Restore of it into the isolated namespace `drill-<namespace>`
 *      (namespaceMapping), and waits for it to complete,
 *   3. verifies the restored database with its own tool (pgBackRest `verify` / `mysqlcheck`
 *      / `mongosh` ping) and that the pod is Ready,
 *   4. deletes the drill namespace; the Job fails (and alerts) when any step fails.
 */
import type { Environment } from '@topoforge/model';
import type { KubeObject } from '@topoforge/plugin-sdk';

export interface DrillOptions {
  readonly schedule: string;
  readonly image: string;
}

const SA = 'restore-drill';

/** The Restore a drill creates (backupName filled in at run time). */
export function drillRestore(service: string, namespace: string, veleroNamespace: string, backupName: string, name = `drill-${service}`): KubeObject {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: { name, namespace: veleroNamespace, labels: { 'topoforge.io/service': service, 'topoforge.io/restore-drill': 'true' } },
    spec: {
      backupName,
      includedNamespaces: [namespace],
      namespaceMapping: { [namespace]: `drill-${namespace}` },
      restorePVs: true,
      existingResourcePolicy: 'none',
    },
  };
}

function verifyCommand(engine: string, db: string): string {
  switch (engine) {
    case 'postgresql':
      return `pgbackrest --stanza=${db} verify && pg_isready`;
    case 'mysql':
      return `mysqlcheck --all-databases --check`;
    default:
      return `mongosh --quiet --eval 'db.runCommand({ ping: 1 }).ok'`;
  }
}

/** Isolates the drill namespace: nothing gets in or out (the check runs through the API server). */
export function drillNetworkPolicy(namespace: string): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'restore-drill-isolation', namespace },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  };
}

export function drillScript(from: Environment, veleroNamespace: string, selector: Record<string, string>, container: string, service: string): string {
  const s = from.services.find((x) => x.name === service)!;
  const target = `drill-${s.namespace}`;
  const restore = JSON.stringify(drillRestore(s.name, s.namespace, veleroNamespace, '__BACKUP__', `drill-${s.name}-__STAMP__`));
  const namespace = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: target, labels: { 'topoforge.io/restore-drill': 'true', 'topoforge.io/service': s.name } } });
  const isolation = JSON.stringify(drillNetworkPolicy(target));
  const sel = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `#!/bin/sh
# Restore drill for ${s.name}: restore the newest ${from.name} backup into ${target} and verify it.
set -eu
# A namespace left by a failed drill is kept for investigation until now; restoring into it
# would skip the objects that already exist and verify stale data.
kubectl delete namespace ${target} --ignore-not-found --wait=true --timeout=10m
echo '${namespace}' | kubectl create -f -
echo '${isolation}' | kubectl create -f -
latest=$(kubectl get backups.velero.io -n ${veleroNamespace} -l topoforge.io/service=${s.name},topoforge.io/environment=${from.name} \\
  --sort-by=.status.startTimestamp \\
  -o jsonpath='{range .items[?(@.status.phase=="Completed")]}{.metadata.name}{"\\n"}{end}' | tail -n 1)
if [ -z "$latest" ]; then echo "no completed ${from.name} backup of ${s.name} to drill" >&2; exit 1; fi
stamp=$(date -u +%Y%m%d%H%M)
echo '${restore}' | sed -e "s/__BACKUP__/$latest/" -e "s/__STAMP__/$stamp/" | kubectl create -f -
kubectl wait -n ${veleroNamespace} restore.velero.io/drill-${s.name}-$stamp --for=jsonpath='{.status.phase}'=Completed --timeout=60m
kubectl wait -n ${target} pod -l ${sel} --for=condition=Ready --timeout=15m
pod=$(kubectl get pod -n ${target} -l ${sel} -o jsonpath='{.items[0].metadata.name}')
kubectl exec -n ${target} "$pod" -c ${container} -- sh -c '${verifyCommand(s.database!.engine, s.database!.name)}'
echo "restore drill of ${s.name} from $latest passed"
kubectl delete namespace ${target} --wait=false
`;
}

export function drillObjects(from: Environment, veleroNamespace: string, options: DrillOptions, selector: Record<string, string>, container: string): { object: KubeObject; service?: string }[] {
  const out: { object: KubeObject; service?: string }[] = [
    { object: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: veleroNamespace } } },
    {
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: SA },
        rules: [
          { apiGroups: ['velero.io'], resources: ['backups'], verbs: ['get', 'list'] },
          { apiGroups: ['velero.io'], resources: ['restores'], verbs: ['get', 'list', 'watch', 'create'] },
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
          { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'create', 'delete'] },
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
        subjects: [{ kind: 'ServiceAccount', name: SA, namespace: veleroNamespace }],
      },
    },
  ];
  const cronSchedule = options.schedule.replace(/^(CRON_TZ|TZ)=(\S+)\s+/, '');
  const timeZone = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(options.schedule)?.[1];
  for (const s of from.services.filter((x) => x.policies.backup && x.database)) {
    out.push({
      service: s.name,
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `restore-drill-${s.name}`, namespace: veleroNamespace }, data: { 'drill.sh': drillScript(from, veleroNamespace, selector, container, s.name) } },
    });
    out.push({
      service: s.name,
      object: {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: `restore-drill-${s.name}`, namespace: veleroNamespace },
        spec: {
          schedule: cronSchedule,
          ...(timeZone ? { timeZone } : {}),
          concurrencyPolicy: 'Forbid',
          jobTemplate: {
            spec: {
              backoffLimit: 0,
              template: {
                spec: {
                  serviceAccountName: SA,
                  restartPolicy: 'Never',
                  containers: [{ name: 'drill', image: options.image, command: ['/bin/sh', '/drill/drill.sh'], volumeMounts: [{ name: 'drill', mountPath: '/drill' }] }],
                  volumes: [{ name: 'drill', configMap: { name: `restore-drill-${s.name}` } }],
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
