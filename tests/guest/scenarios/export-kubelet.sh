#!/bin/bash
# Block exports end to end, the way an admin and the kubelet use them: `gluster-tcmu export
# create` with CHAP on a replica-3 volume → the manifest's PersistentVolume parameters used as
# the kubelet's iscsi plugin uses them (sendtargets discovery, CHAP on the node record, login,
# mkfs, mount, files with checksums) → online resize and filesystem grow while fio verify runs →
# LIO wiped (`targetcli clearconfig`, as after a reboot) and the daemon restarted: the export is
# rebuilt from the volume and the files are intact → `export delete` leaves no LIO object, image
# or record. Also: a create whose volume is unreachable, and a create killed halfway, repeated.
# guest-timeout: 1500
# guest-needs: gluster
set -u
. /share/guest/lib.sh
. /share/guest/exports.sh
name=kube1
portal=127.0.0.1:3260
mnt=/mnt/gt-export
manifest=$GT_RESULTS/files.sha256
vol="$GT_VOLUME@$GT_GLUSTER_HOST"

gt_step "gateway settings: [exports] portal $portal, volume $vol"
gt_gluster_start && gt_volume_create
gt_exports_settings "$portal" "$vol"
gt_gateway_start

gt_step "export create $vol/$name --size 512M --chap (gateway $portal, initiator $GT_INITIATOR)"
"$GT_BIN" export create "$vol/$name" --size 512M --gateway "$portal" \
    --initiator "$GT_INITIATOR" --chap --json >"$GT_RESULTS/create.json" ||
    gt_fail "export create failed: $(cat "$GT_RESULTS/create.json")"
gt_info "$(gt_json "$GT_RESULTS/create.json" '["iqn"]') lun $(gt_json "$GT_RESULTS/create.json" '["lun"]')"
gt_check "export create's record is ready on this gateway" \
    gt_export_state "$vol" "$name" ready

gt_step "the same create again: same result"
"$GT_BIN" export create "$vol/$name" --size 512M --gateway "$portal" \
    --initiator "$GT_INITIATOR" --chap --json >"$GT_RESULTS/create-again.json" ||
    gt_fail "a repeated create of the same export failed"
cmp -s <(gt_json "$GT_RESULTS/create.json" '["serial"]') <(gt_json "$GT_RESULTS/create-again.json" '["serial"]') ||
    gt_fail "a repeated create gave another unit serial"
gt_step "a create of the same name with another size is refused, nothing changes"
"$GT_BIN" export create "$vol/$name" --size 1G --gateway "$portal" >"$GT_RESULTS/create-other.txt" 2>&1 &&
    gt_fail "a create of $name with another size succeeded"
grep -qi "exists" "$GT_RESULTS/create-other.txt" || gt_fail "no 'exists' in: $(cat "$GT_RESULTS/create-other.txt")"

gt_step "export manifest: PersistentVolume + CHAP Secret, used as the kubelet uses them"
"$GT_BIN" export manifest "$vol/$name" >"$GT_RESULTS/manifest.yaml" || gt_fail "export manifest"
gt_kubelet_params "$GT_RESULTS/manifest.yaml"   # sets K_PORTAL K_IQN K_LUN K_USER K_PASS K_FSTYPE
gt_kubelet_attach "$K_PORTAL" "$K_IQN" "$K_LUN"   # sets GT_DEV
dev=$(readlink -f "$GT_DEV")
gt_step "mkfs.$K_FSTYPE $dev (the kubelet formats a disk without a filesystem), mount, files"
blkid "$dev" >/dev/null 2>&1 && gt_fail "a new export already has a filesystem"
mkfs."$K_FSTYPE" -q "$dev" || gt_fail "mkfs.$K_FSTYPE $dev"
mkdir -p "$mnt" && mount "$dev" "$mnt" || gt_fail "mount $dev"
for i in $(seq 1 10); do
    head -c $(((i * 331) % 2048 + 64))K /dev/urandom >"$mnt/file$i.bin" || gt_fail "write file$i"
done
(cd "$mnt" && find . -type f -name 'file*' -print0 | sort -z | xargs -0 sha256sum) >"$manifest"
sync

gt_step "online resize to 768M while fio writes and verifies on the filesystem"
fio --name=grow --directory="$mnt" --size=96M --bs=64k --rw=randwrite --direct=1 \
    --ioengine=libaio --iodepth=8 --verify=crc32c --do_verify=1 --verify_fatal=1 \
    --output-format=json --output="$GT_RESULTS/fio-grow.json" &
fio_pid=$!
sleep 5
"$GT_BIN" export resize "$vol/$name" --size 768M >"$GT_RESULTS/resize.txt" 2>&1 ||
    gt_fail "export resize: $(cat "$GT_RESULTS/resize.txt")"
iscsiadm -m node -T "$K_IQN" -p "$K_PORTAL" -R >/dev/null || gt_fail "iscsiadm rescan"
gt_wait 60 "the initiator sees 768 MiB" test "$(blockdev --getsize64 "$dev")" = $((768 << 20))
case $K_FSTYPE in
    ext4) resize2fs "$dev" >"$GT_RESULTS/growfs.txt" 2>&1 ;;
    xfs) xfs_growfs "$mnt" >"$GT_RESULTS/growfs.txt" 2>&1 ;;
esac || gt_fail "growing the filesystem: $(tail -3 "$GT_RESULTS/growfs.txt")"
wait $fio_pid || gt_fail "fio under the resize failed (rc $?)"
grep -q '"error" : 0' "$GT_RESULTS/fio-grow.json" || gt_fail "fio under the resize reported an error"
gt_info "ok: $(df -h --output=size "$mnt" | tail -1) after the grow; fio verified"
rm -f "$mnt"/grow.*
umount "$mnt" || gt_fail "umount"
gt_kubelet_detach "$K_PORTAL" "$K_IQN"

gt_step "LIO wiped (targetcli clearconfig, as after a reboot) and the daemon restarted"
# Stopped first, as a reboot stops it: a running gateway converges LIO every poll_secs and
# could build the export again before the check below.
gt_daemon_stop
timeout 120 targetcli clearconfig confirm=True >/dev/null || gt_fail "targetcli clearconfig"
[[ -e /sys/kernel/config/target/iscsi/$K_IQN ]] && gt_fail "clearconfig left the target"
gt_gateway_start
gt_wait 120 "the export is back in LIO" test -e "/sys/kernel/config/target/iscsi/$K_IQN/tpgt_1/enable"
gt_kubelet_attach "$K_PORTAL" "$K_IQN" "$K_LUN"
dev=$(readlink -f "$GT_DEV")
test "$(blockdev --getsize64 "$dev")" = $((768 << 20)) || gt_fail "the rebuilt LUN has another size"
mount "$dev" "$mnt" || gt_fail "mount after the rebuild"
(cd "$mnt" && sha256sum --quiet -c "$manifest") || gt_fail "checksums differ after the rebuild"
gt_info "ok: $(wc -l <"$manifest") files verified"
umount "$mnt" || gt_fail "umount"

gt_step "export delete is refused while the initiator is logged in"
"$GT_BIN" export delete "$vol/$name" >"$GT_RESULTS/delete-busy.txt" 2>&1 &&
    gt_fail "export delete succeeded with a session logged in"
grep -qi "logged in" "$GT_RESULTS/delete-busy.txt" || gt_fail "no reason in: $(cat "$GT_RESULTS/delete-busy.txt")"
gt_kubelet_detach "$K_PORTAL" "$K_IQN"
gt_step "export delete: no LIO object, image or record left"
"$GT_BIN" export delete "$vol/$name" || gt_fail "export delete"
gt_export_gone "$name" "$K_IQN"

gt_step "a create whose volume is unreachable fails within the deadline, nothing left"
start=$(date +%s)
"$GT_BIN" export create "nosuchvol@$GT_GLUSTER_HOST/ghost" --size 64M --gateway "$portal" \
    >"$GT_RESULTS/create-unreachable.txt" 2>&1 && gt_fail "a create on a missing volume succeeded"
took=$(($(date +%s) - start))
((took < 60)) || gt_fail "the failed create took ${took}s"
gt_info "refused in ${took}s: $(head -1 "$GT_RESULTS/create-unreachable.txt")"

gt_step "a create killed halfway (kill -9 once its record is on the bricks, before it is ready), then repeated"
# Every Gluster call is made 40 ms slower (netem on lo), so that the create's steps are far
# enough apart to kill it between the record and the image's readiness.
modprobe sch_netem 2>/dev/null
tc qdisc add dev lo root netem delay 40ms || gt_fail "tc netem on lo"
brick_record=$GT_BRICK_ROOT/$GT_VOLUME/b1/gluster-tcmu/exports/half.json
"$GT_BIN" export create "$vol/half" --size 256M --prealloc --gateway "$portal" >/dev/null 2>&1 &
killer=$!
for ((i = 0; i < 1200; i++)); do [[ -s $brick_record ]] && break; sleep 0.05; done
kill -9 $killer 2>/dev/null
killed=$?
wait $killer 2>/dev/null
tc qdisc del dev lo root
((killed == 0)) || gt_fail "the create finished before it could be killed"
state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$brick_record") ||
    gt_fail "no record of the killed create on the brick"
[[ $state == creating ]] || gt_fail "the killed create's record is $state, not creating"
gt_info "killed with its record $state"
"$GT_BIN" export list "$vol" | tee "$GT_RESULTS/list-half.txt"
"$GT_BIN" export create "$vol/half" --size 256M --prealloc --gateway "$portal" >/dev/null ||
    gt_fail "the repeated create failed"
gt_check "the repeated create is ready" gt_export_state "$vol" half ready
"$GT_BIN" export delete "$vol/half" || gt_fail "export delete half"
gt_export_gone half iqn.2016-12.org.gluster-tcmu:half
gt_step "pass"
