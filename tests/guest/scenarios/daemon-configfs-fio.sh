#!/bin/bash
# gluster-tcmu against the real target_core_user ring, without targetcli or D-Bus: a user:file
# device made through configfs (the kernel sends ADDED_DEVICE; `enable` returns only when the
# daemon answered), exported through tcm_loop by configfs, driven by sg3-utils and fio
# write-then-verify; then removed (REMOVED_DEVICE) and checked released in the daemon.
# guest-timeout: 900
set -u -o pipefail  # "cmd | tee f || gt_fail" must see cmd's failure
. /share/guest/lib.sh
mkdir -p /var/tmp/gt
gt_step "start $GT_BIN run --no-dbus"
"$GT_BIN" run --no-dbus --log-level debug >>"$GT_RESULTS/gluster-tcmu.log" 2>&1 &
pid=$!
sleep 3
kill -0 "$pid" 2>/dev/null || { tail -20 "$GT_RESULTS/gluster-tcmu.log"; gt_fail "daemon exited"; }

core=/sys/kernel/config/target/core/user_7
dev=$core/cfgdisk
img=/var/tmp/gt/cfgdisk.img
mkdir -p "$dev" || gt_fail "mkdir $dev"
echo "dev_config=file/$img" >"$dev/control" || gt_fail "control dev_config"
echo "dev_size=$((128 << 20))" >"$dev/control" || gt_fail "control dev_size"
echo "hw_max_sectors=1024" >"$dev/control" || gt_fail "control hw_max_sectors"
gt_step "enable (waits for the daemon's ADDED_DEVICE_DONE)"
echo 1 >"$dev/enable" || { tail -20 "$GT_RESULTS/gluster-tcmu.log"; gt_fail "enable refused"; }
gt_check "backing file created at the LUN size" test "$(stat -c %s "$img")" -eq $((128 << 20))
uio=$(grep -l "tcm-user/7/cfgdisk/" /sys/class/uio/uio*/name | head -1)
uio=$(basename "$(dirname "$uio")")
gt_check "daemon maps /dev/$uio" grep -q "/dev/$uio" "/proc/$pid/maps"

wwn=naa.5001405abcdef123
tpg=/sys/kernel/config/target/loopback/$wwn/tpgt_1
mkdir -p "$tpg" || gt_fail "mkdir tcm_loop tpg"
echo "$wwn" >"$tpg/nexus" || gt_fail "nexus"
mkdir "$tpg/lun/lun_0" || gt_fail "mkdir tcm_loop lun"
ln -s "$dev" "$tpg/lun/lun_0/gt_link" || gt_fail "link LUN"
host=$(cut -d: -f1 <"$tpg/address")
sd=
for ((i = 0; i < 60; i++)); do
    udevadm settle -t 5 2>/dev/null
    sd=$(ls "/sys/class/scsi_host/host$host/device/"target*/*:0/block/ 2>/dev/null | head -1)
    [[ -n $sd ]] && break
    sleep 1
done
[[ -n $sd ]] || gt_fail "no /dev/sdX for tcm_loop"
sd=/dev/$sd
gt_wait 60 "TEST UNIT READY on $sd" gt_dev_tur "$sd"

gt_step "sg3-utils on $sd"
sg_inq "$sd" | tee "$GT_RESULTS/sg_inq.txt" || gt_fail "sg_inq"
gt_check "INQUIRY vendor is LIO-ORG (configfs wwn/vendor_id)" grep -q "LIO-ORG" "$GT_RESULTS/sg_inq.txt"
sg_readcap -l "$sd" | tee "$GT_RESULTS/sg_readcap.txt" || gt_fail "sg_readcap"
gt_check "capacity 262144 blocks of 512" grep -q "Last LBA=262143" "$GT_RESULTS/sg_readcap.txt"
sg_vpd -p sn "$sd" | tee "$GT_RESULTS/sg_vpd_sn.txt" || gt_fail "sg_vpd serial"
sg_vpd -p di "$sd" | tee "$GT_RESULTS/sg_vpd_di.txt" || gt_fail "sg_vpd device identification"

gt_fio rand4k "$sd" --rw=randwrite --bs=4k --size=64m --iodepth=32
gt_fio seq128k "$sd" --rw=write --bs=128k --size=64m --iodepth=16
gt_fio big1m "$sd" --rw=randwrite --bs=1m --size=64m --iodepth=8

gt_step "remove the LUN and the device"
rm "$tpg/lun/lun_0/gt_link" && rmdir "$tpg/lun/lun_0" && echo NULL >"$tpg/nexus" &&
    rmdir "$tpg" "/sys/kernel/config/target/loopback/$wwn" || gt_fail "tcm_loop teardown"
rmdir "$dev" || gt_fail "rmdir $dev (REMOVED_DEVICE)"
sleep 1
gt_check "daemon released /dev/$uio" bash -c "! grep -q /dev/$uio /proc/$pid/maps"
gt_check "daemon holds no uio fd" bash -c "! ls -l /proc/$pid/fd | grep -q /dev/uio"
kill -TERM "$pid"
for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
kill -0 "$pid" 2>/dev/null && gt_fail "daemon did not exit on SIGTERM"
wait "$pid"
gt_check "daemon exited 0 on SIGTERM" test $? -eq 0
gt_step "pass"
