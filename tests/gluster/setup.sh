#!/usr/bin/env bash
# Brings up a loopback GlusterFS for the glfs integration tests (tests/glfs_backstore.rs)
# and the fio comparison. Idempotent: run it as often as you like.
#
#   * installs glusterfs-server and libglusterfs-dev when missing;
#   * starts glusterd (no systemd here) unless one already runs;
#   * creates and starts volumes gt1 (1 brick), gt3 (replica 3, one host) and gtha (1
#     brick, mandatory locks enforced, no sharding: the HA lock tests) with bricks under
#     $BRICKS on host 127.0.0.2 (the CLI refuses localhost and 127.0.0.1);
#   * applies the block-storage profile (extras/group-gluster-block) and a short
#     network.ping-timeout so fault tests do not wait 42 s.
#
# What it started or created is recorded in $STATE so tests/gluster/teardown.sh undoes
# exactly that and nothing more. Only 127.0.0.0/8 is ever used.
set -euo pipefail

HOST=${GLUSTER_TEST_HOST:-127.0.0.2}
BRICKS=${GLUSTER_TEST_BRICKS:-/var/tmp/gluster-tcmu-bricks}
STATE=${GLUSTER_TEST_STATE:-/var/tmp/gluster-tcmu-test.state}
VOL_FILE=/etc/glusterfs/glusterd.vol

log() { printf 'gluster-setup: %s\n' "$*" >&2; }
record() { grep -qxF "$1" "$STATE" 2>/dev/null || echo "$1" >>"$STATE"; }
g() { gluster --mode=script "$@"; }

install_packages() {
  local need=()
  for pkg in glusterfs-server libglusterfs-dev pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  [ "${#need[@]}" -eq 0 ] && return
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
  record "installed ${need[*]}"
}

allow_insecure_clients() {
  grep -q 'rpc-auth-allow-insecure on' "$VOL_FILE" && return
  log "enabling rpc-auth-allow-insecure in $VOL_FILE"
  cp -n "$VOL_FILE" "$VOL_FILE.gluster-tcmu.orig"
  sed -i 's/^end-volume/    option rpc-auth-allow-insecure on\nend-volume/' "$VOL_FILE"
  record "edited $VOL_FILE"
}

# clean_stale_pidfiles: removes brick pidfiles whose process is not a brick. A machine
# restored from a snapshot keeps /var/run/gluster while its processes are gone; when a new
# process happens to get a stale pid, glusterd takes the brick for running and never
# starts it (seen 2026-11-27: "discovered already-running brick", brick down for good).
clean_stale_pidfiles() {
  local f pid
  for f in /var/run/gluster/vols/*/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != glusterfsd ]; then
      rm -f "$f"
    fi
  done
}

start_glusterd() {
  if pgrep -x glusterd >/dev/null; then
    return
  fi
  clean_stale_pidfiles
  log "starting glusterd"
  glusterd -p /run/glusterd.pid
  record "started glusterd"
  for _ in $(seq 60); do
    g volume list >/dev/null 2>&1 && return
    sleep 1
  done
  log "glusterd did not answer within 60 s"
  exit 1
}

# Options every test volume gets: the block profile minus the replication-only ones.
common_options() {
  local vol=$1
  local opts=(
    performance.quick-read off
    performance.read-ahead off
    performance.io-cache off
    performance.stat-prefetch off
    performance.open-behind off
    performance.readdir-ahead off
    performance.strict-o-direct on
    network.remote-dio disable
    features.shard on
    features.shard-block-size 64MB
    server.allow-insecure on
    network.ping-timeout 5
  )
  while [ "${#opts[@]}" -gt 0 ]; do
    g volume set "$vol" "${opts[0]}" "${opts[1]}" >/dev/null
    opts=("${opts[@]:2}")
  done
}

replica_options() {
  local vol=$1
  g volume set "$vol" cluster.eager-lock enable >/dev/null
  g volume set "$vol" cluster.quorum-type auto >/dev/null
  g volume set "$vol" cluster.data-self-heal-algorithm full >/dev/null
  g volume set "$vol" cluster.locking-scheme granular >/dev/null
}

# The HA lock tests' volume (tests/glfs_ha_lock.rs, docs/HA.md): mandatory locks that
# the bricks enforce on a file carrying the enforce xattr, and no sharding, whose shard
# files would carry none of the lock.
ha_options() {
  local vol=$1
  g volume set "$vol" features.shard off >/dev/null
  g volume set "$vol" locks.mandatory-locking optimal >/dev/null
  g volume set "$vol" features.enforce-mandatory-lock on >/dev/null
}

# create_volume NAME REPLICA [ha]: creates, configures and starts NAME if it does not exist,
# and (re)starts its bricks if some are down.
create_volume() {
  local vol=$1 replica=$2 kind=${3:-}
  if ! g volume info "$vol" >/dev/null 2>&1; then
    local bricks=() i
    for i in $(seq "$replica"); do
      mkdir -p "$BRICKS/$vol/b$i"
      bricks+=("$HOST:$BRICKS/$vol/b$i")
    done
    log "creating volume $vol (${#bricks[@]} brick(s))"
    if [ "$replica" -gt 1 ]; then
      g volume create "$vol" replica "$replica" transport tcp "${bricks[@]}" force >/dev/null
    else
      g volume create "$vol" transport tcp "${bricks[@]}" force >/dev/null
    fi
    record "created volume $vol"
    common_options "$vol"
    [ "$replica" -gt 1 ] && replica_options "$vol"
    [ "$kind" = ha ] && ha_options "$vol"
  fi
  if ! g volume info "$vol" | grep -q '^Status: Started'; then
    g volume start "$vol" >/dev/null
  fi
  # A brick killed by a fault test comes back here.
  if bricks_down "$vol"; then
    log "restarting the bricks of $vol that are down"
    g volume start "$vol" force >/dev/null
    wait_bricks "$vol" || restart_glusterd_for "$vol"
  fi
}

# bricks_down NAME: true when a brick of NAME is not online. The XML status, because the
# text one wraps long brick paths onto a second line (the Online column then is not on
# the "Brick" line).
bricks_down() {
  g volume status "$1" --xml 2>/dev/null | grep -q '<status>0</status>'
}

# wait_bricks NAME: true once every brick of NAME is online (up to 10 s).
wait_bricks() {
  for _ in $(seq 10); do
    bricks_down "$1" || return 0
    sleep 1
  done
  return 1
}

# restart_glusterd_for NAME: a brick that `start force` does not start is one glusterd
# believes it started already (a stale pidfile, see clean_stale_pidfiles); only a new
# glusterd forgets that. Bricks that run keep running across the restart.
restart_glusterd_for() {
  log "bricks of $1 still down after start force: restarting glusterd"
  pkill -x glusterd || true
  for _ in $(seq 30); do
    pgrep -x glusterd >/dev/null || break
    sleep 1
  done
  start_glusterd
  g volume start "$1" force >/dev/null
  wait_bricks "$1" || { log "bricks of $1 still down: $(g volume status "$1" 2>&1)"; exit 1; }
}

install_packages
allow_insecure_clients
start_glusterd
mkdir -p "$BRICKS"
create_volume gt1 1
create_volume gt3 3
create_volume gtha 1 ha
log "ready: gt1, gt3 and gtha on $HOST"
