#!/bin/bash
# user:glfs LUNs created and deleted back to back on one volume, as an admin scripting
# targetcli (or a provisioner) does: every create (CheckConfig, then the kernel's
# ADDED_DEVICE) succeeds and is served, every delete releases its UIO device, the daemon
# stays up, and once the daemon has let its idle connections go, it holds no more fds and
# threads than after one create and delete had settled (gfapi starts a few process-wide
# threads with its first connection and keeps them). Each create follows the previous
# delete within a second or two.
#   glfs-churn.sh [CYCLES]   default 8
# guest-timeout: 600
# guest-needs: gluster
set -u
. /share/guest/lib.sh
cycles=${1:-8}
gt_prepare_backstore user:glfs
pid=$GT_DAEMON_PID
counts() { echo "$(ls /proc/$pid/fd | wc -l) $(ls /proc/$pid/task | wc -l)"; }
# settle: fds and threads still for 15 s, and at least 40 s (CheckConfig's kept connection,
# 30 s, then glfs_fini).
settle() { gt_settle 40 180 counts; }
threads() { cat /proc/$pid/task/*/comm | sort | uniq -c | tr -s ' \n' ' '; }
gt_info "before any LUN (fds threads): $(counts)"
gt_backstore_create user:glfs churn 16M
gt_wait 20 "warm-up: daemon serves churn" gt_daemon_holds_uio "$pid"
targetcli /backstores/user:glfs delete churn >/dev/null || gt_fail "warm-up: targetcli delete"
gt_wait 20 "warm-up: daemon released churn" gt_daemon_released_uio "$pid"
settle
base=$(counts)
gt_info "baseline after one create and delete (fds threads): $base; threads: $(threads)"
for ((i = 1; i <= cycles; i++)); do
    name=churn$((i % 3))
    gt_backstore_create user:glfs "$name" 16M
    gt_wait 20 "cycle $i: daemon serves $name" gt_daemon_holds_uio "$pid"
    targetcli /backstores/user:glfs delete "$name" >/dev/null || gt_fail "cycle $i: targetcli delete $name"
    gt_wait 20 "cycle $i: daemon released $name" gt_daemon_released_uio "$pid"
    kill -0 "$pid" || gt_fail "cycle $i: gluster-tcmu died"
    gt_info "cycle $i done (fds threads): $(counts)"
done
grep -q "cannot open" "$GT_RESULTS/gluster-tcmu.log" && gt_fail "the daemon refused a device (see its log)"
settle
now=$(counts)
gt_info "after the churn (fds threads): $now; threads: $(threads)"
read -r f t <<<"$now"
read -r f0 t0 <<<"$base"
((f <= f0)) || gt_fail "fd count grew from $f0 to $f over $cycles cycles"
((t <= t0)) || gt_fail "thread count grew from $t0 to $t over $cycles cycles"
gt_step "pass"
