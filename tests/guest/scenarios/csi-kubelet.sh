#!/bin/bash
# The CSI driver on the real kernel, driven as the external-provisioner and the kubelet drive
# it, by an independent gRPC client (tests/guest/csi_client.py: Debian's python3-grpcio, stubs
# generated here from csi/proto/csi.proto). gluster-tcmu-csi serves controller and node on a
# unix socket; the daemon is the gateway ([exports]) of a replica-3 volume; open-iscsi is the
# initiator. CreateVolume with the CHAP secret → NodeStage → NodePublish → fio verify on the
# mount → ControllerExpand + NodeExpand while fio runs → NodeUnpublish → NodeUnstage (no session,
# mount, map or node record left) → the daemon killed (-9) and restarted → staged and
# published again, data intact → DeleteVolume (no record, image or LIO object left). Also raw
# block mode and a NodeStage whose portal is down (a clear error, nothing left).
# GT_CSI_PART=bench (the manual scenario bench-csi) runs the benchmark instead: CreateVolume to
# a mounted filesystem and 10 CreateVolume at once, printed, never asserted on.
# guest-timeout: 1200
# guest-needs: gluster
set -u
. /share/guest/lib.sh
. /share/guest/exports.sh
portal=127.0.0.1:3260
dead_portal=127.0.0.1:3299
vol="$GT_VOLUME@$GT_GLUSTER_HOST"
sock=/run/csi/csi.sock
root=/mnt/gt-csi
R=$GT_RESULTS
export CSI_PROTO=/share/csi/csi.proto CSI_STUBS=/tmp/csi-stubs
# The provisioner secret and the node-stage secret: the same kubernetes.io/iscsi-chap Secret.
secret=(--secret "node.session.auth.username=$GT_CHAP_USER" --secret "node.session.auth.password=$GT_CHAP_PASS")
params=(--param "volume=$GT_VOLUME" --param "servers=$GT_GLUSTER_HOST" --param "gateways=$portal"
    --param chap=true --param fsType=ext4 --param "csi.storage.k8s.io/pvc/name=data")
csi_pid=

csi() { python3 /share/guest/csi_client.py --socket "$sock" "$@"; }
# csi_ok OUT CMD...: a call that must succeed; its answer in $R/OUT.json.
csi_ok() {
    local out=$R/$1.json
    shift
    csi "$@" >"$out" 2>"$out.err" || gt_fail "csi $1 failed: $(head -c 600 "$out") $(tail -3 "$out.err")"
}
# csi_err CODE OUT CMD...: a call that must fail with gRPC status CODE.
csi_err() {
    local code=$1 out=$R/$2.json got
    shift 2
    csi "$@" >"$out" 2>"$out.err" && gt_fail "csi $1 succeeded; $code expected: $(head -c 400 "$out")"
    got=$(gt_json "$out" '["error"]["code"]') || gt_fail "csi $1: no gRPC error: $(tail -3 "$out.err")"
    [[ $got == "$code" ]] || gt_fail "csi $1: $got ($(gt_json "$out" '["error"]["message"]')), $code expected"
    gt_info "ok: $1 refused: $code: $(gt_json "$out" '["error"]["message"]')"
}
# pvc: a name as the external-provisioner makes it.
pvc() { echo "pvc-$(cat /proc/sys/kernel/random/uuid)"; }
paths_of() { # NAME: sets STAGING and TARGET as the kubelet lays them out
    STAGING=$root/kubelet/plugins/kubernetes.io/csi/block.gluster-tcmu.org/$1/globalmount
    TARGET=$root/kubelet/pods/pod-$1/volumes/kubernetes.io~csi/$1/mount
    mkdir -p "$STAGING" "${TARGET%/*}"
}
# disk_of WWID: the /dev/sdX whose SCSI wwid is WWID (none: fails).
disk_of() {
    local w
    for w in /sys/block/sd*/device/wwid; do
        [[ $(cat "$w" 2>/dev/null) == "$1" ]] || continue
        w=${w#/sys/block/}
        echo "/dev/${w%%/*}"
        return 0
    done
    return 1
}
has_session() { iscsiadm -m session 2>/dev/null | grep -q " $1 "; }
has_record() { [[ -e /etc/iscsi/nodes/$1 ]] || iscsiadm -m node -T "$1" >/dev/null 2>&1; }
# nothing_on_node IQN WWID PATH...: no session, node record, disk, dm map or mount of the volume.
nothing_on_node() {
    local iqn=$1 wwid=$2 p
    shift 2
    has_session "$iqn" && gt_fail "a session of $iqn is left"
    has_record "$iqn" && gt_fail "a node record of $iqn is left"
    disk_of "$wwid" >/dev/null && gt_fail "the disk $wwid is still there"
    compgen -G '/sys/block/dm-*' >/dev/null && gt_fail "a device-mapper map is left: $(ls /sys/block | grep dm-)"
    for p in "$@"; do
        findmnt -n --mountpoint "$p" >/dev/null && gt_fail "$p is still mounted"
    done
    gt_info "ok: no session, node record, disk, map or mount of $iqn left"
}
cleanup() {
    [[ -n $csi_pid ]] && kill "$csi_pid" 2>/dev/null
    for m in $(awk -v r="$root" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m"; done
}
trap cleanup EXIT

gt_step "gateway settings: [exports] portal $portal, volume $vol; iscsid (the node's initiator)"
gt_gluster_start && gt_volume_create
gt_exports_settings "$portal" "$vol"
gt_gateway_start
gt_iscsid_start

gt_step "gluster-tcmu-csi --mode all on $sock (log: $R/csi.log)"
mkdir -p "${sock%/*}"
RUST_LOG=info /share/bin/gluster-tcmu-csi --mode all --endpoint "unix://$sock" --node-id guest \
    --volume "$vol" --gateway-wait-secs 120 --device-wait-secs 60 \
    --gfapi-log "$R/csi-gfapi.log" >>"$R/csi.log" 2>&1 &
csi_pid=$!
gt_wait 30 "the driver's socket" test -S "$sock"
t=$(date +%s)
csi_ok info info
gt_info "stubs generated from csi.proto and GetPluginInfo in $(($(date +%s) - t))s: $(gt_json "$R/info.json" '["name"]')"
[[ $(gt_json "$R/info.json" '["name"]') == block.gluster-tcmu.org ]] || gt_fail "plugin name"
csi_ok probe probe
[[ $(gt_json "$R/probe.json" '.get("ready")') == True ]] || gt_fail "Probe: not ready: $(cat "$R/probe.json")"

if [[ ${GT_CSI_PART:-test} == test ]]; then
# --- the provisioner and the kubelet --------------------------------------------------------
name=$(pvc)
v=$R/vol.json
gt_step "CreateVolume $name 512 MiB, CHAP from the provisioner secret"
csi_ok create create --name "$name" --bytes $((512 << 20)) "${params[@]}" "${secret[@]}" --out "$v"
[[ $(gt_json "$v" '["volume_id"]') == "$vol/$name" ]] || gt_fail "volume_id $(gt_json "$v" '["volume_id"]')"
[[ $(gt_json "$v" '["capacity_bytes"]') == $((512 << 20)) ]] || gt_fail "capacity $(gt_json "$v" '["capacity_bytes"]')"
[[ $(gt_json "$v" '["volume_context"]["chap"]') == one-way ]] || gt_fail "CHAP is not on in the context"
iqn=$(gt_json "$v" '["volume_context"]["iqn"]')
wwid=$(gt_json "$v" '["volume_context"]["wwid"]')
gt_check "the export is ready on the gateway" gt_export_state "$vol" "$name" ready
gt_check "LIO has the target $iqn" test -e "/sys/kernel/config/target/iscsi/$iqn/tpgt_1/enable"
csi_ok create-again create --name "$name" --bytes $((512 << 20)) "${params[@]}" "${secret[@]}"
cmp -s <(gt_json "$v" '["volume_id"]') <(gt_json "$R/create-again.json" '["volume_id"]') ||
    gt_fail "a repeated CreateVolume gave another volume"
gt_info "ok: a repeated CreateVolume gives the same volume"
csi_err ALREADY_EXISTS create-other create --name "$name" --bytes $((1 << 30)) "${params[@]}" "${secret[@]}"

paths_of "$name"
gt_step "NodeStageVolume (node-stage secret) at $STAGING"
csi_ok stage stage --volume "$v" --staging "$STAGING" "${secret[@]}"
has_session "$iqn" || gt_fail "no session of $iqn after the stage"
dev=$(disk_of "$wwid") || gt_fail "no disk with WWID $wwid"
[[ $(iscsiadm -m node -T "$iqn" -p "$portal" | sed -n 's/^node.session.auth.authmethod = //p') == CHAP ]] ||
    gt_fail "the node record does not log in with CHAP"
[[ $(iscsiadm -m node -T "$iqn" -p "$portal" | sed -n 's/^node.startup = //p') == manual ]] ||
    gt_fail "the node record logs in at boot"
[[ $(findmnt -rn -o SOURCE,FSTYPE --mountpoint "$STAGING") == "$dev ext4" ]] ||
    gt_fail "staging mount: '$(findmnt -rn -o SOURCE,FSTYPE --mountpoint "$STAGING")', $dev ext4 expected"
gt_info "ok: CHAP session, $dev (WWID $wwid) formatted ext4 and mounted at the staging path"
csi_ok stage-again stage --volume "$v" --staging "$STAGING" "${secret[@]}"
[[ $(findmnt -n --mountpoint "$STAGING" | wc -l) == 1 ]] || gt_fail "a repeated stage mounted again"

gt_step "NodePublishVolume at $TARGET"
csi_ok publish publish --volume "$v" --staging "$STAGING" --target "$TARGET"
[[ $(findmnt -rn -o SOURCE --mountpoint "$TARGET") == "$dev" ]] ||
    gt_fail "the target is not a bind of $dev: $(findmnt -n --mountpoint "$TARGET")"
gt_info "ok: $TARGET is $dev"

gt_step "fio write and verify on the published filesystem; files with checksums"
fio --name=keep --directory="$TARGET" --size=32M --bs=64k --rw=randwrite --direct=1 \
    --ioengine=libaio --iodepth=8 --verify=crc32c --do_verify=1 --verify_fatal=1 \
    --output-format=json --output="$R/fio-keep.json" || gt_fail "fio keep failed"
grep -q '"error" : 0' "$R/fio-keep.json" || gt_fail "fio keep reported an error"
for i in $(seq 1 8); do
    head -c $(((i * 331) % 2048 + 64))K /dev/urandom >"$TARGET/file$i.bin" || gt_fail "write file$i"
done
(cd "$TARGET" && sha256sum file*.bin keep.*) >"$R/files.sha256"
sync
gt_info "ok: fio wrote and verified 32 MiB; $(wc -l <"$R/files.sha256") files with checksums"

gt_step "ControllerExpandVolume + NodeExpandVolume to 768 MiB while fio writes and verifies"
before=$(df -B1 --output=size "$TARGET" | tail -1)
fio --name=grow --directory="$TARGET" --size=96M --bs=64k --rw=randwrite --direct=1 \
    --ioengine=libaio --iodepth=8 --verify=crc32c --do_verify=1 --verify_fatal=1 \
    --output-format=json --output="$R/fio-grow.json" &
fio_pid=$!
sleep 5
kill -0 $fio_pid 2>/dev/null || gt_fail "fio ended before the expansion started"
csi_ok expand expand --volume "$v" --bytes $((768 << 20))
[[ $(gt_json "$R/expand.json" '["capacity_bytes"]') == $((768 << 20)) ]] || gt_fail "ControllerExpand: $(cat "$R/expand.json")"
[[ $(gt_json "$R/expand.json" '.get("node_expansion_required")') == True ]] || gt_fail "no node expansion asked"
csi_ok node-expand node-expand --volume "$v" --path "$TARGET" --staging "$STAGING" --bytes $((768 << 20))
kill -0 $fio_pid 2>/dev/null && gt_info "ok: the expansion finished while fio still ran" ||
    gt_info "note: fio finished before the node expansion did"
wait $fio_pid || gt_fail "fio under the expansion failed (rc $?)"
grep -q '"error" : 0' "$R/fio-grow.json" || gt_fail "fio under the expansion reported an error"
[[ $(blockdev --getsize64 "$dev") == $((768 << 20)) ]] || gt_fail "$dev has $(blockdev --getsize64 "$dev") bytes"
after=$(df -B1 --output=size "$TARGET" | tail -1)
((after > before + (200 << 20))) || gt_fail "the filesystem did not grow: $before -> $after bytes"
csi_ok stats stats --volume "$v" --path "$TARGET"
total=$(python3 -c 'import json,sys; print(next(int(u["total"]) for u in json.load(open(sys.argv[1]))["usage"] if u.get("unit","BYTES")=="BYTES"))' "$R/stats.json") ||
    gt_fail "NodeGetVolumeStats: $(cat "$R/stats.json")"
((total == after)) || gt_fail "NodeGetVolumeStats says $total bytes, df $after"
gt_info "ok: disk 768 MiB, filesystem $before -> $after bytes, fio verified; stats agree"
rm -f "$TARGET"/grow.*

gt_step "NodeUnpublishVolume, NodeUnstageVolume: nothing of the volume left on the node"
csi_ok unpublish unpublish --volume "$v" --target "$TARGET"
[[ -e $TARGET ]] && gt_fail "the target $TARGET is left"
csi_ok unstage unstage --volume "$v" --staging "$STAGING"
nothing_on_node "$iqn" "$wwid" "$STAGING" "$TARGET"
csi_ok unstage-again unstage --volume "$v" --staging "$STAGING"
csi_ok unpublish-again unpublish --volume "$v" --target "$TARGET"
gt_info "ok: both again: OK (idempotent)"

gt_step "the gluster-tcmu daemon killed (-9) and restarted"
kill -9 "$GT_DAEMON_PID" || gt_fail "kill -9 the daemon"
wait "$GT_DAEMON_PID" 2>/dev/null
GT_DAEMON_PID=
gt_gateway_start
gt_wait 120 "the export served again after the restart" gt_export_state "$vol" "$name" ready

gt_step "staged and published again: the data is intact"
csi_ok stage2 stage --volume "$v" --staging "$STAGING" "${secret[@]}"
csi_ok publish2 publish --volume "$v" --staging "$STAGING" --target "$TARGET"
dev=$(disk_of "$wwid") || gt_fail "no disk with WWID $wwid after the restart"
[[ $(blockdev --getsize64 "$dev") == $((768 << 20)) ]] || gt_fail "the disk has another size after the restart"
(cd "$TARGET" && sha256sum --quiet -c "$R/files.sha256") || gt_fail "checksums differ after the restart"
fio --name=keep --directory="$TARGET" --size=32M --bs=64k --rw=randwrite --direct=1 \
    --ioengine=libaio --iodepth=8 --verify=crc32c --verify_only --verify_fatal=1 \
    --output-format=json --output="$R/fio-keep-verify.json" || gt_fail "fio verify-only pass failed"
grep -q '"error" : 0' "$R/fio-keep-verify.json" || gt_fail "fio verify-only pass reported an error"
gt_info "ok: $(wc -l <"$R/files.sha256") checksums and fio's 64 MiB verified"
csi_ok unpublish2 unpublish --volume "$v" --target "$TARGET"
csi_ok unstage2 unstage --volume "$v" --staging "$STAGING"
nothing_on_node "$iqn" "$wwid" "$STAGING" "$TARGET"

gt_step "DeleteVolume: no record, image, LIO object or node record left"
csi_ok delete delete --volume "$v"
gt_export_gone "$name" "$iqn"
has_record "$iqn" && gt_fail "a node record of $iqn is left"
csi_ok delete-again delete --volume "$v"
gt_info "ok: DeleteVolume again: OK"

# --- raw block ------------------------------------------------------------------------------
name=$(pvc)
v=$R/blk.json
paths_of "$name"
TARGET=$root/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/$name/pod-$name
gt_step "raw block: CreateVolume $name 256 MiB (block capability), stage, publish as $TARGET"
csi_ok blk-create create --name "$name" --bytes $((256 << 20)) --block "${params[@]}" "${secret[@]}" --out "$v"
iqn=$(gt_json "$v" '["volume_context"]["iqn"]')
wwid=$(gt_json "$v" '["volume_context"]["wwid"]')
csi_ok blk-stage stage --volume "$v" --staging "$STAGING" --block "${secret[@]}"
dev=$(disk_of "$wwid") || gt_fail "no disk with WWID $wwid"
findmnt -n --mountpoint "$STAGING" >/dev/null && gt_fail "a block stage mounted something"
blkid -p "$dev" >/dev/null 2>&1 && gt_fail "a block stage made a filesystem on $dev"
csi_ok blk-publish publish --volume "$v" --staging "$STAGING" --target "$TARGET" --block
test -b "$TARGET" || gt_fail "$TARGET is not a block device"
[[ $(stat -c %t:%T "$TARGET") == $(stat -c %t:%T "$dev") ]] || gt_fail "$TARGET is not $dev"
[[ $(blockdev --getsize64 "$TARGET") == $((256 << 20)) ]] || gt_fail "$TARGET has $(blockdev --getsize64 "$TARGET") bytes"
gt_fio blk "$TARGET" --rw=randwrite --bs=64k --size=32M
head -c 16M /dev/urandom >"$R/blk.bin"
dd if="$R/blk.bin" of="$TARGET" bs=1M seek=200 oflag=direct conv=fsync status=none || gt_fail "dd to $TARGET"
cmp <(dd if="$dev" bs=1M skip=200 count=16 iflag=direct status=none) "$R/blk.bin" ||
    gt_fail "what dd wrote through $TARGET differs on $dev"
rm -f "$R/blk.bin"
csi_ok blk-stats stats --volume "$v" --path "$TARGET"
grep -q $((256 << 20)) "$R/blk-stats.json" || gt_fail "NodeGetVolumeStats: $(cat "$R/blk-stats.json")"
gt_info "ok: fio and dd through the published device; stats say 256 MiB"
csi_ok blk-unpublish unpublish --volume "$v" --target "$TARGET"
[[ -e $TARGET ]] && gt_fail "the block target file $TARGET is left"
csi_ok blk-unstage unstage --volume "$v" --staging "$STAGING"
nothing_on_node "$iqn" "$wwid" "$STAGING"
csi_ok blk-delete delete --volume "$v"
gt_export_gone "$name" "$iqn"

# --- a portal that is down ----------------------------------------------------------------------
name=$(pvc)
v=$R/down.json
paths_of "$name"
gt_step "NodeStageVolume whose portal is down ($dead_portal: nothing listens)"
csi_ok down-create create --name "$name" --bytes $((64 << 20)) "${params[@]}" "${secret[@]}" --out "$v"
iqn=$(gt_json "$v" '["volume_context"]["iqn"]')
wwid=$(gt_json "$v" '["volume_context"]["wwid"]')
t=$(date +%s)
csi_err UNAVAILABLE down-stage stage --volume "$v" --staging "$STAGING" "${secret[@]}" --context "portals=$dead_portal"
took=$(($(date +%s) - t))
# The kubelet gives a NodeStageVolume call 2 minutes: the error must come well within them.
((took < 90)) || gt_fail "the stage took ${took}s to fail: the kubelet cancels it at 120 s"
gt_info "refused in ${took}s"
grep -q "$dead_portal" "$R/down-stage.json" || gt_fail "the error does not name the portal: $(cat "$R/down-stage.json")"
nothing_on_node "$iqn" "$wwid" "$STAGING"
csi_ok down-delete delete --volume "$v"
gt_export_gone "$name" "$iqn"

fi

# --- benchmark (printed, never asserted on) -----------------------------------------------------
if [[ ${GT_CSI_PART:-test} == bench ]]; then
bench=$R/bench-csi.txt
name=$(pvc)
v=$R/bench.json
paths_of "$name"
gt_step "benchmark: CreateVolume to a mounted filesystem (Create + Stage + Publish, 1 GiB, ext4)"
csi_ok bench-mount bench-mount --name "$name" --bytes $((1 << 30)) "${params[@]}" "${secret[@]}" \
    --staging "$STAGING" --target "$TARGET" --out "$v"
findmnt -n --mountpoint "$TARGET" >/dev/null || gt_fail "bench-mount left nothing mounted at the target"
csi_ok bench-unpublish unpublish --volume "$v" --target "$TARGET"
csi_ok bench-unstage unstage --volume "$v" --staging "$STAGING"
csi_ok bench-delete delete --volume "$v"
gt_export_gone "$name" "$(gt_json "$v" '["volume_context"]["iqn"]')"

gt_step "benchmark: 10 CreateVolume at once (64 MiB each, one thread each), then 10 DeleteVolume at once"
prefix=pvc-$(cut -c1-8 /proc/sys/kernel/random/uuid)
csi_ok bench-create bench-create --prefix "$prefix" --count 10 --bytes $((64 << 20)) "${params[@]}" "${secret[@]}"
[[ $(gt_json "$R/bench-create.json" '["distinct_ids"]') == 10 ]] || gt_fail "10 CreateVolume did not give 10 volumes"
for id in $(gt_json "$R/bench-create.json" '["ids"]' | tr -d "[]',"); do
    n=${id##*/}
    gt_export_gone "$n" "iqn.2016-12.org.gluster-tcmu:$n" >/dev/null
done
gt_info "ok: the 10 volumes made and deleted, nothing left"
python3 - "$R/bench-mount.json" "$R/bench-create.json" <<'EOF' | tee "$bench"
import json, sys
m, c = (json.load(open(p)) for p in sys.argv[1:3])
print("CSI (guest, TCG)                                      seconds")
print(f"CreateVolume (1 GiB, CHAP, gateway serving)          {m['create_s']:7.2f}")
print(f"NodeStageVolume (login, WWID, mkfs.ext4, mount)      {m['stage_s']:7.2f}")
print(f"NodePublishVolume (bind mount)                       {m['publish_s']:7.2f}")
print(f"CreateVolume to a mounted filesystem                 {m['total_s']:7.2f}")
print(f"10 CreateVolume at once: wall                        {c['create_wall_s']:7.2f}  ({c['create_per_s']:.2f} volumes/s)")
print(f"  one call: min / median / max                       {c['create_latency_min_s']:7.2f} / {c['create_latency_median_s']:.2f} / {c['create_latency_max_s']:.2f}")
print(f"10 DeleteVolume at once: wall                        {c['delete_wall_s']:7.2f}")
EOF
fi
iscsiadm -m session 2>/dev/null | grep -q gluster-tcmu && gt_fail "an iSCSI session is left: $(iscsiadm -m session)"
gt_step "pass"
