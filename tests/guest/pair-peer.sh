#!/bin/bash
# PID 1's work in the peer guest (B) of a pair boot (tests/guest/run.sh, "# guest-pair: peer"):
# a gateway and nothing else. exec'd by guest-init.sh once the link, LIO modules and D-Bus are
# up. It waits for the scenario in guest A to write the gateway's settings file to the share
# (share/pair/peer.toml; a peer booted again finds it there and comes back as a gateway by
# itself), starts gluster-tcmu, says so in share/pair/peer-ready ("BOOT up"), then serves the
# scenario's requests: "SEQ CMD [ARGS]" in share/pair/peer-cmd, answered "SEQ RC CMD" in
# share/pair/peer-ack:
#   kill-daemon      SIGKILL gluster-tcmu (LIO and the iSCSI sessions stay)
#   start-daemon     start it again (it recovers its LUNs and rebuilds its exports)
#   run COMMAND      a shell command; its output in share/pair/peer-out.SEQ
# Runs until the host kills the guest's QEMU.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /share/guest/lib.sh
P=/share/pair
boot=$(($(cat "$GT_RESULTS/boots" 2>/dev/null || echo 0) + 1))
echo "$boot" >"$GT_RESULTS/boots"
gt_step "peer boot $boot: $(ip -brief addr | tr '\n' ' ')"

# peer_daemon_start: gluster-tcmu in the background until it owns its D-Bus name.
peer_daemon_start() {
    local i
    "$GT_BIN" run >>"$GT_RESULTS/gluster-tcmu.log" 2>&1 &
    GT_DAEMON_PID=$!
    for ((i = 0; i < 60; i++)); do
        gt_dbus_has_handler && { gt_info "gluster-tcmu pid $GT_DAEMON_PID up after ${i}s"; return 0; }
        kill -0 "$GT_DAEMON_PID" 2>/dev/null || break
        sleep 1
    done
    gt_info "gluster-tcmu did not come up (pid $GT_DAEMON_PID)"
    return 1
}

# reply SEQ RC CMD: the answer the scenario waits for (written whole, then renamed).
reply() { echo "$*" >"$P/peer-ack.tmp" && mv "$P/peer-ack.tmp" "$P/peer-ack"; }

while [[ ! -s $P/peer.toml ]]; do sleep 1; done
mkdir -p /etc/gluster-tcmu
cp "$P/peer.toml" /etc/gluster-tcmu/gluster-tcmu.toml
gt_step "gateway settings: $(tr '\n' ' ' </etc/gluster-tcmu/gluster-tcmu.toml)"
peer_daemon_start
echo "$boot up" >"$P/peer-ready"

# A request written before this boot was for the guest that died: not ours to run.
done_seq=$(cut -d' ' -f1 "$P/peer-cmd" 2>/dev/null)
[[ $done_seq =~ ^[0-9]+$ ]] || done_seq=0
while true; do
    if read -r seq cmd args 2>/dev/null <"$P/peer-cmd" && [[ $seq =~ ^[0-9]+$ ]] && ((seq > done_seq)); then
        done_seq=$seq
        gt_step "request $seq: $cmd $args"
        case $cmd in
            kill-daemon)
                kill -KILL "$GT_DAEMON_PID"
                wait "$GT_DAEMON_PID" 2>/dev/null
                rc=0 ;;
            start-daemon) peer_daemon_start; rc=$? ;;
            run) bash -c "$args" >"$P/peer-out.$seq" 2>&1; rc=$? ;;
            *) rc=2 ;;
        esac
        reply "$seq $rc $cmd"
    fi
    sleep 0.5
done
