#!/bin/bash
# Deleting a backstore in targetcli releases the device in the daemon: no leaked fd on /dev/uio*,
# no leaked mapping, no leaked thread (/proc/<pid>/fd, maps, task before and after; 3 cycles).
#   removal.sh [BACKSTORE]   default user:file
# guest-timeout: 600
set -u
. /share/guest/lib.sh
bs_kind=${1:-user:file}
gt_prepare_backstore "$bs_kind"
pid=$GT_DAEMON_PID
snap() { # fds uio_fds uio_maps threads
    local fds uio maps th
    fds=$(ls /proc/$pid/fd | wc -l)
    uio=$(find /proc/$pid/fd -lname '/dev/uio*' 2>/dev/null | wc -l)
    maps=$(grep -c '/dev/uio' /proc/$pid/maps)
    th=$(ls /proc/$pid/task | wc -l)
    echo "$fds $uio $maps $th"
}
sleep 2
base=$(snap)
gt_info "baseline (fds uio-fds uio-maps threads): $base"
for cycle in 1 2 3; do
    gt_step "cycle $cycle: create"
    gt_backstore_create "$bs_kind" removal$cycle 32M
    gt_wait 20 "daemon opens /dev/uio*" gt_daemon_holds_uio "$pid"
    gt_info "with device: $(snap)"
    gt_step "cycle $cycle: delete"
    targetcli /backstores/${bs_kind#*/} delete removal$cycle 2>/dev/null ||
        targetcli "$(dirname "$GT_BS")" delete "removal$cycle" || gt_fail "targetcli delete"
    gt_wait 20 "daemon closes and unmaps /dev/uio*" gt_daemon_released_uio "$pid"
    kill -0 "$pid" || gt_fail "daemon died on removal"
    sleep 2
    now=$(snap)
    gt_info "after delete: $now"
    read -r f0 u0 m0 t0 <<<"$base"
    read -r f1 u1 m1 t1 <<<"$now"
    ((u1 == 0 && m1 == 0)) || gt_fail "uio fd/mapping leaked: $now"
    ((f1 <= f0)) || gt_fail "fd count grew from $f0 to $f1"
    ((t1 <= t0)) || gt_fail "thread count grew from $t0 to $t1"
done
gt_step "pass"
