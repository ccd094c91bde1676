#!/usr/bin/env bash
# Undoes what tests/gluster/setup.sh recorded in its state file, newest first: deletes
# the volumes it created (and their bricks), stops the glusterd it started, restores
# glusterd.vol. Packages it installed are left installed (say so, do not guess).
set -euo pipefail

BRICKS=${GLUSTER_TEST_BRICKS:-/var/tmp/gluster-tcmu-bricks}
STATE=${GLUSTER_TEST_STATE:-/var/tmp/gluster-tcmu-test.state}
VOL_FILE=/etc/glusterfs/glusterd.vol

log() { printf 'gluster-teardown: %s\n' "$*" >&2; }
g() { gluster --mode=script "$@"; }

[ -f "$STATE" ] || { log "no state file $STATE: nothing to undo"; exit 0; }

tac "$STATE" | while read -r what rest; do
  case "$what $rest" in
    "created volume "*)
      vol=${rest#volume }
      log "deleting volume $vol"
      g volume stop "$vol" force >/dev/null 2>&1 || true
      g volume delete "$vol" >/dev/null 2>&1 || true
      rm -rf "${BRICKS:?}/$vol"
      ;;
    "started glusterd")
      # The volumes were deleted above (they are newer in the state file), which stopped
      # their bricks and the self-heal daemon; only glusterd itself is left.
      log "stopping glusterd"
      [ -f /run/glusterd.pid ] && kill "$(cat /run/glusterd.pid)" 2>/dev/null || true
      ;;
    "edited "*)
      [ -f "$VOL_FILE.gluster-tcmu.orig" ] && mv "$VOL_FILE.gluster-tcmu.orig" "$VOL_FILE"
      ;;
    "installed "*)
      log "left installed: ${rest}"
      ;;
  esac
done
rmdir "$BRICKS" 2>/dev/null || true
rm -f "$STATE"
