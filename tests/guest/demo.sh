#!/bin/bash
# The main job of gluster-tcmu, shown end to end: a replica-3 GlusterFS volume on loopback,
# `gluster-tcmu export create` making an image on it an iSCSI LUN with CHAP, the daemon as the
# volume's gateway serving it on 127.0.0.1, an initiator logging in with the export's manifest,
# a short fio randrw+verify, a table of the results, and `export delete`.
#
#   tests/guest/demo.sh [--binary PATH] [--guest]
#
# Runs natively when this kernel has target_core_user (and we are root with glusterd,
# targetcli, iscsiadm and fio installed); otherwise (or with --guest) it boots the QEMU test
# guest (tests/guest/run.sh) and runs the same steps (tests/guest/demo-steps.sh) there.
# Settings via environment, see demo-steps.sh (GT_VOLUME, GT_REPLICA, GT_DEMO_SIZE, ...).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=$repo/target/release/gluster-tcmu
guest=0
while (($#)); do
    case $1 in
        --binary) binary=$2; shift ;;
        --guest) guest=1 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "demo.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

native_ok() {
    [[ $(id -u) == 0 ]] || return 1
    [[ -d /sys/module/target_core_user ]] || modprobe -q target_core_user 2>/dev/null || return 1
    local t
    for t in glusterd gluster targetcli iscsiadm fio sg_turs dbus-send; do
        command -v "$t" >/dev/null || { echo "demo: native kernel has TCMU but $t is missing; using the guest" >&2; return 1; }
    done
}

if ((guest == 0)) && native_ok; then
    echo "demo: this kernel has target_core_user: running natively"
    for m in configfs uio target_core_user target_core_file tcm_loop iscsi_target_mod iscsi_tcp; do modprobe -q "$m"; done
    mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
    [[ -x $binary ]] || (cd "$repo" && cargo build --release) || exit 1
    export GT_BIN=$binary GT_RESULTS=${GT_RESULTS:-$repo/target/demo-results}
    rm -rf "$GT_RESULTS"
    exec bash "$here/demo-steps.sh"
fi

echo "demo: no target_core_user on this kernel: running in the QEMU guest (tests/guest/run.sh)"
run=$repo/target/guest-runs/demo-$(date +%Y%m%d-%H%M%S)
mkdir -p "$(dirname "$run")"
log=$run/share/results/demo-steps/log
args=()
[[ -x $binary ]] && args=(--binary "$binary")
GT_GUEST_RUN_DIR=$run "$here/run.sh" "${args[@]}" "$here/demo-steps.sh" >"$run.runner.log" 2>&1 &
rpid=$!
# Stream the demo's own progress lines while the guest works.
while kill -0 $rpid 2>/dev/null && [[ ! -f $log ]]; do sleep 2; done
[[ -f $log ]] && tail -n +1 -F --pid=$rpid "$log" 2>/dev/null
wait $rpid
rc=$?
echo "demo: runner output ($run.runner.log):"
grep -E '^(guest:|PASS|FAIL|XFAIL|XPASS)' "$run.runner.log" | grep -v '^guest: FAIL demo-steps: log' | sed 's/^/    /'
exit $rc
