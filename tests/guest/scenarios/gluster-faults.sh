#!/bin/bash
# Gluster faults under a LUN with fio write-verify running:
#   brick-kill:  kill -9 one brick process (replica 3 keeps quorum): no I/O error
#   volume-stop: `gluster volume stop` for 15 s, then start: I/O resumes without restarting
#                gluster-tcmu, verify passes
#   glusterd-kill: kill -9 glusterd (the bricks keep serving), start it again: no I/O error
#   brick-hang:  SIGSTOP one brick for 50 s (longer than the kernel's default cmd_time_out
#                and the initiator's 30 s, shorter than network.ping-timeout, 42 s): the
#                daemon gave the LUN cmd_time_out 130 s at create, so no I/O error
#   graph-switch: toggle a translator twice (performance.quick-read on, off): each new
#                volfile moves the open LUN to a new gfapi connection (gfapi's own graph
#                switch under async I/O frees the file's fd); no I/O error
#   gluster-faults.sh [BACKSTORE [PHASES]]
#                default user:glfs "brick-kill volume-stop glusterd-kill graph-switch brick-hang"
# guest-timeout: 1200
# guest-needs: gluster
set -u
. /share/guest/lib.sh
bs_kind=${1:-user:glfs}
phases=${2:-brick-kill volume-stop glusterd-kill graph-switch brick-hang}
# Replica-3 O_DSYNC writes under TCG run at tens of IOPS: keep the job small (it only has to
# outlast the fault, which starts 8 s in).
fault_size=${GT_FAULT_SIZE:-8M}
gt_prepare_backstore "$bs_kind"
restore() {
    pkill -CONT -f glusterfsd
    gt_gluster_start >/dev/null 2>&1
    gluster --mode=script volume start "$GT_VOLUME" force >/dev/null 2>&1
}
trap restore EXIT
gt_backstore_create "$bs_kind" faults 256M
gt_loop_export "$GT_BS"
dev=$GT_DEV
daemon=${GT_DAEMON_PID:-}

fio_bg() { # NAME EXTRA-ARGS...
    local name=$1
    shift
    fio --name="$name" --filename="$dev" --direct=1 --ioengine=libaio --iodepth=8 --rw=randwrite \
        --bs=4k --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_dump=0 \
        --output-format=json --output="$GT_RESULTS/fio-$name.json" "$@" &
    fio_pid=$!
}
fio_wait() {
    local name=$1 rc i=0 sd
    sd=$(basename "$(readlink -f "$dev")")
    # Progress every 20 s (writes/reads completed on the disk, in-flight), so a stall shows.
    while kill -0 "$fio_pid" 2>/dev/null; do
        sleep 1
        if ((++i % 20 == 0)); then
            read -r rd _ _ _ wr _ _ _ inflight _ </sys/block/$sd/stat
            gt_info "fio $name running ${i}s: reads $rd writes $wr in flight $inflight"
        fi
    done
    wait "$fio_pid"
    rc=$?
    gt_fio_summary "$GT_RESULTS/fio-$name.json"
    ((rc == 0)) || gt_fail "fio $name exited $rc"
    grep -q '"error" : 0' "$GT_RESULTS/fio-$name.json" || gt_fail "fio $name reported an I/O error"
    if [[ -n $daemon ]]; then kill -0 "$daemon" || gt_fail "gluster-tcmu died"; fi
    gt_info "ok: fio $name verified"
}

# fault_fio NAME RATE: fio write-verify in the background at RATE IOPS, 8 s in, still running.
fault_fio() {
    fio_bg "$1" --size="$fault_size" --rate_iops="$2"
    sleep 8
    kill -0 "$fio_pid" || gt_fail "fio finished before the fault"
}

# brick_pid N: the glusterfsd of brick bN; fails when there is none.
brick_pid() {
    local pid
    pid=$(gt_brick_pid "$GT_VOLUME" "$1")
    [[ -n $pid ]] && echo "$pid"
}

# moves: how many times gluster-tcmu moved a LUN to a connection built from a new volfile.
moves() { grep -c "serving on the new connection" "$GT_RESULTS/gluster-tcmu.log" 2>/dev/null; }

for phase in $phases; do
    case $phase in
        brick-kill)
            gt_step "brick-kill: fio, then kill -9 brick b1"
            fault_fio brick-kill 150
            bpid=$(brick_pid 1) || gt_fail "no glusterfsd for brick b1"
            kill -9 "$bpid"
            gt_info "killed brick b1 (pid $bpid)"
            fio_wait brick-kill
            gt_step "restart the brick, heal"
            gluster --mode=script volume start "$GT_VOLUME" force || gt_fail "volume start force"
            gt_wait 120 "bricks online" gt_bricks_online "$GT_VOLUME" "$GT_REPLICA"
            gluster --mode=script volume heal "$GT_VOLUME" || gt_info "heal command failed (non-fatal)"
            ;;
        volume-stop)
            gt_step "volume-stop: fio, volume stop for 15 s, start"
            fault_fio volume-stop 100
            gluster --mode=script volume stop "$GT_VOLUME" || gt_fail "volume stop"
            sleep 15
            gluster --mode=script volume start "$GT_VOLUME" || gt_fail "volume start"
            gt_wait 120 "bricks online" gt_bricks_online "$GT_VOLUME" "$GT_REPLICA"
            fio_wait volume-stop
            ;;
        glusterd-kill)
            gt_step "glusterd-kill: fio, kill -9 glusterd, start it again"
            fault_fio glusterd-kill 150
            pkill -9 -x glusterd || gt_fail "no glusterd to kill"
            sleep 5
            gt_gluster_start
            fio_wait glusterd-kill
            ;;
        graph-switch)
            gt_step "graph-switch: fio, performance.quick-read on, then off"
            fault_fio graph-switch 150
            for v in on off; do
                before=$(moves)
                gluster --mode=script volume set "$GT_VOLUME" performance.quick-read "$v" ||
                    gt_fail "volume set performance.quick-read $v"
                # fio's next request after the new volfile starts the move.
                gt_wait 90 "the LUN to move to a new connection (quick-read $v)" \
                    bash -c '(($(grep -c "serving on the new connection" "$1") > $2))' _ \
                    "$GT_RESULTS/gluster-tcmu.log" "$before"
                gt_info "quick-read $v: the LUN moved to a new connection under fio"
            done
            fio_wait graph-switch
            ;;
        brick-hang)
            cto=$(cat /sys/kernel/config/target/core/user_*/faults/attrib/cmd_time_out)
            ((cto == 130)) || gt_fail "the LUN's cmd_time_out is $cto, want 130 (set by gluster-tcmu)"
            gt_info "the LUN's cmd_time_out is $cto s"
            gt_step "brick-hang: fio, SIGSTOP brick b1 for 50 s, SIGCONT"
            fault_fio brick-hang 100
            bpid=$(brick_pid 1) || gt_fail "no glusterfsd for brick b1"
            kill -STOP "$bpid"
            sleep 50
            kill -CONT "$bpid"
            gt_info "brick b1 (pid $bpid) was stopped for 50 s"
            fio_wait brick-hang
            ;;
        *) gt_fail "unknown phase $phase" ;;
    esac
done
gt_step "pass"
