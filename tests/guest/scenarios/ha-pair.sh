#!/bin/bash
# Two gateways in two guests, one initiator with dm-multipath, failovers under fio (issue 24).
# Guest A (this one, 198.18.0.1): glusterd and the HA volume's brick, gateway 1, and the
# initiator: open-iscsi logged in to both portals and dm-multipath as the kubelet's multipath
# support expects it (multipathd, find_multipaths, prio alua, tur, no_path_retry queue; one
# path per group, `failover`: with group_by_prio two gateways that both still report
# Active/Optimized would get I/O in turn, moving the lock each time, docs/HA.md). Guest B (the peer, 198.18.0.2, tests/guest/pair-peer.sh): gateway 2, its gfapi on A's
# brick across the link. Under a loop of fio write-verify jobs on the multipath device:
#   1. B active; SIGKILL of B's daemon: I/O moves to A (A takes the image lock);
#   2. B's daemon started again (no lock: Active/Non-optimized), fail back to B (A's path
#      failed in multipathd until B holds the lock);
#   3. B's whole guest killed (its QEMU, SIGKILL): I/O moves to A;
#   4. B booted again: it comes back as a gateway by itself, without the lock; fail back.
# Every fio job must finish without error and verify; each failover's pause (the gap in fio's
# completions around it) goes to pauses.txt, what the initiator saw to events/.
# guest-pair: peer
# guest-timeout: 2400
# guest-manual: two guests under TCG in a boot of their own, 5-13 minutes (docs/TESTING.md)
set -u
. /share/guest/lib.sh
. /share/guest/exports.sh
A=198.18.0.1 B=198.18.0.2
PA=$A:3260 PB=$B:3260
P=/share/pair
R=$GT_RESULTS
PEER_R=/share/results/$GT_PEER_DIR
hvol=gtha name=pair1
mkdir -p "$R/events" "$R/lat" "$R/fio"

# --- the peer and the host -------------------------------------------------------------------
host_n=0 peer_n=0
# host_request kill|boot: the host SIGKILLs the peer's QEMU or boots it again (run.sh).
host_request() {
    host_n=$((host_n + 1))
    echo "$host_n $1" >"$P/host-cmd.tmp" && mv "$P/host-cmd.tmp" "$P/host-cmd"
    gt_wait 60 "the host's answer to '$1'" grep -qx "$host_n $1" "$P/host-ack"
}
# peer_request CMD [ARGS]: a request to pair-peer.sh in B; returns its status.
peer_request() {
    local seq rc
    peer_n=$((peer_n + 1))
    echo "$peer_n $*" >"$P/peer-cmd.tmp" && mv "$P/peer-cmd.tmp" "$P/peer-cmd"
    gt_wait 120 "the peer's answer to '$*'" grep -q "^$peer_n " "$P/peer-ack"
    read -r seq rc _ <"$P/peer-ack"
    return "$rc"
}
peer_up() { grep -qx "$1 up" "$P/peer-ready" 2>/dev/null; }
# info_active GW: `export info` names GW, and it alone, the active gateway (the one whose
# fresh report says its path is Active/Optimized).
info_active() {
    "$GT_BIN" export info "$vol/$name" --json >"$R/info.json" 2>/dev/null || return 1
    python3 - "$R/info.json" "$1" <<'EOF2'
import json, sys
views = json.load(open(sys.argv[1]))["gateways"]
active = [g["gateway"] for g in views if (g.get("path") or {}).get("access") == "active-optimized"]
sys.exit(0 if active == [sys.argv[2]] else 1)
EOF2
}
takeovers() { grep -c "took the image lock" "$1" 2>/dev/null; }

# --- paths --------------------------------------------------------------------------------
# path_field DEV: "pri dm_state checker_state" of a path in multipathd.
path_field() { multipathd show paths raw format "%d %p %t %T" 2>/dev/null | awk -v d="$1" '$1 == d {print $2, $3, $4}'; }
path_usable() { [[ $(path_field "$1") =~ \ active\ (ready|ghost)$ ]]; }
writes_done() { awk '{print $5}' "/sys/block/$1/stat"; }
# wait_writes_on DEV LIMIT: waits until 10 more writes completed on the path DEV.
wait_writes_on() {
    local dev=$1 limit=$2 c0 i
    c0=$(writes_done "$dev")
    for ((i = 0; i < limit; i++)); do
        (($(writes_done "$dev") > c0 + 10)) && return 0
        [[ -e $R/fio-failed ]] && gt_fail "fio failed (job $(cat "$R/fio-failed"))"
        sleep 1
    done
    gt_fail "no writes completed on $dev in ${limit}s ($(path_field "$dev"))"
}
# group_state DEV GROUP: the ALUA state of target port group GROUP as DEV's gateway reports it
# (sg_rtpg's words: active/optimized, active/non optimized, standby, transitioning...).
group_state() {
    timeout 30 sg_rtpg -d "/dev/$1" 2>/dev/null | python3 -c '
import re, sys
blocks = re.split(r"target port group id : ", sys.stdin.read())[1:]
for b in blocks:
    if int(b.split()[0], 16) == int(sys.argv[1]):
        m = re.search(r"asymmetric access state : \S+ \(([^)]*)\)", b)
        print(m.group(1) if m else "?")
' "$2"
}
ANO="active/non optimized"
# settled ACTIVE-DEV ACTIVE-GROUP OTHER-DEV OTHER-GROUP: the active gateway says its group is
# Active/Optimized and the other says its own is Active/Non-optimized (no lock).
settled() {
    [[ $(group_state "$1" "$2") == active/optimized && $(group_state "$3" "$4") == "$ANO" ]]
}

# --- events and what the initiator saw ------------------------------------------------------
now() { date +%s.%N; }
ev_label="" ev_t0=0 ev_dmesg=0
ev_begin() {
    ev_label=$1 ev_t0=$(now) ev_dmesg=$(dmesg | wc -l)
    gt_step "event $ev_label"
}
ev_end() {
    local t1
    t1=$(now)
    echo "$ev_label $ev_t0 $t1" >>"$R/events.txt"
    dmesg | tail -n +$((ev_dmesg + 1)) >"$R/events/$ev_label.dmesg"
    multipathd show paths >"$R/events/$ev_label.paths" 2>&1
    iscsiadm -m session -P 1 >"$R/events/$ev_label.sessions" 2>&1
    gt_info "$ev_label: I/O flowing again after $(python3 -c "print(f'{$t1 - $ev_t0:.1f}')") s (the scenario's view)"
    gt_info "kernel said: $(grep -cE 'alua|device-mapper|connection|session|timing out|abort' "$R/events/$ev_label.dmesg") alua/dm/iscsi/abort lines"
}
# group_of DEV: the target port group of a path (A's is 1, B's 2).
group_of() { if [[ $1 == "$sda" ]]; then echo 1; else echo 2; fi; }
# poke_old_holder DEV LABEL: a gateway that lost the lock to a takeover still reports
# Active/Optimized until its next write is refused by the bricks (it is not told). A write
# sent straight to it (SG_IO: no retry by the kernel), of what is already there, far from
# fio's region: the bricks must refuse it (04h/0Ah), and the gateway then reports
# Active/Non-optimized, so multipathd does not move I/O back to it when its path returns.
poke_old_holder() {
    local dev=$1 out=$R/events/$2.poke
    [[ $(group_state "$dev" "$(group_of "$dev")") == active/optimized ]] || return 0
    dd if="$dm" of="$R/poke.bin" bs=4096 count=1 skip=51200 iflag=direct status=none ||
        gt_fail "read of the poke block"
    # WRITE(10) of 8 blocks at LBA 409600 (200 MiB).
    timeout 60 sg_raw -s 4096 -i "$R/poke.bin" "/dev/$dev" 2a 00 00 06 40 00 00 00 08 00 >"$out" 2>&1
    gt_info "write to the old holder ($dev): $(grep -iE 'status|sense|transition' "$out" | tr '\n' ' ')"
    grep -qi "asymmetric access state transition" "$out" ||
        gt_fail "the old holder's write was not refused with 04h/0Ah: $(cat "$out")"
    gt_wait 60 "the old holder ($dev) reports Active/Non-optimized" reports "$dev" "$ANO"
}
# reports DEV STATE: DEV's gateway reports its own group in STATE.
reports() { [[ $(group_state "$1" "$(group_of "$1")") == "$2" ]]; }
# make_active DEV OTHER LABEL: fail OTHER's path in multipathd so I/O goes through DEV (its
# gateway takes the lock), make OTHER's gateway notice it lost the lock, reinstate OTHER.
make_active() {
    local dev=$1 other=$2
    ev_begin "$3"
    timeout 30 multipathd fail path "$other" >/dev/null || gt_fail "multipathd fail path $other"
    wait_writes_on "$dev" 300
    ev_end
    poke_old_holder "$other" "$3"
    timeout 30 multipathd reinstate path "$other" >/dev/null || gt_fail "multipathd reinstate path $other"
}

# --- fio --------------------------------------------------------------------------------
# A loop of write-verify jobs on the multipath device until fio-stop appears; each job logs
# every completion (unix ms) for the pauses, and its json; the first error ends the loop.
fio_loop() {
    local i=0 rc
    while [[ ! -e $R/fio-stop ]]; do
        i=$((i + 1))
        fio --name="j$i" --filename="$1" --direct=1 --ioengine=libaio --iodepth=8 \
            --rw=randwrite --bs=16k --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 \
            --verify_dump=0 --write_lat_log="$R/lat/j$i" --log_unix_epoch=1 \
            --output-format=json --output="$R/fio/j$i.json" >/dev/null 2>"$R/fio/j$i.err"
        rc=$?
        ((rc == 0)) && ! grep -q '"error" : 0' "$R/fio/j$i.json" 2>/dev/null && rc=99
        echo "$i $rc" >>"$R/fio-jobs.txt"
        ((rc == 0)) || { echo "$i" >"$R/fio-failed"; return 1; }
    done
}

# --- set-up -------------------------------------------------------------------------------
GT_GLUSTER_HOST=$A GT_REPLICA=1
gt_gluster_start
GT_VOLUME_OPTS="features.shard=off locks.mandatory-locking=optimal features.enforce-mandatory-lock=on network.ping-timeout=5" \
    gt_volume_create "$hvol"
vol=$hvol@$A
gt_exports_settings "$PA" "$vol"
gt_daemon_start
sed "s/$PA/$PB/" "$GT_SETTINGS" >"$P/peer.toml"
gt_wait 600 "the peer guest's gateway up" peer_up 1

gt_step "export create $vol/$name --gateway $PA --gateway $PB"
"$GT_BIN" export create "$vol/$name" --size 256M --gateway "$PA" --gateway "$PB" \
    --json >"$R/create.json" || gt_fail "export create failed: $(cat "$R/create.json")"
iqn=$(gt_json "$R/create.json" '["iqn"]')
gt_wait 300 "both gateways report the export ready" gt_export_state "$vol" "$name" ready
"$GT_BIN" export info "$vol/$name" >"$R/info.txt" 2>&1

gt_step "initiator: dm-multipath and open-iscsi on both portals"
modprobe dm_multipath && modprobe scsi_dh_alua || gt_fail "modprobe dm_multipath scsi_dh_alua"
cat >/etc/multipath.conf <<'EOF'
defaults {
    user_friendly_names no
    find_multipaths yes
    polling_interval 2
}
blacklist {
    devnode "^vd[a-z]"
}
devices {
    device {
        vendor "LIO-ORG"
        product ".*"
        path_grouping_policy failover
        hardware_handler "1 alua"
        prio alua
        path_checker tur
        failback manual
        no_path_retry queue
    }
}
EOF
multipathd || gt_fail "multipathd did not start"
gt_wait 30 "multipathd answering" multipathd show status
gt_iscsid_start
declare -A dev_of=()
for portal in "$PA" "$PB"; do
    iscsiadm -m discovery -t sendtargets -p "$portal" -o new | grep -q "$iqn" ||
        gt_fail "discovery on $portal does not list $iqn"
    for kv in node.session.timeo.replacement_timeout=10 node.conn[0].timeo.noop_out_interval=5 \
        node.conn[0].timeo.noop_out_timeout=5; do
        iscsiadm -m node -T "$iqn" -p "$portal" -o update -n "${kv%%=*}" -v "${kv#*=}" ||
            gt_fail "iscsiadm: $kv"
    done
    iscsiadm -m node -T "$iqn" -p "$portal" --login || gt_fail "login to $iqn at $portal"
    link=/dev/disk/by-path/ip-$portal-iscsi-$iqn-lun-0
    gt_wait 120 "$link" test -b "$link"
    dev_of[$portal]=$(basename "$(readlink -f "$link")")
done
sda=${dev_of[$PA]} sdb=${dev_of[$PB]}
wwid=$(/lib/udev/scsi_id -g -u -d "/dev/$sda")
[[ $wwid == $(/lib/udev/scsi_id -g -u -d "/dev/$sdb") ]] ||
    gt_fail "the two paths have different WWIDs: $wwid, $(/lib/udev/scsi_id -g -u -d "/dev/$sdb")"
dm=/dev/mapper/$wwid
gt_wait 60 "the multipath device $dm" test -b "$dm"
gt_wait 60 "both paths in the map" bash -c "[[ \$(multipathd show paths raw format '%w' | grep -c $wwid) == 2 ]]"
gt_info "paths: A $sda, B $sdb; map $dm ($(readlink -f "$dm"))"
multipathd show config >"$R/multipath-config.txt" 2>&1
multipath -ll "$wwid" >"$R/multipath-start.txt" 2>&1
sed 's/^/    /' "$R/multipath-start.txt"
for d in "$sda" "$sdb"; do
    sg_rtpg -d "/dev/$d" >"$R/rtpg-$d-start.txt" 2>&1
    gt_info "$d: group 1 $(group_state "$d" 1), group 2 $(group_state "$d" 2) ($(path_field "$d"))"
done
# The login's partition scans move the lock once or twice; a path checker's TEST UNIT
# READY must still find both paths up (refused while a gateway was transitioning, it made
# multipathd fail a path and the gateways trade the lock for as long as I/O ran).
grep -qE 'failed|faulty' "$R/multipath-start.txt" &&
    gt_fail "a path failed in multipathd right after login: $(tr -s ' \n' ' ' <"$R/multipath-start.txt")"

# On the way out, passed or not: what multipath and iSCSI looked like, and no queueing left
# behind (a map queueing with no path would hang the cleanup's logouts).
on_exit() {
    multipath -ll "$wwid" >"$R/multipath-end.txt" 2>&1
    iscsiadm -m session -P 1 >"$R/sessions-end.txt" 2>&1
    dmsetup message "$wwid" 0 fail_if_no_path >/dev/null 2>&1
    touch "$R/fio-stop"
}
trap on_exit EXIT

gt_step "fio write-verify loop on $dm"
fio_loop "$dm" &
fio_pid=$!
sleep 5

# B active first: the logins' partition scans and this move decide nothing else.
make_active "$sdb" "$sda" setup-b-active
gt_wait 180 "B Active/Optimized, A Active/Non-optimized" settled "$sdb" 2 "$sda" 1
gt_wait 120 "A's path back" path_usable "$sda"
gt_wait 60 "export info names B the active gateway" info_active "$PB"
sleep 20 # a quiet stretch: the baseline of the completion gaps

# 1. kill -9 the active gateway's daemon.
a_takes=$(takeovers "$R/gluster-tcmu.log")
ev_begin daemon-kill
peer_request kill-daemon || gt_fail "the peer could not kill its daemon"
wait_writes_on "$sda" 600
ev_end
gt_wait 60 "A took the image lock" bash -c "(( \$(grep -c 'took the image lock' $R/gluster-tcmu.log) > $a_takes ))"
peer_request start-daemon || gt_fail "the peer's daemon did not start again"
# What the initiator made of B's disk (its error handling offlined it while the commands
# were held; the session's relogin brings it back).
echo "after the daemon kill and restart: $sdb (B's path) $(cat "/sys/block/$sdb/device/state")" >>"$R/initiator-saw.txt"
gt_wait 300 "B's path usable again" path_usable "$sdb"
gt_info "B's path after its daemon's restart: $(path_field "$sdb"); group 2 $(group_state "$sdb" 2)"
b_takes=$(takeovers "$PEER_R/gluster-tcmu.log")
# 2. fail back to B.
make_active "$sdb" "$sda" failback-after-daemon
gt_wait 60 "B took the image lock again" bash -c "(( \$(grep -c 'took the image lock' $PEER_R/gluster-tcmu.log) > $b_takes ))"
gt_wait 180 "B Active/Optimized, A Active/Non-optimized" settled "$sdb" 2 "$sda" 1
gt_wait 120 "A's path back" path_usable "$sda"
sleep 10

# 3. kill B's whole guest.
a_takes=$(takeovers "$R/gluster-tcmu.log")
ev_begin guest-kill
host_request kill
wait_writes_on "$sda" 600
ev_end
gt_wait 60 "A took the image lock" bash -c "(( \$(grep -c 'took the image lock' $R/gluster-tcmu.log) > $a_takes ))"
# B's last report (Active/Optimized) counts until it is stale (30 s).
gt_wait 120 "export info names A the active gateway" info_active "$PA"

# 4. boot B again; it comes back Standby; fail back to B.
t_boot=$(now)
host_request boot
gt_wait 900 "the peer guest's gateway up again" peer_up 2
gt_wait 300 "B's path usable again" path_usable "$sdb"
gt_info "B back after $(python3 -c "print(f'{$(now) - $t_boot:.0f}')") s: $(path_field "$sdb"), group 2 $(group_state "$sdb" 2)"
[[ $(group_state "$sdb" 2) == "$ANO" ]] || gt_fail "B came back as $(group_state "$sdb" 2), not without the lock ($ANO)"
b_takes=$(takeovers "$PEER_R/gluster-tcmu.log")
make_active "$sdb" "$sda" failback-after-reboot
gt_wait 60 "B took the image lock" bash -c "(( \$(grep -c 'took the image lock' $PEER_R/gluster-tcmu.log) > $b_takes ))"
gt_wait 180 "B Active/Optimized, A Active/Non-optimized" settled "$sdb" 2 "$sda" 1
wait_writes_on "$sdb" 120
gt_wait 60 "export info names B the active gateway" info_active "$PB"
"$GT_BIN" export info "$vol/$name" >"$R/info.txt" 2>&1
sed 's/^/    /' "$R/info.txt"

gt_step "stop fio"
touch "$R/fio-stop"
wait "$fio_pid"
[[ -e $R/fio-failed ]] && gt_fail "fio job $(cat "$R/fio-failed") failed: $(head -c 400 "$R/fio/j$(cat "$R/fio-failed").err")"
gt_info "fio: $(wc -l <"$R/fio-jobs.txt") write-verify jobs of 16 MiB, all without error"

python3 - "$R" <<'EOF' | tee "$R/pauses.txt" || gt_fail "no pauses computed"
import bisect, glob, sys
r = sys.argv[1]
ts = []
for f in glob.glob(r + "/lat/*_clat.*.log"):
    for line in open(f):
        t = line.split(",")[0].strip()
        if t.isdigit():
            ts.append(int(t))
ts.sort()
events = [l.split() for l in open(r + "/events.txt")]
first = float(events[0][2]) * 1000
# Baseline: the longest gap in the quiet 20 s after B became active.
quiet = [t for t in ts if first < t < first + 20000]
base = max((b - a for a, b in zip(quiet, quiet[1:])), default=0)
print(f"completions logged: {len(ts)}; longest gap in a quiet 20 s: {base / 1000:.2f} s")
for label, t0, t1 in events:
    t0, t1 = float(t0) * 1000, float(t1) * 1000
    i = bisect.bisect_right(ts, t0)
    j = bisect.bisect_right(ts, t1)
    span = ts[max(i - 1, 0):j + 1]
    gap = max((b - a for a, b in zip(span, span[1:])), default=0)
    print(f"{label}: pause {gap / 1000:.2f} s (longest gap between completed I/Os from the event "
          f"to I/O seen flowing again, {(t1 - t0) / 1000:.1f} s later)")
EOF

gt_step "cleanup"
multipath -f "$wwid" >/dev/null || gt_info "multipath -f $wwid failed"
iscsiadm -m node -T "$iqn" --logout >/dev/null
# B's report lists the session until its next rewrite (every 10 s at least): retried.
gt_wait 90 "export delete (refused while a gateway still reports the logged-out session)" \
    "$GT_BIN" export delete "$vol/$name" --wait 120
gt_daemon_stop
gt_exports_reset
gt_step "pass"
