#!/bin/bash
# kill -9 gluster-tcmu while fio write-verify runs on its LUN, start it again: fio completes
# without an I/O error and verifies (the daemon recovers the ring: block_dev, reset_ring).
# user:glfs also restarts while the volume is stopped: BUSY until the bricks are back, then
# fio completes and verifies; and while glusterd is silent (accepts, never answers) with
# three LUNs: one waits the connect deadline, the others reconnect at once, all serve again.
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
# The write phase is capped (64 MiB = 16384 writes at 800 IOPS, at least 20 s) so the kill
# lands in it however fast the backstore is: on a fast user:file LUN an uncapped job once
# finished within the 8 s before the kill. A replica-3 volume under emulation writes a few
# dozen 4 KiB blocks a second, so there 8 MiB at 100 IOPS (also at least 20 s) is enough
# and keeps the scenario minutes shorter.
size=64M rate=800
[[ $bs_kind != user:glfs ]] || size=8M rate=100
fio --name=restart --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite \
    --bs=4k --size=$size --rate_iops=$rate --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_dump=0 \
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

# outage_fio_start NAME WHILE: fio write-verify in the background during an outage; it
# must still be running (BUSY retried) 10 s later. 4 MiB: every write waits for the
# outage's end anyway, and the LUN is slow after it.
outage_fio_start() {
    gt_step "fio randwrite+verify while $2"
    fio --name="$1" --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite \
        --bs=4k --size=4M --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_dump=0 \
        --output-format=json --output="$GT_RESULTS/fio-$1.json" &
    fio_pid=$!
    sleep 10
    kill -0 $fio_pid 2>/dev/null || gt_fail "fio finished while $2"
}

# outage_fio_end NAME ACROSS: that fio finished without an error and verified.
outage_fio_end() {
    wait $fio_pid
    local rc=$?
    gt_fio_summary "$GT_RESULTS/fio-$1.json"
    ((rc == 0)) || gt_fail "fio exited $rc across $2"
    grep -q '"error" : 0' "$GT_RESULTS/fio-$1.json" || gt_fail "fio reported an I/O error across $2"
}

# lun_state NAME STATE: `gluster-tcmu list` shows LUN NAME in STATE.
lun_state() {
    "$GT_BIN" list | tee -a "$GT_RESULTS/list.txt" |
        grep -qE "/$1[[:space:]]+glfs[[:space:]].*[[:space:]]$2\$"
}

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
    gt_check "gluster-tcmu list says the LUN is reconnecting" lun_state restart reconnecting
    outage_fio_start down "the volume is stopped"
    gt_step "start volume $GT_VOLUME"
    gluster --mode=script volume start "$GT_VOLUME" || gt_fail "gluster volume start $GT_VOLUME"
    outage_fio_end down "the outage"
    gt_check "the LUN reconnected" grep -q "reconnected; serving again" "$GT_RESULTS/gluster-tcmu.log"
    gt_check "gluster-tcmu list says the LUN is serving" lun_state restart serving

    # A restart while glusterd accepts connections and never answers (hung), with three
    # LUNs on the volume: one waits out the connect deadline, the other two start
    # reconnecting at once (one silent connect, not three in turn), and all three serve
    # once a glusterd answers again.
    gt_backstore_create user:glfs restart-b 16M
    gt_backstore_create user:glfs restart-c 16M
    gt_wait 60 "three LUNs served" \
        bash -c '[[ $("$0" list 2>/dev/null | grep -c glfs) -ge 3 ]]' "$GT_BIN"
    gt_step "kill -9 gluster-tcmu and glusterd; a silent server on $GT_GLUSTER_HOST:24007"
    kill -9 "$GT_DAEMON_PID"
    wait "$GT_DAEMON_PID" 2>/dev/null
    GT_DAEMON_PID=
    pkill -9 -x glusterd
    gt_wait 30 "glusterd gone" bash -c '! pgrep -x glusterd >/dev/null'
    python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 24007)); s.listen(16); held = []
while True: held.append(s.accept())
' "$GT_GLUSTER_HOST" &
silent_pid=$!
    # Killed however the scenario ends: left listening, it keeps glusterd off the port
    # for every scenario after this one.
    trap 'kill "$silent_pid" 2>/dev/null' EXIT
    # Python starts slowly under emulation: a daemon started before the bind meets a
    # refused connection, not a silent server.
    gt_wait 30 "the silent server listening on $GT_GLUSTER_HOST:24007" \
        awk '$2 ~ /:5DC7$/ && $4 == "0A" {found = 1} END {exit !found}' /proc/net/tcp
    log_from=$(($(wc -l <"$GT_RESULTS/gluster-tcmu.log") + 1))
    new_log() { tail -n +"$log_from" "$GT_RESULTS/gluster-tcmu.log"; }
    gt_daemon_start
    gt_wait 60 "three LUNs taken over reconnecting" \
        bash -c '[[ $(tail -n +"$1" "$2" | grep -c "answering BUSY while reconnecting") -ge 3 ]]' \
        _ "$log_from" "$GT_RESULTS/gluster-tcmu.log"
    new_log | grep "answering BUSY while reconnecting" | sed 's/^/    | /'
    waited=$(new_log | grep -c "cannot open (no answer from")
    skipped=$(new_log | grep -c "not waiting for it again here")
    ((waited == 1 && skipped == 2)) ||
        gt_fail "takeover on a silent server: $waited LUNs waited the deadline, $skipped did not (want 1 and 2)"
    gt_info "one LUN waited the connect deadline, two started reconnecting at once"
    for lun in restart restart-b restart-c; do
        gt_check "gluster-tcmu list says $lun is reconnecting" lun_state "$lun" reconnecting
    done
    outage_fio_start silent "glusterd is silent"
    gt_step "stop the silent server, start glusterd"
    kill "$silent_pid"
    wait "$silent_pid" 2>/dev/null
    gt_gluster_start
    outage_fio_end silent "the silent server"
    gt_wait 120 "all three LUNs reconnected" \
        bash -c '[[ $(tail -n +"$1" "$2" | grep -c "reconnected; serving again") -ge 3 ]]' \
        _ "$log_from" "$GT_RESULTS/gluster-tcmu.log"
    for lun in restart restart-b restart-c; do
        gt_check "gluster-tcmu list says $lun is serving" lun_state "$lun" serving
    done
fi
gt_step "pass"
