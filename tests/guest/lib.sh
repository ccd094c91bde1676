# shellcheck shell=bash
# Shared steps for the guest scenarios and the demo: sourced, never executed.
#
# Environment (set by guest-init.sh in the guest; demo.sh sets it when it runs natively):
#   GT_BIN       the gluster-tcmu binary            (default: gluster-tcmu on PATH)
#   GT_RESULTS   this scenario's result directory  (default: /tmp/gt-results)
#   GT_VOLUME    Gluster volume name                (default: gv0)
#   GT_GLUSTER_HOST  brick/volfile host name        (default: gluster-node, 127.0.1.1)
#   GT_BRICK_ROOT    where bricks live              (default: /bricks)
#   GT_REPLICA       replica count                  (default: 3)
#   GT_VOLUME_OPTS   extra "key=value ..." volume options applied after the block profile
#   GT_IMG_DIR       where image files for fileio / user:file live (default: /var/tmp/gt)

GT_BIN=${GT_BIN:-$(command -v gluster-tcmu || echo /usr/local/bin/gluster-tcmu)}
GT_RESULTS=${GT_RESULTS:-/tmp/gt-results}
GT_VOLUME=${GT_VOLUME:-gv0}
GT_GLUSTER_HOST=${GT_GLUSTER_HOST:-gluster-node}
GT_BRICK_ROOT=${GT_BRICK_ROOT:-/bricks}
GT_REPLICA=${GT_REPLICA:-3}
GT_VOLUME_OPTS=${GT_VOLUME_OPTS:-}
GT_IMG_DIR=${GT_IMG_DIR:-/var/tmp/gt}
GT_FUSE_MNT=${GT_FUSE_MNT:-/mnt/gt-$GT_VOLUME}
GT_INITIATOR=${GT_INITIATOR:-iqn.2025-01.org.gluster-tcmu:guest}
GT_CHAP_USER=${GT_CHAP_USER:-kubelet}
GT_CHAP_PASS=${GT_CHAP_PASS:-kubeletsecret1}
GT_DBUS_NAME=org.kernel.TCMUService1
GT_LIBISCSI_INITIATORS="iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2"
mkdir -p "$GT_RESULTS" "$GT_IMG_DIR"

gt_t0=${gt_t0:-$(date +%s)}
# One progress line per step, with seconds since the scenario started.
gt_step() { printf '[%4ss] == %s\n' "$(($(date +%s) - gt_t0))" "$*"; }
gt_info() { printf '         %s\n' "$*"; }
gt_fail() {
    printf '[%4ss] FAIL: %s\n' "$(($(date +%s) - gt_t0))" "$*" >&2
    echo "$*" >>"$GT_RESULTS/reason"
    exit 1
}
# gt_check DESCRIPTION COMMAND...: run COMMAND, fail the scenario with DESCRIPTION if it fails.
gt_check() {
    local what=$1
    shift
    if "$@"; then gt_info "ok: $what"; else gt_fail "$what (command: $*)"; fi
}
# gt_wait SECONDS DESCRIPTION COMMAND...: poll COMMAND once a second until it succeeds.
gt_wait() {
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    gt_fail "timed out after ${limit}s waiting for: $what"
}
# gt_settle MIN MAX COMMAND...: waits until COMMAND's output has not changed for 15 s and at
# least MIN seconds have passed (fd and thread counts while gfapi finishes idle connections);
# fails after MAX seconds.
gt_settle() {
    local min=$1 max=$2 last now start=$SECONDS changed=$SECONDS
    shift 2
    last=$("$@")
    while ((SECONDS - start < min || SECONDS - changed < 15)); do
        ((SECONDS - start > max)) && gt_fail "still moving after $max s: $last"
        sleep 5
        now=$("$@")
        [[ $now != "$last" ]] && changed=$SECONDS
        last=$now
    done
}
# gt_tcli CMD...: one targetcli command (each call is a Python start, 1-2 s under TCG).
gt_tcli() { targetcli "$@"; }
# gt_tcli_batch: targetcli commands on stdin, one per line, run in one targetcli process.
gt_tcli_batch() {
    local f rc
    f=$(mktemp)
    cat >"$f"
    echo "targetcli batch:" && sed 's/^/    /' "$f"
    targetcli <"$f"
    rc=$?
    rm -f "$f"
    return $rc
}

# --- GlusterFS ------------------------------------------------------------------------------
gt_glusterd_running() { gluster --mode=script volume list >/dev/null 2>&1; }

gt_gluster_start() {
    if gt_glusterd_running; then return 0; fi
    local vol=/etc/glusterfs/glusterd.vol
    grep -q rpc-auth-allow-insecure "$vol" ||
        sed -i 's/^end-volume/    option rpc-auth-allow-insecure on\nend-volume/' "$vol"
    mkdir -p /var/log/glusterfs /var/run/gluster
    gt_step "start glusterd"
    glusterd -p /run/glusterd.pid || gt_fail "glusterd did not start"
    gt_wait 180 "glusterd answering the CLI" gt_glusterd_running
}

# gt_volume_create [VOLUME]: replica-$GT_REPLICA volume on $GT_GLUSTER_HOST with the block
# profile (glusterfs extras/group-gluster-block), started, all bricks online. Idempotent.
gt_volume_create() {
    local vol=${1:-$GT_VOLUME} bricks=() i
    if gluster --mode=script volume info "$vol" >/dev/null 2>&1; then
        gluster --mode=script volume status "$vol" >/dev/null 2>&1 ||
            gluster --mode=script volume start "$vol" force >/dev/null
        return 0
    fi
    for ((i = 1; i <= GT_REPLICA; i++)); do
        mkdir -p "$GT_BRICK_ROOT/$vol/b$i"
        bricks+=("$GT_GLUSTER_HOST:$GT_BRICK_ROOT/$vol/b$i")
    done
    gt_step "create volume $vol (replica $GT_REPLICA: ${bricks[*]})"
    if ((GT_REPLICA > 1)); then
        gluster --mode=script volume create "$vol" replica "$GT_REPLICA" "${bricks[@]}" force
    else
        gluster --mode=script volume create "$vol" "${bricks[@]}" force
    fi || gt_fail "gluster volume create $vol"
    # Block profile; the group file ships with glusterfs-server, but set the options by hand
    # when it is missing (GlusterFS's extras/group-gluster-block lists them).
    local opts="performance.quick-read=off performance.read-ahead=off performance.io-cache=off
        performance.stat-prefetch=off performance.open-behind=off performance.readdir-ahead=off
        performance.strict-o-direct=on network.remote-dio=disable cluster.eager-lock=enable
        features.shard=on features.shard-block-size=64MB cluster.quorum-type=auto
        server.allow-insecure=on $GT_VOLUME_OPTS" kv
    # Each CLI call costs seconds under TCG: when the group applies, only add what it lacks.
    if [[ -f /var/lib/glusterd/groups/gluster-block ]] &&
        gluster --mode=script volume set "$vol" group gluster-block >/dev/null; then
        opts="server.allow-insecure=on $GT_VOLUME_OPTS"
    else
        gt_info "volume set group gluster-block failed; setting the block options one by one"
    fi
    for kv in $opts; do
        gluster --mode=script volume set "$vol" "${kv%%=*}" "${kv#*=}" >/dev/null ||
            gt_fail "gluster volume set $vol ${kv%%=*} ${kv#*=}"
    done
    gluster --mode=script volume start "$vol" || gt_fail "gluster volume start $vol"
    gt_wait 120 "all bricks of $vol online" gt_bricks_online "$vol" "$GT_REPLICA"
}

# gt_bricks_online VOLUME N: true when N bricks of VOLUME report Online Y.
gt_bricks_online() {
    local n
    n=$(gluster --mode=script volume status "$1" --xml 2>/dev/null | grep -c '<status>1</status>')
    ((n >= $2))
}

# gt_brick_pid VOLUME INDEX: pid of the glusterfsd serving brick b<INDEX>.
gt_brick_pid() {
    pgrep -f "glusterfsd.*--brick-name $GT_BRICK_ROOT/$1/b$2( |$)" | head -1
}

gt_fuse_mount() {
    mountpoint -q "$GT_FUSE_MNT" && return 0
    mkdir -p "$GT_FUSE_MNT"
    modprobe fuse 2>/dev/null
    if ! mount -t glusterfs "$GT_GLUSTER_HOST:/$GT_VOLUME" "$GT_FUSE_MNT"; then
        tail -20 "/var/log/glusterfs/$(echo "${GT_FUSE_MNT#/}" | tr / -).log" 2>/dev/null
        gt_fail "FUSE mount $GT_GLUSTER_HOST:/$GT_VOLUME on $GT_FUSE_MNT"
    fi
    gt_info "FUSE mounted $GT_GLUSTER_HOST:/$GT_VOLUME on $GT_FUSE_MNT"
}

# --- gluster-tcmu -------------------------------------------------------------------------
gt_dbus_has_handler() {
    dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner "string:$GT_DBUS_NAME" 2>/dev/null | grep -q 'boolean true'
}

# gt_daemon_start: start `gluster-tcmu run` in the background and wait until it owns
# org.kernel.TCMUService1 on the system bus. Sets GT_DAEMON_PID.
gt_daemon_start() {
    [[ -x $GT_BIN ]] || gt_fail "gluster-tcmu binary $GT_BIN missing"
    gt_step "start $GT_BIN run (log: $GT_RESULTS/gluster-tcmu.log)"
    # GT_DAEMON_ARGS: extra options for `run` (experiments, e.g. "--gather-us 0").
    # shellcheck disable=SC2086
    "$GT_BIN" run ${GT_DAEMON_ARGS:-} >>"$GT_RESULTS/gluster-tcmu.log" 2>&1 &
    GT_DAEMON_PID=$!
    local i
    for ((i = 0; i < 30; i++)); do
        if gt_dbus_has_handler; then
            gt_info "gluster-tcmu pid $GT_DAEMON_PID owns $GT_DBUS_NAME after ${i}s"
            return 0
        fi
        if ! kill -0 "$GT_DAEMON_PID" 2>/dev/null; then
            wait "$GT_DAEMON_PID"
            local rc=$?
            gt_info "gluster-tcmu log:" && sed 's/^/    | /' "$GT_RESULTS/gluster-tcmu.log" | tail -20
            gt_fail "gluster-tcmu exited (rc=$rc) without registering $GT_DBUS_NAME on D-Bus: no handler serves user: backstores"
        fi
        sleep 1
    done
    gt_fail "gluster-tcmu (pid $GT_DAEMON_PID) runs but does not own $GT_DBUS_NAME on D-Bus after 30s"
}

# gt_daemon_holds_uio PID: the daemon has a /dev/uio* device open (it serves a LUN).
gt_daemon_holds_uio() { [[ -n $(find "/proc/$1/fd" -lname '/dev/uio*' 2>/dev/null) ]]; }
# gt_daemon_released_uio PID: no /dev/uio* fd and no mapping of one left in the daemon.
gt_daemon_released_uio() { ! gt_daemon_holds_uio "$1" && ! grep -q /dev/uio "/proc/$1/maps"; }

gt_daemon_stop() {
    [[ -n ${GT_DAEMON_PID:-} ]] || return 0
    kill "$GT_DAEMON_PID" 2>/dev/null
    local i
    for ((i = 0; i < 20; i++)); do kill -0 "$GT_DAEMON_PID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$GT_DAEMON_PID" 2>/dev/null
    wait "$GT_DAEMON_PID" 2>/dev/null
    GT_DAEMON_PID=
}

# --- LUNs --------------------------------------------------------------------------------
# gt_backstore_create KIND NAME SIZE [PARAM=VALUE...]: KIND is fileio (image file in $GT_IMG_DIR),
# fileio-fuse (image file on the FUSE-mounted volume), ramdisk (rd_mcp), user:file, user:ram or
# user:glfs. PARAMs go to targetcli's create for user: kinds (e.g. hw_max_sectors=1024).
# Prints nothing; sets GT_BS (the targetcli path, e.g. /backstores/user:glfs/NAME).
gt_backstore_create() {
    local kind=$1 name=$2 size=$3 f
    shift 3
    local extra=("$@")
    case $kind in
        fileio)
            f=$GT_IMG_DIR/$name.img
            rm -f "$f"
            gt_tcli /backstores/fileio create name="$name" file_or_dev="$f" size="$size" write_back=false ||
                gt_fail "targetcli: create fileio backstore $name"
            GT_BS=/backstores/fileio/$name ;;
        fileio-fuse)
            gt_fuse_mount
            f=$GT_FUSE_MNT/$name.img
            rm -f "$f"
            gt_tcli /backstores/fileio create name="$name" file_or_dev="$f" size="$size" write_back=false ||
                gt_fail "targetcli: create fileio backstore $name on the FUSE mount"
            GT_BS=/backstores/fileio/$name ;;
        ramdisk)
            gt_tcli /backstores/ramdisk create name="$name" size="$size" ||
                gt_fail "targetcli: create ramdisk backstore $name"
            GT_BS=/backstores/ramdisk/$name ;;
        user:file)
            f=$GT_IMG_DIR/$name.img
            rm -f "$f" && truncate -s "$size" "$f"
            gt_tcli /backstores/user:file create name="$name" size="$size" cfgstring="$f" "${extra[@]}" ||
                gt_fail "targetcli: create user:file backstore $name (cfgstring $f)"
            GT_BS=/backstores/user:file/$name ;;
        user:ram)
            gt_tcli /backstores/user:ram create name="$name" size="$size" cfgstring=wce=1 "${extra[@]}" ||
                gt_fail "targetcli: create user:ram backstore $name"
            GT_BS=/backstores/user:ram/$name ;;
        user:glfs)
            gt_tcli /backstores/user:glfs create name="$name" size="$size" \
                cfgstring="$GT_VOLUME@$GT_GLUSTER_HOST/$name.img" "${extra[@]}" ||
                gt_fail "targetcli: create user:glfs backstore $name (cfgstring $GT_VOLUME@$GT_GLUSTER_HOST/$name.img)"
            GT_BS=/backstores/user:glfs/$name ;;
        *) gt_fail "unknown backstore kind $kind" ;;
    esac
    gt_info "backstore $GT_BS ($size)"
}

# gt_needs_daemon KIND: user: backstores need gluster-tcmu running (and glfs needs a volume).
gt_prepare_backstore() {
    case $1 in
        user:*) [[ -n ${GT_DAEMON_PID:-} ]] || gt_daemon_start ;;
    esac
    case $1 in
        user:glfs | fileio-fuse) gt_gluster_start && gt_volume_create ;;
    esac
}

gt_dev_tur() { sg_turs "$1" >/dev/null 2>&1; }

# gt_loop_export BACKSTORE: export through tcm_loop; sets GT_DEV (/dev/sdX) and GT_LOOP_WWN.
# Sends TEST UNIT READY until it succeeds (the first command gets UNIT ATTENTION).
gt_loop_export() {
    local bs=$1 wwn addr host i
    wwn=naa.5001405$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-9)
    gt_tcli_batch <<EOF || gt_fail "targetcli: tcm_loop export of $bs"
/loopback create $wwn
/loopback/$wwn/luns create $bs
EOF
    GT_LOOP_WWN=$wwn
    addr=$(cat "/sys/kernel/config/target/loopback/$wwn/tpgt_1/address" 2>/dev/null)
    host=${addr%%:*}
    GT_DEV=
    for ((i = 0; i < 60; i++)); do
        udevadm settle -t 5 2>/dev/null
        GT_DEV=$(ls "/sys/class/scsi_host/host$host/device/"target*/*:0/block/ 2>/dev/null | head -1)
        [[ -n $GT_DEV ]] && break
        sleep 1
    done
    [[ -n $GT_DEV ]] || gt_fail "no /dev/sdX appeared for tcm_loop $wwn (scsi host $host)"
    GT_DEV=/dev/$GT_DEV
    gt_wait 60 "TEST UNIT READY on $GT_DEV" gt_dev_tur "$GT_DEV"
    gt_info "tcm_loop $wwn (address $addr) -> $GT_DEV"
}

# gt_iscsi_export BACKSTORE IQN [chap|open]: target on 127.0.0.1:3260 with LUN 0.
# chap: ACL for $GT_INITIATOR with CHAP $GT_CHAP_USER/$GT_CHAP_PASS.
# open: ACLs for the libiscsi test initiators, no authentication.
gt_iscsi_export() {
    local bs=$1 iqn=$2 mode=${3:-chap} acls="" i
    if [[ $mode == chap ]]; then
        acls="/iscsi/$iqn/tpg1/acls create $GT_INITIATOR
/iscsi/$iqn/tpg1/acls/$GT_INITIATOR set auth userid=$GT_CHAP_USER password=$GT_CHAP_PASS
/iscsi/$iqn/tpg1 set attribute authentication=1"
    else
        for i in $GT_LIBISCSI_INITIATORS $GT_INITIATOR; do
            acls+="/iscsi/$iqn/tpg1/acls create $i
"
        done
        acls+="/iscsi/$iqn/tpg1 set attribute authentication=0"
    fi
    gt_tcli_batch <<EOF || gt_fail "targetcli: iSCSI export of $bs as $iqn"
set global auto_add_default_portal=false
/iscsi create $iqn
/iscsi/$iqn/tpg1/portals create 127.0.0.1 3260
/iscsi/$iqn/tpg1/luns create $bs
$acls
EOF
}

gt_iscsid_start() {
    pgrep -x iscsid >/dev/null && return 0
    modprobe iscsi_tcp
    mkdir -p /run/lock/iscsi
    iscsid || gt_fail "iscsid did not start"
    sleep 1
}

# gt_iscsi_login IQN: what the kubelet iscsi plugin does: sendtargets discovery, CHAP settings on
# the node record, login; sets GT_DEV to the /dev/disk/by-path link of LUN 0.
gt_iscsi_login() {
    local iqn=$1 portal=127.0.0.1:3260
    gt_iscsid_start
    iscsiadm -m discovery -t sendtargets -p "$portal" -o new | grep -q "$iqn" ||
        gt_fail "sendtargets discovery on $portal does not list $iqn"
    iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.authmethod -v CHAP &&
        iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.username -v "$GT_CHAP_USER" &&
        iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.password -v "$GT_CHAP_PASS" ||
        gt_fail "iscsiadm: CHAP settings for $iqn"
    iscsiadm -m node -T "$iqn" -p "$portal" --login || gt_fail "iscsiadm login to $iqn"
    GT_DEV=/dev/disk/by-path/ip-$portal-iscsi-$iqn-lun-0
    gt_wait 60 "$GT_DEV" test -b "$GT_DEV"
    gt_wait 60 "TEST UNIT READY on $GT_DEV" gt_dev_tur "$GT_DEV"
    gt_info "iSCSI $iqn -> $GT_DEV ($(readlink -f "$GT_DEV"))"
}

gt_iscsi_logout() {
    iscsiadm -m node -T "$1" -p 127.0.0.1:3260 --logout || gt_fail "iscsiadm logout from $1"
}

# gt_fio NAME DEV FIO-ARGS...: write-then-verify job (crc32c, fatal on first mismatch), json
# output in $GT_RESULTS/fio-NAME.json. Fails the scenario on any error.
gt_fio() {
    local name=$1 dev=$2 rc
    shift 2
    gt_step "fio $name on $dev: $*"
    fio --name="$name" --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
        --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_dump=0 \
        --output-format=json+ --output="$GT_RESULTS/fio-$name.json" "$@"
    rc=$?
    gt_fio_summary "$GT_RESULTS/fio-$name.json"
    ((rc == 0)) || gt_fail "fio $name on $dev exited $rc"
    grep -q '"error" : 0' "$GT_RESULTS/fio-$name.json" || gt_fail "fio $name reported an error"
    gt_info "ok: fio $name wrote and verified"
}

# gt_fio_summary JSON: one line per job: error, read/write IOPS, bandwidth, mean latency.
# gt_fio_figures JSON: the first job's busier direction as "iops<TAB>MiB/s<TAB>mean latency
# ms<TAB>error", for the benchmarks' tables.
gt_fio_figures() {
    python3 - "$1" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
side = j["write"] if j["write"]["io_bytes"] > j["read"]["io_bytes"] else j["read"]
print(f"{side['iops']:.0f}\t{side['bw'] / 1024:.2f}\t{side['lat_ns']['mean'] / 1e6:.3f}\t{j['error']}")
EOF
}

gt_fio_summary() {
    python3 - "$1" <<'EOF' || true
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"         fio: no json ({e})")
    sys.exit(0)
for j in d.get("jobs", []):
    parts = []
    for k in ("read", "write"):
        s = j[k]
        if s["io_bytes"]:
            parts.append(f"{k} {s['iops']:.0f} IOPS {s['bw'] / 1024:.2f} MiB/s lat {s['lat_ns']['mean'] / 1e6:.2f} ms")
    print(f"         fio {j['jobname']}: error={j['error']} " + "; ".join(parts))
EOF
}

# --- cleanup between scenarios ----------------------------------------------------------------
gt_cleanup_all() {
    local m
    for m in $(awk '$2 ~ "^/mnt/gt" {print $2}' /proc/mounts); do umount -l "$m"; done
    iscsiadm -m node --logoutall=all >/dev/null 2>&1
    iscsiadm -m node -o delete >/dev/null 2>&1
    timeout 120 targetcli clearconfig confirm=True >/dev/null 2>&1
    gt_daemon_stop
    pkill -9 -x gluster-tcmu 2>/dev/null
    rm -f "$GT_IMG_DIR"/*.img
    # A gateway's settings and LIO ownership journal (tests/guest/exports.sh).
    rm -f /etc/gluster-tcmu/gluster-tcmu.toml
    rm -rf /var/lib/gluster-tcmu
}
