/**
 * The start scripts of the cache and Sentinel pods (POSIX sh; the redis image has sh,
 * redis-cli, sha256sum and timeout). Everything a pod needs to know comes from CACHE_*
 * environment variables set in the StatefulSet, so the tests run the same scripts on
 * 127.0.0.1 with other values.
 */

/** Reading the Secret and rendering an ACL template: shared by both scripts. */
const COMMON = `set -euf
log() { echo "$SCRIPT: $*" >&2; }

# secret USER: the password of USER from the mounted Secret (one key per user). Refused
# unless it is 16+ characters a Redis config line and an ACL rule carry without quoting.
secret() {
  f="$CACHE_SECRETS_DIR/$1"
  if [ ! -f "$f" ]; then log "the Secret mounted at $CACHE_SECRETS_DIR has no key '$1'"; return 1; fi
  v=$(cat "$f"; echo x); v=\${v%x}
  case "$v" in
    '' | *[!A-Za-z0-9._~+/=-]*) log "the password of '$1' may only hold A-Z a-z 0-9 . _ ~ + / = - (no newline)"; return 1 ;;
  esac
  if [ \${#v} -lt 16 ]; then log "the password of '$1' needs at least 16 characters"; return 1; fi
  printf '%s' "$v"
}

# render_acl TEMPLATE: the template's user lines with "#<sha256 of the password>" added, so
# the ACL file never holds a password itself; the default user stays as written (off).
render_acl() {
  while read -r kw user rules; do
    [ "$kw" = user ] || continue
    if [ "$user" = default ]; then echo "user default $rules"; continue; fi
    acl_pw=$(secret "$user") || exit 1
    echo "user $user $rules #$(printf '%s' "$acl_pw" | sha256sum | cut -d' ' -f1)"
  done < "$1"
}

# ask HOST:PORT USER PASSWORD ARG…: one command; fails when the server cannot be reached.
ask() {
  ask_addr=$1; ask_user=$2; ask_pw=$3; shift 3
  REDISCLI_AUTH=$ask_pw timeout 3 redis-cli --raw --user "$ask_user" -h "\${ask_addr%:*}" -p "\${ask_addr##*:}" "$@" 2>/dev/null
}

# primary_from ADDRESS USER PASSWORD prints HOST:PORT of the primary as that Sentinel names it.
primary_from() {
  out=$(ask "$1" "$2" "$3" SENTINEL get-master-addr-by-name "$CACHE_NAME") || return 1
  set -- $out
  [ $# -eq 2 ] || return 1
  case "$2" in '' | *[!0-9]*) return 1 ;; esac
  echo "$1:$2"
}
`;

/**
 * start-redis.sh. The cache keeps nothing on disk, so a primary that restarts comes back
 * EMPTY; if it came back as the primary, its replicas would resync from it and drop every
 * session (redis.io, replication: "Safety of replication when master has persistence turned
 * off"). So before Redis starts the script asks the Sentinels who the primary is, and never
 * starts an empty primary while another cache pod holds sessions.
 */
export const START_REDIS = `#!/bin/sh
# topoforge session cache: start one cache pod without ever wiping its replicas.
#  - the Sentinels name another pod the primary: start as its replica;
#  - they name THIS pod (it restarted within down-after-milliseconds, empty) while another
#    pod holds sessions: do not start; wait until they have promoted a replica, then start
#    as its replica;
#  - no Sentinel answers (first start): the initial primary (pod 0) starts as primary unless
#    another pod holds sessions, the others as its replicas.
SCRIPT=start-redis
${COMMON}
me="$CACHE_HOST:$CACHE_PORT"
repl=$(secret replication) || exit 1

# primary: another pod's address wins over this pod's, so a Sentinel that already
# switched is followed even while another still names this pod.
sentinels_primary() {
  found=""
  for s in $CACHE_SENTINELS; do
    p=$(primary_from "$s" replication "$repl") || continue
    if [ "$p" != "$me" ]; then echo "$p"; return 0; fi
    found=$p
  done
  echo "$found"
}

# Does another cache pod hold sessions? (INFO lists db0 only when it has keys.)
peer_holds_sessions() {
  for peer in $CACHE_PEERS; do
    [ "$peer" != "$me" ] || continue
    info=$(ask "$peer" replication "$repl" INFO keyspace) || continue
    case "$info" in *db0:keys=*) log "$peer holds sessions"; return 0 ;; esac
  done
  return 1
}

umask 077
mkdir -p "$CACHE_RUNTIME_DIR" "$CACHE_DATA_DIR"
render_acl "$CACHE_CONFIG_DIR/users.acl" > "$CACHE_RUNTIME_DIR/users.acl"
# a pure cache starts empty: no snapshot a replica's full resync left in this pod's scratch space
rm -f "$CACHE_DATA_DIR/dump.rdb"

waited=0
while :; do
  primary=$(sentinels_primary)
  if [ -n "$primary" ] && [ "$primary" != "$me" ]; then break; fi
  if [ -z "$primary" ] && [ "$me" != "$CACHE_INITIAL_PRIMARY" ]; then primary=$CACHE_INITIAL_PRIMARY; break; fi
  # This pod would start as the primary, and it is empty.
  if ! peer_holds_sessions; then primary=""; break; fi
  log "this pod ($me) is still the primary for the Sentinels but restarted empty while a replica holds the sessions: waiting for the Sentinels to promote a replica (\${waited}s)"
  sleep 1
  waited=$((waited + 1))
done

{
  echo "include $CACHE_CONFIG_DIR/redis.conf"
  echo "port $CACHE_PORT"
  echo "dir $CACHE_DATA_DIR"
  echo "aclfile $CACHE_RUNTIME_DIR/users.acl"
  echo "replica-announce-ip $CACHE_HOST"
  echo "replica-announce-port $CACHE_PORT"
  echo "masteruser replication"
  echo "masterauth $repl"
  if [ -n "$primary" ]; then echo "replicaof \${primary%:*} \${primary##*:}"; fi
} > "$CACHE_RUNTIME_DIR/redis.conf"
if [ -n "$primary" ]; then log "starting as a replica of $primary"; else log "starting as the primary"; fi
exec redis-server "$CACHE_RUNTIME_DIR/redis.conf"
`;

/**
 * start-sentinel.sh: a Sentinel that starts (again) asks the other Sentinels for the current
 * primary and monitors that one; the initial primary when none answers. Its config file
 * lives in memory (it holds the Sentinel password) and Sentinel rewrites it.
 */
export const START_SENTINEL = `#!/bin/sh
# topoforge session cache: start one Sentinel.
SCRIPT=start-sentinel
${COMMON}
me="$CACHE_HOST:$CACHE_PORT"
pw=$(secret sentinel) || exit 1
primary=""
for s in $CACHE_SENTINELS; do
  [ "$s" != "$me" ] || continue
  if primary=$(primary_from "$s" sentinel "$pw"); then break; fi
  primary=""
done
[ -n "$primary" ] || primary=$CACHE_INITIAL_PRIMARY

umask 077
mkdir -p "$CACHE_RUNTIME_DIR"
conf="$CACHE_RUNTIME_DIR/sentinel.conf"
{
  cat "$CACHE_CONFIG_DIR/sentinel.conf"
  echo "port $CACHE_PORT"
  echo "dir $CACHE_RUNTIME_DIR"
  echo "sentinel announce-ip $CACHE_HOST"
  echo "sentinel announce-port $CACHE_PORT"
  echo "sentinel monitor $CACHE_NAME \${primary%:*} \${primary##*:} $CACHE_QUORUM"
  cat "$CACHE_CONFIG_DIR/sentinel-master.conf"
  echo "sentinel auth-user $CACHE_NAME sentinel"
  echo "sentinel auth-pass $CACHE_NAME $pw"
  echo "sentinel sentinel-user sentinel"
  echo "sentinel sentinel-pass $pw"
  render_acl "$CACHE_CONFIG_DIR/sentinel-users.acl"
} > "$conf"
log "monitoring $CACHE_NAME at $primary"
exec redis-sentinel "$conf"
`;
