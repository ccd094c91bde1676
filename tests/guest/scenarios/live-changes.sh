#!/bin/bash
# Changes to a live LUN through the kernel, while fio runs on it: a resize written to configfs
# (`attrib/dev_size`, which the kernel sends to the daemon as RECONFIG), then targetcli's
# `changemedium` (D-Bus ChangeMedium) to a larger size. Each time the initiator sees the new
# capacity after a rescan and fio sees no I/O error and no verify failure; configfs and
# `targetcli ls` show the size the LUN serves, and still do after the daemon was killed and
# restarted, with the data intact. Then a write-protected LUN (`;ro=1`) is a read-only disk.
# guest-timeout: 900
set -u -o pipefail
. /share/guest/lib.sh
name=live
mib=$((1 << 20))

gt_prepare_backstore user:file
gt_backstore_create user:file "$name" 64M hw_max_sectors=1024
img=$GT_IMG_DIR/$name.img
so=$(ls -d /sys/kernel/config/target/core/user_*/"$name")
gt_loop_export "$GT_BS"
dev=$GT_DEV
sd=${dev##*/}

capacity() { blockdev --rereadpt "$dev" >/dev/null 2>&1; blockdev --getsize64 "$dev"; }
rescan() { echo 1 >"/sys/block/$sd/device/rescan"; }
tcli_size() { # the size targetcli shows for the LUN, in MiB
    targetcli ls "$GT_BS" 2>/dev/null | grep -o '[0-9.]*MiB' | head -1 | cut -d. -f1
}
# fio_bg SECONDS: randwrite with crc32c verify on the first 32 MiB, in the background.
fio_bg() {
    fio --name=live --filename="$dev" --direct=1 --ioengine=libaio --iodepth=8 --rw=randwrite \
        --bs=16k --size=32M --time_based --runtime="$1" --verify=crc32c --verify_backlog=64 \
        --verify_fatal=1 --verify_dump=0 --output-format=json --output="$GT_RESULTS/fio-$2.json" &
    fio_pid=$!
}
fio_done() { # NAME: fio ended well, no I/O or verify error
    wait "$fio_pid" || gt_fail "fio ($1) failed: $(tail -5 "$GT_RESULTS/fio-$1.json")"
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["jobs"][0]; sys.exit(j["error"])' \
        "$GT_RESULTS/fio-$1.json" || gt_fail "fio ($1) reports an error"
    gt_fio_summary "$GT_RESULTS/fio-$1.json"
}
expect_size() { # BYTES WHAT: the initiator, configfs and targetcli all say BYTES
    local want=$1 what=$2
    rescan
    gt_wait 30 "$what: the initiator sees $want bytes" test "$(capacity)" = "$want"
    gt_check "$what: configfs attrib/dev_size is $want" test "$(cat "$so/attrib/dev_size")" = "$want"
    gt_check "$what: targetcli ls shows $((want / mib)) MiB" test "$(tcli_size)" = "$((want / mib))"
    gt_info "ok: $what: $want bytes everywhere"
}
gt_check "the LUN starts at 64 MiB" test "$(capacity)" = $((64 * mib))

# A block past fio's region, to check after the restart.
head -c 1M /dev/urandom >"$GT_RESULTS/mark.bin"
dd if="$GT_RESULTS/mark.bin" of="$dev" bs=1M seek=40 oflag=direct conv=notrunc status=none ||
    gt_fail "writing the mark at 40 MiB"

gt_step "resize through configfs (RECONFIG) to 128 MiB while fio writes and verifies"
dmesg -C
fio_bg 25 reconfig
sleep 5
echo $((128 * mib)) >"$so/attrib/dev_size" || gt_fail "the kernel refused dev_size (RECONFIG answered with an error?)"
fio_done reconfig
expect_size $((128 * mib)) "after RECONFIG"
gt_check "the backing file grew" test "$(stat -c %s "$img")" -ge $((128 * mib))
dmesg | grep -qi "capacity data has changed" && gt_info "ok: the initiator logged CAPACITY DATA HAS CHANGED"

gt_step "targetcli changemedium to 192 MiB while fio writes and verifies"
fio_bg 25 changemedium
sleep 5
gt_tcli /backstores/user:file changemedium "$name" 192M "$img" || gt_fail "targetcli changemedium"
fio_done changemedium
expect_size $((192 * mib)) "after changemedium"

gt_step "changemedium to another file is refused and changes nothing"
truncate -s 192M "$GT_IMG_DIR/other.img"
gt_tcli /backstores/user:file changemedium "$name" 192M "$GT_IMG_DIR/other.img" >"$GT_RESULTS/other.txt" 2>&1 &&
    gt_fail "changemedium to another file succeeded"
gt_info "refused: $(tail -1 "$GT_RESULTS/other.txt")"
expect_size $((192 * mib)) "after the refused changemedium"

gt_step "kill -9 the daemon and restart it: the LUN keeps its size and its data"
kill -9 "$GT_DAEMON_PID"
wait "$GT_DAEMON_PID" 2>/dev/null
GT_DAEMON_PID=
gt_daemon_start
gt_wait 60 "the daemon serves $name again" bash -c "'$GT_BIN' list | grep -q 'serving\$'"
gt_wait 60 "TEST UNIT READY on $dev" gt_dev_tur "$dev"
expect_size $((192 * mib)) "after the restart"
dd if="$dev" bs=1M skip=40 count=1 iflag=direct status=none | cmp -s - "$GT_RESULTS/mark.bin" ||
    gt_fail "the mark at 40 MiB changed"
gt_info "ok: the mark at 40 MiB is intact"
fio_bg 10 after-restart
fio_done after-restart

gt_step "a write-protected LUN (cfgstring ;ro=1) is a read-only disk"
ro_img=$GT_IMG_DIR/ro.img
head -c 8M /dev/urandom >"$ro_img"
gt_tcli /backstores/user:file create name=ro size=8M "cfgstring=$ro_img;ro=1" || gt_fail "targetcli create ro"
gt_loop_export /backstores/user:file/ro
ro_dev=$GT_DEV
gt_check "the kernel marks ${ro_dev##*/} read-only" test "$(cat "/sys/block/${ro_dev##*/}/ro")" = 1
dd if=/dev/zero of="$ro_dev" bs=4k count=1 oflag=direct status=none 2>"$GT_RESULTS/ro-write.txt" &&
    gt_fail "a write to the read-only disk succeeded"
gt_info "write refused: $(head -1 "$GT_RESULTS/ro-write.txt")"
cmp -s -n $((8 * mib)) "$ro_img" "$ro_dev" || gt_fail "the read-only disk does not read back its file"
gt_info "ok: the read-only disk reads its file"
gt_step "pass"
