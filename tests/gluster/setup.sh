#!/usr/bin/env bash
# Brings up a loopback GlusterFS for the glfs integration tests (tests/glfs_backstore.rs)
# and the fio comparison. Idempotent: run it as often as you like.
#
#   * installs glusterfs-server and libglusterfs-dev when missing;
#   * starts glusterd (no systemd here) unless one already runs;
#   * creates and starts volume gt1 (1 brick) and gt3 (replica 3, one host) with bricks
#     under $BRICKS on host 127.0.0.2 (the CLI refuses localhost and 127.0.0.1);
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

start_glusterd() {
  if pgrep -x glusterd >/dev/null; then
    return
  fi
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

# create_volume NAME REPLICA: creates, configures and starts NAME if it does not exist,
# and (re)starts its bricks if some are down.
create_volume() {
  local vol=$1 replica=$2
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
  fi
  if ! g volume info "$vol" | grep -q '^Status: Started'; then
    g volume start "$vol" >/dev/null
  fi
  # A brick killed by a fault test comes back here.
  if g volume status "$vol" 2>/dev/null | grep -Eq '^Brick .* N '; then
    g volume start "$vol" force >/dev/null
  fi
}

install_packages
allow_insecure_clients
start_glusterd
mkdir -p "$BRICKS"
create_volume gt1 1
create_volume gt3 3
log "ready: gt1 and gt3 on $HOST"
