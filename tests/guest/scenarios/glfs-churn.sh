#!/bin/bash
# user:glfs LUNs created and deleted back to back on one volume, as an admin scripting
# targetcli (or a provisioner) does: every create (CheckConfig, then the kernel's
# ADDED_DEVICE) succeeds and is served, every delete releases its UIO device, the daemon
# stays up, and once the daemon has let its idle connections go, it holds no more fds and
# threads than before the first create. Each create follows the previous delete within a
# second or two, while gfapi still finishes that LUN's connection.
#   glfs-churn.sh [CYCLES]   default 8
# guest-timeout: 600
# guest-needs: gluster
set -u
. /share/guest/lib.sh
cycles=${1:-8}
gt_prepare_backstore user:glfs
pid=$GT_DAEMON_PID
counts() { echo "$(ls /proc/$pid/fd | wc -l) $(ls /proc/$pid/task | wc -l)"; }
uio_open() { [[ -n $(find /proc/$pid/fd -lname '/dev/uio*' 2>/dev/null) ]]; }
uio_closed() { [[ -z $(find /proc/$pid/fd -lname '/dev/uio*' 2>/dev/null) ]] && ! grep -q /dev/uio /proc/$pid/maps; }
sleep 2
base=$(counts)
gt_info "baseline (fds threads): $base"
for ((i = 1; i <= cycles; i++)); do
    name=churn$((i % 3))
    gt_backstore_create user:glfs "$name" 16M
    gt_wait 20 "cycle $i: daemon serves $name" uio_open
    targetcli /backstores/user:glfs delete "$name" >/dev/null || gt_fail "cycle $i: targetcli delete $name"
    gt_wait 20 "cycle $i: daemon released $name" uio_closed
    kill -0 "$pid" || gt_fail "cycle $i: gluster-tcmu died"
    gt_info "cycle $i done (fds threads): $(counts)"
done
grep -q "cannot open" "$GT_RESULTS/gluster-tcmu.log" && gt_fail "the daemon refused a device (see its log)"
# Connections are finished when their last LUN is gone and CheckConfig's hold (30 s)
# has run out; glfs_fini takes seconds more under emulation.
settled() {
    local f t f0 t0
    read -r f t <<<"$(counts)"
    read -r f0 t0 <<<"$base"
    ((f <= f0 && t <= t0))
}
gt_wait 120 "fds and threads back to the baseline ($base)" settled
gt_info "after the churn (fds threads): $(counts)"
gt_step "pass"
