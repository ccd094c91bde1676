#!/bin/bash
# Run scenarios against the real LIO/TCMU stack in a QEMU guest (docs/TESTING.md).
#
#   tests/guest/run.sh [--binary PATH] [--shell] [--gluster] [--list] [SCENARIO|PATH.sh ...]
#
#   SCENARIO     a name from tests/guest/scenarios/ (default: all of them except those with a
#                "# guest-manual: reason" header, e.g. the bench-fio benchmark, which run only
#                when named); an argument with a '/' is a script path run the same way
#                (demo.sh uses this)
#   --binary P   gluster-tcmu binary to carry in (default: target/release/gluster-tcmu;
#                built with `cargo build --release` when missing); the CSI driver
#                target/release/gluster-tcmu-csi and csi/proto/csi.proto go in too
#   --shell      interactive: console on this terminal, after the scenarios a root shell in the
#                guest (Ctrl-a x quits qemu; `exit` powers the guest off)
#   --gluster    start glusterd and create the volume even if no selected scenario needs it
#   --list       print the scenarios with their time limits and needs, and exit
#
# A scenario with a "# guest-init: systemd" header boots on its own with systemd as PID 1
# (the image's gt-run.service runs it once the system is up) and gets the Debian package
# built from the binary in share/deb/; every other scenario runs in one boot under
# /sbin/gt-init as before. A scenario with a "# guest-pair: peer" header boots on its own too,
# in a pair: its guest (A, 198.18.0.1) and a peer guest (B, 198.18.0.2, tests/guest/pair-peer.sh)
# joined by a private link (a second virtio NIC on each QEMU, UDP between the two QEMU processes
# on the host's 127.0.0.1; nothing else is routed). The scenario asks the host to SIGKILL the
# peer's QEMU or boot it again through share/pair/host-cmd (see pair_poll below).
#
# Environment: GT_GUEST_MEM (MiB, default 4096), GT_GUEST_RUNS (where runs go, default
# target/guest-runs), GT_GUEST_RUN_DIR (this run's directory, default <runs>/<timestamp>), GT_GUEST_BOOT_LIMIT (s, default 240), GT_GUEST_GLUSTER_LIMIT (s, 420),
# GT_GUEST_PEER_MEM (MiB, the pair's peer guest, default 2048).
# Every run keeps its share (binary, scripts, results/) and serial.log in
# $GT_GUEST_RUNS/<timestamp>/; `latest` points at the newest.
# Ends with "guest: N passed, N failed"; exit status 1 when a scenario failed unexpectedly, an
# expected failure passed (XPASS), or the guest died or hung.
set -uo pipefail
{ # The whole script is read before it runs: editing it during a long run is safe.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=
shell=0
want_gluster=0
list=0
names=()
while (($#)); do
    case $1 in
        --binary) binary=$2; shift ;;
        --binary=*) binary=${1#*=} ;;
        --shell) shell=1 ;;
        --gluster) want_gluster=1 ;;
        --list) list=1 ;;
        -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) names+=("$1") ;;
    esac
    shift
done

# header NAME FILE: value of a "# guest-NAME: value" line in a scenario script.
header() { sed -n "s/^# guest-$1: *//p" "$2" | head -1; }

declare -A manual_of=()
if ((${#names[@]} == 0)) && ((shell == 0 || list == 1)); then
    # LIO-only scenarios first: conformance reuses the fileio baseline of lio-fileio-conformance.
    for f in "$here"/scenarios/lio-*.sh "$here"/scenarios/*.sh; do
        n=$(basename "$f" .sh)
        if [[ -n $(header manual "$f") ]]; then
            manual_of[$n]=$(header manual "$f")
            continue
        fi
        [[ " ${names[*]} " == *" $n "* ]] || names+=("$n")
    done
fi

declare -A xfail_reason=()
if [[ -f $here/expected-failures ]]; then
    while read -r line; do
        n=${line%%#*}
        n=${n//[[:space:]]/}
        [[ -n $n ]] || continue
        r=${line#*#}
        [[ $r == "$line" ]] && r=""
        xfail_reason[$n]=$(echo "$r" | sed 's/^ *//')
    done <"$here/expected-failures"
fi

# Resolve scenarios: name -> script path, time limit, gluster need.
entries=()
declare -A limit_of=() need_of=() file_of=() init_of=() pair_of=()
args=("${names[@]}")
names=()
for n in "${args[@]}"; do
    if [[ $n == */* ]]; then
        f=$(cd "$(dirname "$n")" && pwd)/$(basename "$n")
        n=$(basename "$n" .sh)
    else
        f=$here/scenarios/$n.sh
    fi
    [[ -f $f ]] || { echo "run.sh: no scenario $n ($f)" >&2; exit 2; }
    lim=$(header timeout "$f")
    lim=${lim:-300}
    needs=$(header needs "$f")
    names+=("$n")
    file_of[$n]=$f
    limit_of[$n]=$lim
    need_of[$n]=$needs
    init_of[$n]=$(header init "$f")
    init_of[$n]=${init_of[$n]:-gt-init}
    pair_of[$n]=$(header pair "$f")
done

if ((list)); then
    printf '%-34s %6s  %-8s %s\n' SCENARIO LIMIT NEEDS EXPECTED
    for n in "${names[@]}"; do
        x=${xfail_reason[$n]+XFAIL: ${xfail_reason[$n]}}
        sd=$([[ ${init_of[$n]} == systemd ]] && echo ' (systemd as PID 1, own boot)')
        [[ -n ${pair_of[$n]} ]] && sd=' (two guests, own boot)'
        printf '%-34s %5ss  %-8s %s\n' "$n" "${limit_of[$n]}" "${need_of[$n]:--}" "${x:-pass}$sd"
    done
    for n in "${!manual_of[@]}"; do
        f=$here/scenarios/$n.sh
        needs=$(header needs "$f")
        sd=$([[ $(header init "$f") == systemd ]] && echo ' (systemd as PID 1, own boot)')
        [[ -n $(header pair "$f") ]] && sd=' (two guests, own boot)'
        printf '%-34s %5ss  %-8s %s\n' "$n" "$(header timeout "$f")" "${needs:--}" \
            "manual (not run by default: ${manual_of[$n]})$sd"
    done
    exit 0
fi

# --- image and binary ---------------------------------------------------------------------
img=$("$here/build-image.sh" | tail -1) || { echo "run.sh: image build failed" >&2; exit 1; }

placeholder=0
if [[ -z $binary ]]; then
    binary=$repo/target/release/gluster-tcmu
    if [[ ! -x $binary ]]; then
        echo "run.sh: $binary missing: cargo build --release" >&2
        if ! (cd "$repo" && cargo build --release >&2); then
            echo "run.sh: WARNING: cargo build failed; using a placeholder gluster-tcmu that exits 1" >&2
            placeholder=1
        fi
    fi
fi
if ((placeholder == 0)) && [[ ! -x $binary ]]; then
    echo "run.sh: binary $binary not found or not executable" >&2
    exit 2
fi
# The CSI driver (csi/) and its proto, for the CSI scenarios' driver and Python client. Built
# here when missing; no placeholder: a scenario cannot test a driver that did not build.
csi_binary=$repo/target/release/gluster-tcmu-csi
if [[ ! -x $csi_binary ]]; then
    echo "run.sh: $csi_binary missing: cargo build --release -p gluster-tcmu-csi" >&2
    (cd "$repo" && cargo build --release -p gluster-tcmu-csi >&2) ||
        { echo "run.sh: cargo build of the CSI driver (gluster-tcmu-csi) failed" >&2; exit 1; }
fi

# --- share --------------------------------------------------------------------------------
runs=${GT_GUEST_RUNS:-$repo/target/guest-runs}
run=${GT_GUEST_RUN_DIR:-$runs/$(date +%Y%m%d-%H%M%S)-$$}
share=$run/share
mkdir -p "$share/bin" "$share/guest/extra" "$share/results"
ln -sfn "$run" "$runs/latest"
if ((placeholder)); then
    printf '#!/bin/sh\necho "gluster-tcmu placeholder (cargo build failed on the host)" >&2\nexit 1\n' \
        >"$share/bin/gluster-tcmu"
    chmod 755 "$share/bin/gluster-tcmu"
else
    cp "$binary" "$share/bin/gluster-tcmu"
fi
cp -r "$here/lib.sh" "$here/exports.sh" "$here/guest-init.sh" "$here/pair-peer.sh" "$here/csi_client.py" "$here/scenarios" "$share/guest/"
mkdir -p "$share/csi"
cp "$csi_binary" "$share/bin/gluster-tcmu-csi"
cp "$repo/csi/proto/csi.proto" "$share/csi/csi.proto"
declare -A spec_of=()
gt_names=() sd_names=() pair_names=()
for n in "${names[@]}"; do
    f=${file_of[$n]}
    if [[ $f == "$here/scenarios/$n.sh" ]]; then
        rel=scenarios/$n.sh
    else
        cp "$f" "$share/guest/extra/$n.sh"
        rel=extra/$n.sh
    fi
    spec_of[$n]=$n:$rel:${limit_of[$n]}
    if [[ -n ${pair_of[$n]} ]]; then
        pair_names+=("$n")
    elif [[ ${init_of[$n]} == systemd ]]; then
        sd_names+=("$n")
    else
        gt_names+=("$n")
    fi
done
if ((shell)) && ((${#sd_names[@]} + ${#pair_names[@]})); then
    echo "run.sh: --shell boots with gt-init; run systemd and pair scenarios (${sd_names[*]} ${pair_names[*]}) without it" >&2
    exit 2
fi
# The systemd scenarios install the package: built here from the binary carried in, once as
# revision 1 and once as revision 2 (the same binary), so a scenario can upgrade one to the other.
if ((${#sd_names[@]})); then
    mkdir -p "$share/deb"
    for rev in 1 2; do
        deb=$(cd "$repo" && DEB_REVISION=$rev packaging/build-deb.sh --binary "$share/bin/gluster-tcmu" | tail -1) &&
            cp "$repo/$deb" "$share/deb/" ||
            echo "run.sh: WARNING: packaging/build-deb.sh (revision $rev) failed; the systemd scenarios will fail" >&2
    done
fi

boot_limit=${GT_GUEST_BOOT_LIMIT:-240}
echo "guest: image $img ($(cat "$img/kernel-version"))"
echo "guest: run dir $run"

# Print results while the guest works.
declare -A shown=() result_tag=()
show() {
    local n=$1 st reason sec tag
    st=$(cat "$share/results/$n/status" 2>/dev/null)
    sec=$(cat "$share/results/$n/seconds" 2>/dev/null)
    reason=$(head -c 300 "$share/results/$n/reason" 2>/dev/null | head -3 | tr '\n' ' ')
    if [[ -n ${xfail_reason[$n]+x} ]]; then
        case $st in pass) tag=XPASS ;; fail) tag=XFAIL ;; *) tag=FAIL ;; esac
    else
        case $st in pass) tag=PASS ;; *) tag=FAIL ;; esac
    fi
    [[ $st == pass || $st == fail ]] || reason="no result: the guest died or hung before it finished (status '${st:-none}')"
    printf '%-6s %-34s %5ss  %s\n' "$tag" "$n" "${sec:-?}" "${reason:+($reason)}"
    result_tag[$n]=$tag
}
# A kernel oops leaves the guest's state untrusted and often wedges the scenario until its
# timeout: stop the guest at once and show the oops. (Not soft-lockup warnings, which a
# loaded host can cause under emulation.)
oops_re='Oops: |BUG: kernel NULL pointer|BUG: unable to handle|Kernel panic'
guest_ok=1
timings=()

# What a pair boot (boot_pair) adds to boot_guest: lines for run.conf, QEMU arguments (the
# link's NIC), a serial log name, and a command run every pass of the wait loop.
pair_conf="" pair_qemu=() pair_serial="" pair_hook=""

# qemu_argv MEM APPEND: the QEMU command line of a guest, in array qemu_cmd.
qemu_argv() {
    qemu_cmd=(qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m "$1"
        -nodefaults -no-reboot -nic none -display none
        -kernel "$img/vmlinuz" -initrd "$img/initrd.img" -append "$2"
        -drive "file=$img/rootfs.ext4,format=raw,if=virtio,snapshot=on,cache=unsafe"
        -virtfs "local,path=$share,mount_tag=share,security_model=none,id=share")
}

# boot_guest INIT GDIR NAME...: one boot running the scenarios NAME... in order, INIT gt-init
# or systemd; the guest's own results go to results/GDIR. Clears guest_ok when the guest died,
# hung or oopsed.
boot_guest() {
    local init=$1 gdir=$2 n u need=$want_gluster limit=0 spec=() append serial qpid qrc oops=0 line t0
    shift 2
    local bnames=("$@")
    for n in "${bnames[@]}"; do
        spec+=("${spec_of[$n]}")
        [[ ${need_of[$n]} == *gluster* ]] && need=1
        limit=$((limit + limit_of[$n] + 30))
    done
    cat >"$share/run.conf" <<EOF
GT_SCENARIOS="${spec[*]}"
GT_NEED_GLUSTER=$need
GT_MODE=$([[ $shell == 1 ]] && echo shell || echo run)
GT_GUEST_DIR=$gdir
$pair_conf
EOF
    local gluster_limit=0
    ((need)) && gluster_limit=${GT_GUEST_GLUSTER_LIMIT:-420}
    local deadline=$((boot_limit + gluster_limit + limit + 60))
    append="root=/dev/vda rw rootfstype=ext4 console=ttyS0 panic=-1 loglevel=4 rootflags=noinit_itable"
    if [[ $init == systemd ]]; then
        # Units of the image's packages that the scenarios start themselves when they need
        # them (glusterd, iscsid, multipathd), that would restore a saved LIO configuration, or whose
        # timers (first run due at boot) would hold the dpkg lock the scenario needs.
        append+=" init=/lib/systemd/systemd"
        for u in glusterd.service iscsid.service iscsid.socket open-iscsi.service \
            rtslib-fb-targetctl.service multipathd.service multipathd.socket \
            apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer; do
            append+=" systemd.mask=$u"
        done
        serial=$run/serial-${bnames[0]}.log
    else
        append+=" init=/sbin/gt-init"
        serial=$run/${pair_serial:-serial.log}
    fi
    local qemu_cmd
    qemu_argv "${GT_GUEST_MEM:-4096}" "$append"
    local qemu=("${qemu_cmd[@]}" "${pair_qemu[@]}")
    echo "guest: $init boot, scenarios: ${bnames[*]:-none}$( ((need)) && echo ' (with glusterd)')"
    t0=$(date +%s)
    if ((shell)); then
        "${qemu[@]}" -serial mon:stdio
        qrc=$?
        echo "guest: qemu exited $qrc after $(($(date +%s) - t0))s; results in $share/results"
        exit "$qrc"
    fi
    echo "guest: booting (deadline ${deadline}s, serial console: $serial)"
    timeout -s KILL "$deadline" "${qemu[@]}" -serial "file:$serial" -monitor none </dev/null &
    qpid=$!
    while kill -0 "$qpid" 2>/dev/null; do
        for n in "${bnames[@]}"; do
            [[ -n ${shown[$n]+x} ]] && continue
            st=$(cat "$share/results/$n/status" 2>/dev/null)
            if [[ $st == pass || $st == fail ]]; then show "$n"; shown[$n]=1; fi
        done
        if ((!oops)) && grep -qE "$oops_re" "$serial" 2>/dev/null; then
            oops=1
            sleep 2 # let the trace reach the log
            echo "guest: KERNEL OOPS on the serial console; stopping the guest:"
            line=$(grep -m1 -nE "$oops_re" "$serial" | cut -d: -f1)
            sed -n "$((line > 2 ? line - 2 : 1)),$((line + 30))p" "$serial" | sed 's/^/    | /'
            kill -TERM "$qpid" # timeout passes it on to qemu
        fi
        if [[ -n $pair_hook ]]; then
            $pair_hook
            sleep 1
        else
            sleep 2
        fi
    done
    wait "$qpid"
    qrc=$?
    for n in "${bnames[@]}"; do [[ -n ${shown[$n]+x} ]] || show "$n"; done

    local G=$share/results/$gdir
    if [[ ! -f $G/done ]]; then
        guest_ok=0
        if ((oops)); then
            echo "guest: STOPPED after a kernel oops (above)"
        elif ((qrc == 137)); then
            echo "guest: HUNG: killed at the ${deadline}s deadline"
        else
            echo "guest: DIED: qemu exited $qrc before the guest finished"
        fi
        echo "guest: serial log $serial (last 40 lines):"
        tail -40 "$serial" | sed 's/^/    | /'
    fi
    if ((need)) && [[ $(cat "$G/gluster-status" 2>/dev/null) != ok ]]; then
        echo "guest: gluster setup failed: $G/gluster.log"
        tail -20 "$G/gluster.log" 2>/dev/null | sed 's/^/    | /'
    fi
    timings+=("$(printf 'guest: timings (%s boot): boot %ss, ready %ss, glusterd %ss, volume %ss, total %ss' "$init" \
        "$(cat "$G/boot-seconds" 2>/dev/null || echo ?)" "$(cat "$G/ready-seconds" 2>/dev/null || echo ?)" \
        "$(cat "$G/glusterd-seconds" 2>/dev/null || echo -)" "$(cat "$G/volume-seconds" 2>/dev/null || echo -)" \
        "$(($(date +%s) - t0))")")
}

# --- a pair of guests (a "# guest-pair: peer" scenario) ------------------------------------
# The link: each QEMU has a second virtio NIC whose frames go as UDP datagrams to the other
# QEMU's port on 127.0.0.1 (-netdev dgram): nothing leaves the host's loopback, no tap, bridge
# or routing, and either side can die and boot again while the other sees a silent wire.
pair_port=$((20000 + ($$ % 4000) * 2))
# pair_nic LOCAL-PORT REMOTE-PORT MAC: the link's QEMU arguments, in array nic.
pair_nic() {
    nic=(-netdev "dgram,id=link,local.type=inet,local.host=127.0.0.1,local.port=$1,remote.type=inet,remote.host=127.0.0.1,remote.port=$2"
        -device "virtio-net-pci,netdev=link,mac=$3")
}
peer_boots=0 peer_tpid="" pair_deadline=0 pair_seq=0

# peer_start: boot the peer guest (B) in the background; its PID 1 runs pair-peer.sh.
peer_start() {
    local qemu_cmd nic
    peer_boots=$((peer_boots + 1))
    qemu_argv "${GT_GUEST_PEER_MEM:-2048}" "root=/dev/vda rw rootfstype=ext4 console=ttyS0 panic=-1 loglevel=4 rootflags=noinit_itable init=/sbin/gt-init gt.conf=peer.conf"
    pair_nic $((pair_port + 1)) "$pair_port" 52:54:00:c6:12:02
    rm -f "$run/peer.pid"
    timeout -s KILL "$pair_deadline" "${qemu_cmd[@]}" "${nic[@]}" -pidfile "$run/peer.pid" \
        -serial "file:$run/serial-peer-$peer_boots.log" -monitor none </dev/null >>"$run/peer-qemu.log" 2>&1 &
    peer_tpid=$!
}

# peer_kill: SIGKILL the peer's QEMU ("its whole guest": no shutdown, no TCP FIN, nothing).
peer_kill() {
    local i pid=""
    [[ -n $peer_tpid ]] || return 0
    for ((i = 0; i < 20; i++)); do
        pid=$(cat "$run/peer.pid" 2>/dev/null) && [[ -n $pid ]] && break
        sleep 0.5
    done
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
    kill -KILL "$peer_tpid" 2>/dev/null # the timeout wrapper, when QEMU never wrote its pid
    wait "$peer_tpid" 2>/dev/null
    peer_tpid=""
}

# pair_poll: the scenario's requests to the host. It writes "SEQ kill" or "SEQ boot" to
# share/pair/host-cmd; the host acts and answers "SEQ CMD" in share/pair/host-ack.
pair_poll() {
    local seq cmd
    read -r seq cmd 2>/dev/null <"$share/pair/host-cmd" || return 0
    [[ $seq =~ ^[0-9]+$ ]] && ((seq > pair_seq)) || return 0
    pair_seq=$seq
    case $cmd in
        kill) peer_kill ;;
        boot) peer_start ;;
        *) echo "guest: pair: unknown request '$cmd'" ;;
    esac
    echo "guest: pair: request $seq: $cmd (peer boot $peer_boots)"
    echo "$seq $cmd" >"$share/pair/host-ack.tmp" && mv "$share/pair/host-ack.tmp" "$share/pair/host-ack"
}

# boot_pair NAME: the scenario NAME in guest A (198.18.0.1) with peer B (198.18.0.2) beside it.
boot_pair() {
    local n=$1 nic
    rm -rf "$share/pair" && mkdir -p "$share/pair"
    pair_deadline=$((boot_limit + limit_of[$n] + 120))
    cat >"$share/peer.conf" <<EOF
GT_SCENARIOS=""
GT_NEED_GLUSTER=0
GT_MODE=run
GT_GUEST_DIR=_peer-$n
GT_ROLE=peer
GT_HOSTNAME=gt-peer
GT_LINK_ADDR=198.18.0.2/24
GT_PEER_ADDR=198.18.0.1
EOF
    echo "guest: pair: peer guest B (198.18.0.2, link on 127.0.0.1 UDP ports $pair_port/$((pair_port + 1)))"
    peer_start
    pair_nic "$pair_port" $((pair_port + 1)) 52:54:00:c6:12:01
    pair_conf="GT_LINK_ADDR=198.18.0.1/24
GT_PEER_ADDR=198.18.0.2
GT_PEER_DIR=_peer-$n"
    pair_qemu=("${nic[@]}")
    pair_serial=serial-$n.log
    pair_hook=pair_poll
    boot_guest gt-init "_guest-$n" "$n"
    pair_conf="" pair_qemu=() pair_serial="" pair_hook=""
    peer_kill
    echo "guest: pair: the peer booted $peer_boots time(s); its consoles: $run/serial-peer-*.log"
}

# Every gt-init scenario in one boot, first; each systemd or pair scenario in a boot of its own.
if ((${#gt_names[@]})) || ((${#sd_names[@]} + ${#pair_names[@]} == 0)); then
    boot_guest gt-init _guest "${gt_names[@]}"
fi
for n in "${sd_names[@]}"; do boot_guest systemd "_guest-$n" "$n"; done
for n in "${pair_names[@]}"; do boot_pair "$n"; done

passed=0 failed=0 xfailed=()
for n in "${names[@]}"; do
    case ${result_tag[$n]} in
        PASS) passed=$((passed + 1)) ;;
        XFAIL) xfailed+=("$n") ;;
        *)
            failed=$((failed + 1))
            echo "guest: ${result_tag[$n]} $n: log $share/results/$n/log (last 25 lines):"
            tail -25 "$share/results/$n/log" 2>/dev/null | sed 's/^/    | /'
            # The daemon's side of the failure (why it refused a device, what it logged).
            if [[ -s $share/results/$n/gluster-tcmu.log ]]; then
                echo "guest: $n: gluster-tcmu log $share/results/$n/gluster-tcmu.log (last 25 lines):"
                tail -25 "$share/results/$n/gluster-tcmu.log" | sed 's/^/    | /'
            fi
            if [[ -s $share/results/$n/dmesg-tail.txt ]]; then
                echo "guest: $n: kernel log at the failure (last 15 lines):"
                tail -15 "$share/results/$n/dmesg-tail.txt" | sed 's/^/    | /'
            fi
            # gfapi's errors and warnings (" E " / " W " lines of its log).
            if grep -qE '\] [EW] \[' "$share/results/$n/gfapi-tail.log" 2>/dev/null; then
                echo "guest: $n: gfapi errors and warnings (last 10):"
                grep -E '\] [EW] \[' "$share/results/$n/gfapi-tail.log" | tail -10 | cut -c1-300 | sed 's/^/    | /'
            fi
            ;;
    esac
done
printf '%s\n' "${timings[@]}"
echo "guest: results in $share/results"
echo "guest: expected failures (XFAIL, see tests/guest/expected-failures): ${#xfailed[@]}${xfailed[*]:+: ${xfailed[*]}}"
echo "guest: $passed passed, $failed failed"
((failed == 0 && guest_ok == 1)) || exit 1
exit 0
}
