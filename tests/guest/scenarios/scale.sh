#!/bin/bash
# Many LUNs through the kernel, as an admin makes them: 64 user:file and 16 user:glfs LUNs
# created with targetcli in one daemon; its threads, resident memory and fds written down
# at each phase (results/scale.tsv); fio write-verify on 8 of them at once through tcm_loop;
# then all removed: no device, /dev/uio fd or mapping left, and fds and threads back to the
# baseline once the idle Gluster connection is finished.
#   scale.sh [FILE_LUNS] [GLFS_LUNS]   default 64 16
# guest-timeout: 1800
# guest-needs: gluster
set -u
. /share/guest/lib.sh
files=${1:-64}
glfs=${2:-16}
tsv=$GT_RESULTS/scale.tsv

gt_prepare_backstore user:glfs
pid=$GT_DAEMON_PID
status_mb() { awk -v k="$1:" '$1 == k {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
# fds, and threads other than io_uring's kernel workers (iou-wrk: each reactor's ring keeps
# one once it has handed work to them; they belong to the ring, not to any LUN).
counts() { echo "$(ls /proc/$pid/fd | wc -l) $(grep -vc '^iou-wrk' /proc/$pid/task/*/comm | awk -F: '$2 > 0' | wc -l)"; }
threads() { cat /proc/$pid/task/*/comm | sed 's/[0-9]*$//' | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}'; }
served() { "$GT_BIN" list 2>/dev/null | tail -n +2 | grep -c 'serving$'; }
record() { # PHASE
    local row
    row="$1	$(ls /proc/$pid/task | wc -l)	$(ls /proc/$pid/fd | wc -l)	$(status_mb VmRSS)	$(status_mb RssAnon)	$(status_mb RssFile)	$(status_mb RssShmem)	$(threads)"
    echo "$row" >>"$tsv"
    gt_info "$(tr '\t' ' ' <<<"$row")"
}
# settle: fds and threads still for 15 s, and at least 45 s (CheckConfig's kept connection,
# 30 s, then glfs_fini).
settle() { gt_settle 45 240 counts; }
printf 'phase\tthreads\tfds\tVmRSS_MiB\tRssAnon_MiB\tRssFile_MiB\tRssShmem_MiB\tthread_names\n' >"$tsv"

gt_step "warm-up: one user:glfs LUN created and deleted (gfapi keeps a few process-wide threads)"
gt_backstore_create user:glfs warm 16M
gt_wait 30 "the daemon serves warm" gt_daemon_holds_uio "$pid"
gt_tcli /backstores/user:glfs delete warm >/dev/null || gt_fail "targetcli delete warm"
gt_wait 30 "the daemon released warm" gt_daemon_released_uio "$pid"
settle
base=$(counts)
record baseline

gt_step "create $files user:file LUNs (16 MiB each, on tmpfs) in one targetcli session"
batch=""
for ((i = 0; i < files; i++)); do
    f=$GT_IMG_DIR/scale-f$i.img
    rm -f "$f" && truncate -s 16M "$f"
    batch+="/backstores/user:file create name=scale-f$i size=16M cfgstring=$f
"
done
t0=$SECONDS
gt_tcli_batch <<<"$batch" >"$GT_RESULTS/create-file.log" 2>&1 || gt_fail "targetcli: creating the file LUNs (create-file.log)"
gt_wait 120 "the daemon serves $files LUNs" bash -c "(( \$('$GT_BIN' list | tail -n +2 | grep -c 'serving\$') >= $files ))"
gt_info "$files user:file LUNs created in $((SECONDS - t0)) s"
record "$files file LUNs"

gt_step "create $glfs user:glfs LUNs (64 MiB each) on $GT_VOLUME in one targetcli session"
batch=""
for ((i = 0; i < glfs; i++)); do
    batch+="/backstores/user:glfs create name=scale-g$i size=64M cfgstring=$GT_VOLUME@$GT_GLUSTER_HOST/scale-g$i.img
"
done
t0=$SECONDS
gt_tcli_batch <<<"$batch" >"$GT_RESULTS/create-glfs.log" 2>&1 || gt_fail "targetcli: creating the glfs LUNs (create-glfs.log)"
total=$((files + glfs))
gt_wait 300 "the daemon serves $total LUNs" bash -c "(( \$('$GT_BIN' list | tail -n +2 | grep -c 'serving\$') >= $total ))"
gt_info "$glfs user:glfs LUNs created in $((SECONDS - t0)) s"
(($(served) == total)) || gt_fail "list shows $(served) LUNs serving, not $total"
(($(find /proc/$pid/fd -lname '/dev/uio*' | wc -l) == total)) || gt_fail "the daemon does not hold $total /dev/uio fds"
record "$total LUNs"

gt_step "fio write-verify on 8 LUNs at once (4 file, 4 glfs) through one tcm_loop target"
wwn=naa.5001405$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-9)
batch="/loopback create $wwn
"
for n in scale-f0 scale-f21 scale-f42 scale-f63 scale-g0 scale-g5 scale-g10 scale-g15; do
    kind=file
    [[ $n == scale-g* ]] && kind=glfs
    batch+="/loopback/$wwn/luns create /backstores/user:$kind/$n
"
done
gt_tcli_batch <<<"$batch" >/dev/null || gt_fail "targetcli: tcm_loop target with 8 LUNs"
host=$(cut -d: -f1 "/sys/kernel/config/target/loopback/$wwn/tpgt_1/address")
gt_wait 60 "8 disks on scsi host $host" bash -c "(( \$(ls -d /sys/class/scsi_host/host$host/device/target*/*:*/block/* 2>/dev/null | wc -l) == 8 ))"
jobs=()
# LUNs 0-3 are the file LUNs, 4-7 the glfs ones (the order they were added to the target):
# 8 MiB of fio on each file LUN, 2 MiB on each glfs LUN (replica 3 under TCG: ~5 write IOPS).
for lun in 0 1 2 3 4 5 6 7; do
    b=$(ls -d /sys/class/scsi_host/host"$host"/device/target*/*:*:*:"$lun"/block/* | head -1)
    dev=/dev/${b##*/}
    gt_wait 60 "TEST UNIT READY on $dev" gt_dev_tur "$dev"
    size=8M
    ((lun >= 4)) && size=2M
    jobs+=(--name="lun$lun-${b##*/}" --filename="$dev" --size="$size")
done
fio --direct=1 --ioengine=libaio --iodepth=8 --rw=randwrite --bs=16k \
    --verify=crc32c --verify_fatal=1 --verify_dump=0 --output-format=json \
    --output="$GT_RESULTS/fio-scale.json" "${jobs[@]}" || gt_fail "fio write-verify on the 8 LUNs"
python3 - "$GT_RESULTS/fio-scale.json" <<'PY' || gt_fail "fio reported errors"
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
bad = [j["jobname"] for j in jobs if j["error"] or j["write"]["io_bytes"] == 0]
print(f"         fio: {len(jobs)} jobs, " + ", ".join(f"{j['jobname']} {j['write']['iops']:.0f} w-IOPS" for j in jobs))
sys.exit(1 if bad or len(jobs) != 8 else 0)
PY
record "after fio on 8"
gt_tcli /loopback delete "$wwn" >/dev/null || gt_fail "targetcli: delete the tcm_loop target"

gt_step "remove all $total LUNs in one targetcli session"
batch=""
for ((i = 0; i < files; i++)); do batch+="/backstores/user:file delete scale-f$i
"; done
for ((i = 0; i < glfs; i++)); do batch+="/backstores/user:glfs delete scale-g$i
"; done
t0=$SECONDS
gt_tcli_batch <<<"$batch" >"$GT_RESULTS/delete.log" 2>&1 || gt_fail "targetcli: removing the LUNs (delete.log)"
gt_wait 120 "the daemon released every /dev/uio" gt_daemon_released_uio "$pid"
gt_info "$total LUNs removed in $((SECONDS - t0)) s"
kill -0 "$pid" || gt_fail "gluster-tcmu died"
(($(served) == 0)) || gt_fail "list still shows $(served) LUNs"
ls /sys/kernel/config/target/core | grep -q '^user_' && gt_fail "user_* HBAs left in configfs: $(ls /sys/kernel/config/target/core)"
settle
record "all removed"
read -r f t <<<"$(counts)"
read -r f0 t0 <<<"$base"
((f <= f0)) || gt_fail "fd count grew from $f0 to $f"
((t <= t0)) || gt_fail "thread count grew from $t0 to $t"
rm -f "$GT_IMG_DIR"/scale-f*.img
gt_step "pass"
cat "$tsv"
