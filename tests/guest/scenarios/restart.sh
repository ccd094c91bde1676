#!/bin/bash
# kill -9 gluster-tcmu while fio write-verify runs on its LUN, start it again: fio completes
# without an I/O error and verifies (the daemon recovers the ring: block_dev, reset_ring).
# user:glfs also restarts while the volume is stopped: BUSY until the bricks are back, then
# fio completes and verifies.
#   restart.sh [BACKSTORE]   default user:file
# guest-timeout: 900
set -u
. /share/guest/lib.sh
bs_kind=${1:-user:file}
gt_prepare_backstore "$bs_kind"
gt_backstore_create "$bs_kind" restart 128M
gt_loop_export "$GT_BS"
dev=$GT_DEV
gt_step "fio randwrite+verify in the background"
# The write phase is capped at 800 IOPS (64 MiB = 16384 writes, at least 20 s) so the kill
# lands in it however fast the backstore is: on a fast user:file LUN an uncapped job once
# finished within the 8 s before the kill. A slower backstore only makes it longer.
fio --name=restart --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite \
    --bs=4k --size=64M --rate_iops=800 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_dump=0 \
    --output-format=json --output="$GT_RESULTS/fio-restart.json" &
fio_pid=$!
sleep 8
kill -0 $fio_pid 2>/dev/null || gt_fail "fio finished before the kill: make the job longer"
pid=$GT_DAEMON_PID
gt_step "kill -9 gluster-tcmu (pid $pid) during I/O"
kill -9 "$pid"
wait "$pid" 2>/dev/null
GT_DAEMON_PID=
sleep 3
gt_daemon_start
gt_step "wait for fio"
wait $fio_pid
rc=$?
gt_fio_summary "$GT_RESULTS/fio-restart.json"
((rc == 0)) || gt_fail "fio exited $rc across the restart"
grep -q '"error" : 0' "$GT_RESULTS/fio-restart.json" || gt_fail "fio reported an I/O error across the restart"
dmesg | grep -iE 'tcmu|uio' | tail -20

if [[ $bs_kind == user:glfs ]]; then
    # A restart while the volume is down: the daemon still takes the LUN over, answers
    # BUSY (the initiator retries) and serves it once the bricks are back.
    gt_step "kill -9 gluster-tcmu, stop volume $GT_VOLUME, start gluster-tcmu"
    kill -9 "$GT_DAEMON_PID"
    wait "$GT_DAEMON_PID" 2>/dev/null
    GT_DAEMON_PID=
    gluster --mode=script volume stop "$GT_VOLUME" || gt_fail "gluster volume stop $GT_VOLUME"
    gt_daemon_start
    gt_wait 60 "the LUN taken over and reconnecting" \
        grep -q "answering BUSY while reconnecting in the background" "$GT_RESULTS/gluster-tcmu.log"
    gt_step "fio randwrite+verify while the volume is down"
    fio --name=down --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite \
        --bs=4k --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_dump=0 \
        --output-format=json --output="$GT_RESULTS/fio-down.json" &
    fio_pid=$!
    sleep 10
    kill -0 $fio_pid 2>/dev/null || gt_fail "fio finished while the volume was stopped"
    gt_step "start volume $GT_VOLUME"
    gluster --mode=script volume start "$GT_VOLUME" || gt_fail "gluster volume start $GT_VOLUME"
    wait $fio_pid
    rc=$?
    gt_fio_summary "$GT_RESULTS/fio-down.json"
    ((rc == 0)) || gt_fail "fio exited $rc across the outage"
    grep -q '"error" : 0' "$GT_RESULTS/fio-down.json" || gt_fail "fio reported an I/O error across the outage"
    gt_check "the LUN reconnected" grep -q "reconnected; serving again" "$GT_RESULTS/gluster-tcmu.log"
fi
gt_step "pass"
