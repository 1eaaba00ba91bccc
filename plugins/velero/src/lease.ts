/**
 * The restore-drill lease: at most one restore drill restores at a time on the test stand,
 * whatever the CronJobs' schedules. The drills' start times only spread the load; this
 * Lease (coordination.k8s.io/v1, `restore-drill` in Velero's namespace) is what keeps two
 * drills from restoring at once, which `concurrencyPolicy: Forbid` (per CronJob) cannot.
 *
 * LEASE_SCRIPT is a constant sh library (sourced by the drill job, runnable on its own, see
 * test/drill-lease-sandbox.test.ts); every value reaches it through the environment, and
 * only values it has checked (a pod name, digits, its own timestamps) are put into the JSON
 * it sends:
 *
 * - acquire: `kubectl create` of the Lease, holder = the drill's pod name (downward API).
 *   The API server refuses a second create of the same name (AlreadyExists), so of any
 *   number of drills starting together exactly one gets it.
 * - wait: the others poll. A Lease is stale when nobody renewed it for its
 *   leaseDurationSeconds as the WAITER observes it: its resourceVersion unchanged for that
 *   long on the waiter's own clock (as client-go's leader election judges a lease), so no
 *   pod compares its clock with another's and no date is parsed in sh. A stale Lease (or
 *   one without a holder) is taken over by a JSON patch whose first operation tests the
 *   resourceVersion the waiter judged: the API server applies a patch to the stored object
 *   and retries it on a conflicting write, so the test and the new holder are one atomic
 *   step, and of two waiters taking over at once the second's test fails (422).
 * - renew: a background loop patches renewTime every LEASE_RENEW_SECONDS with a JSON patch
 *   that first tests holderIdentity = this pod: a holder that lost the Lease can never renew
 *   it back. When the Lease is gone or another pod holds it, the loop stops the drill (TERM:
 *   the job ends failed and reports it).
 * - release (on exit): read the Lease; only if this pod is still the holder, delete it with
 *   that read's resourceVersion as precondition (`kubectl delete --raw` with DeleteOptions;
 *   `kubectl delete` has no precondition flag). Between the read and the delete nobody but
 *   a taker-over can write it, and a takeover changes the resourceVersion: 409, left alone.
 *   Deleting (rather than clearing the holder) lets the next drill in with a plain create.
 * - a waiter gives up after LEASE_WAIT_SECONDS: the drill fails and pushes success 0.
 */
import type { KubeObject } from '@topoforge/plugin-sdk';

export const DRILL_LEASE = 'restore-drill';
const LEASE_ROLE = 'restore-drill-lease';

/**
 * Lease timing: a holder renews every 60 s and its Lease lapses 300 s after the last
 * renewal a waiter saw (five renewals may fail before another drill can take over); waiters
 * look every 15 s.
 */
export const LEASE_TIMING = { durationSeconds: 300, renewSeconds: 60, pollSeconds: 15 } as const;

export const LEASE_SCRIPT = `# The restore-drill lease: see the velero plugin's README ("Restore drills") and src/lease.ts.
# Environment: VELERO_NAMESPACE, LEASE_NAME, DRILL_HOLDER (the pod's name), LEASE_DURATION_SECONDS,
# LEASE_RENEW_SECONDS, LEASE_POLL_SECONDS, LEASE_WAIT_SECONDS. Functions return non-zero on failure
# and never exit the caller.
lease_init() {
  lease_tmp=$(mktemp -d)
  lease_err=$lease_tmp/err
  lease_held=
  lease_waited=0
  lease_sleeping=
}
lease_done() {
  [ -z "$lease_sleeping" ] || kill "$lease_sleeping" 2>/dev/null || :
  rm -rf "$lease_tmp"
}
lease_k() { kubectl --request-timeout=30s -n "$VELERO_NAMESPACE" "$@"; }
lease_now() { date -u +%Y-%m-%dT%H:%M:%S.000000Z; }
lease_num() { case "$1" in '' | *[!0-9]*) return 1 ;; esac; }
# Sets lease_rv, lease_duration, lease_transitions and lease_holder; fails when there is no Lease
# or it cannot be read (the reason in $lease_err).
lease_read() {
  lease_got=$(lease_k get lease "$LEASE_NAME" -o 'jsonpath={.metadata.resourceVersion}|{.spec.leaseDurationSeconds}|{.spec.leaseTransitions}|{.spec.holderIdentity}' 2>"$lease_err") || return 1
  IFS='|' read -r lease_rv lease_duration lease_transitions lease_holder <<LEASE_EOF
$lease_got
LEASE_EOF
  lease_num "$lease_rv" || { echo "unexpected resourceVersion '$lease_rv'" >"$lease_err"; return 1; }
  lease_num "$lease_duration" || lease_duration=$LEASE_DURATION_SECONDS
  lease_num "$lease_transitions" || lease_transitions=0
}
lease_acquire() {
  for lease_v in "\${DRILL_HOLDER:-}" "$LEASE_NAME" "$VELERO_NAMESPACE"; do
    case "$lease_v" in '' | *[!a-z0-9.-]*) echo "drill lease: '$lease_v' is not a Kubernetes name (DRILL_HOLDER, LEASE_NAME, VELERO_NAMESPACE)" >&2; return 1 ;; esac
  done
  for lease_v in "$LEASE_DURATION_SECONDS" "$LEASE_RENEW_SECONDS" "$LEASE_POLL_SECONDS" "$LEASE_WAIT_SECONDS"; do
    lease_num "$lease_v" || { echo "drill lease: timing '$lease_v' is not a number of seconds" >&2; return 1; }
  done
  lease_from=$(date +%s)
  lease_seen= lease_seen_at= lease_holder= lease_tries=0
  while :; do
    lease_tries=$((lease_tries + 1))
    if [ "$lease_tries" -gt 1 ] && [ $(($(date +%s) - lease_from)) -ge "$LEASE_WAIT_SECONDS" ]; then
      lease_waited=$(($(date +%s) - lease_from))
      echo "restore drill: gave up after \${lease_waited}s waiting for the drill lease $LEASE_NAME, held by \${lease_holder:-?} (another drill is restoring)" >&2
      return 1
    fi
    lease_t=$(lease_now)
    if printf '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"%s","namespace":"%s"},"spec":{"holderIdentity":"%s","leaseDurationSeconds":%s,"acquireTime":"%s","renewTime":"%s","leaseTransitions":0}}\\n' \\
      "$LEASE_NAME" "$VELERO_NAMESPACE" "$DRILL_HOLDER" "$LEASE_DURATION_SECONDS" "$lease_t" "$lease_t" | lease_k create -f - >/dev/null 2>"$lease_err"; then
      lease_held=1 lease_waited=$(($(date +%s) - lease_from))
      echo "drill lease $LEASE_NAME taken by $DRILL_HOLDER after \${lease_waited}s"
      return 0
    fi
    lease_exists=
    case "$(cat "$lease_err")" in
      *AlreadyExists* | *"already exists"*) lease_exists=1 ;;
      *Forbidden* | *forbidden*) echo "drill lease: $(cat "$lease_err")" >&2; return 1 ;;
      *) echo "drill lease: creating $LEASE_NAME failed, trying again: $(cat "$lease_err")" >&2 ;;
    esac
    if ! lease_read; then
      # released between the create and the read: create again at once
      case "$lease_exists $(cat "$lease_err")" in 1*NotFound* | 1*"not found"*) continue ;; esac
    else
      lease_at=$(date +%s)
      [ "$lease_rv" = "$lease_seen" ] || lease_seen=$lease_rv lease_seen_at=$lease_at
      if [ "$lease_holder" = "$DRILL_HOLDER" ]; then # our create went through, its answer did not
        lease_held=1 lease_waited=$((lease_at - lease_from))
        return 0
      fi
      if [ -z "$lease_holder" ] || [ $((lease_at - lease_seen_at)) -ge "$lease_duration" ]; then
        lease_t=$(lease_now)
        if lease_k patch lease "$LEASE_NAME" --type=json -p "$(printf '[{"op":"test","path":"/metadata/resourceVersion","value":"%s"},{"op":"add","path":"/spec/holderIdentity","value":"%s"},{"op":"add","path":"/spec/leaseDurationSeconds","value":%s},{"op":"add","path":"/spec/acquireTime","value":"%s"},{"op":"add","path":"/spec/renewTime","value":"%s"},{"op":"add","path":"/spec/leaseTransitions","value":%s}]' \\
          "$lease_rv" "$DRILL_HOLDER" "$LEASE_DURATION_SECONDS" "$lease_t" "$lease_t" $((lease_transitions + 1)))" >/dev/null 2>"$lease_err"; then
          lease_held=1 lease_waited=$(($(date +%s) - lease_from))
          echo "drill lease $LEASE_NAME taken over by $DRILL_HOLDER from \${lease_holder:-nobody} (not renewed for \${lease_duration}s) after \${lease_waited}s"
          return 0
        fi
      fi
    fi
    # In the background: a TERM while waiting (the Job's deadline) is handled at once, not after the sleep.
    sleep "$LEASE_POLL_SECONDS" &
    lease_sleeping=$!
    wait "$lease_sleeping"
    lease_sleeping=
  done
}
# One renewal: only while this pod is the holder (the patch tests it first).
lease_renew() {
  lease_k patch lease "$LEASE_NAME" --type=json \\
    -p "$(printf '[{"op":"test","path":"/spec/holderIdentity","value":"%s"},{"op":"add","path":"/spec/renewTime","value":"%s"}]' "$DRILL_HOLDER" "$(lease_now)")" >/dev/null 2>"$lease_err"
}
# Run in the background by the holder: renews every LEASE_RENEW_SECONDS; when the Lease is gone or
# held by another pod, sends TERM to the drill ($1) and to the commands it is running (its trap
# runs once its foreground command has ended), and ends. Stopped with TERM.
lease_keep() {
  set +e
  trap - EXIT
  lease_err=$lease_tmp/keep-err
  lease_sleep=
  trap '[ -z "$lease_sleep" ] || kill "$lease_sleep" 2>/dev/null; exit 0' TERM
  while :; do
    sleep "$LEASE_RENEW_SECONDS" &
    lease_sleep=$!
    wait "$lease_sleep"
    lease_sleep=
    lease_renew && continue
    if lease_read; then
      [ "$lease_holder" = "$DRILL_HOLDER" ] && { echo "drill lease: renewal failed, trying again: $(cat "$lease_err")" >&2; continue; }
    else
      case "$(cat "$lease_err")" in
        *NotFound* | *"not found"*) lease_holder= ;;
        *) echo "drill lease: renewal failed, trying again: $(cat "$lease_err")" >&2; continue ;;
      esac
    fi
    echo "restore drill: lost the drill lease $LEASE_NAME (now held by \${lease_holder:-nobody}); stopping" >&2
    kill -TERM "$1"
    pkill -TERM -P "$1" 2>/dev/null || :
    exit 1
  done
}
# Release on exit: only if this pod holds it, and only the version read as its holder.
lease_release() {
  [ -n "$lease_held" ] || return 0
  lease_held=
  if ! lease_read; then
    echo "drill lease: not released: $(cat "$lease_err")" >&2
    return 0
  fi
  if [ "$lease_holder" != "$DRILL_HOLDER" ]; then
    echo "drill lease $LEASE_NAME is held by \${lease_holder:-nobody}, not by $DRILL_HOLDER: left alone" >&2
    return 0
  fi
  printf '{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":"%s"}}\\n' "$lease_rv" >"$lease_tmp/delete.json"
  if kubectl --request-timeout=30s delete --raw "/apis/coordination.k8s.io/v1/namespaces/$VELERO_NAMESPACE/leases/$LEASE_NAME" -f "$lease_tmp/delete.json" >/dev/null 2>"$lease_err"; then
    echo "drill lease $LEASE_NAME released by $DRILL_HOLDER"
  else
    echo "drill lease: not released ($(cat "$lease_err")); it lapses \${LEASE_DURATION_SECONDS}s after its last renewal" >&2
  fi
}
`;

/**
 * The drill's rights on its Lease: a Role in Velero's namespace. RBAC cannot limit `create`
 * by name (the name is not in the request's path), so `create` is on leases in this
 * namespace; `get`, `patch` and `delete` only on this one Lease.
 */
export function leaseRbac(namespace: string, serviceAccount: string): KubeObject[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: LEASE_ROLE, namespace },
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [DRILL_LEASE], verbs: ['get', 'patch', 'delete'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: LEASE_ROLE, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: LEASE_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    },
  ];
}
