#!/bin/bash
# tcm_loop: the LUN shows up as a local SCSI disk; INQUIRY / VPD / READ CAPACITY answer with the
# expected values; fio write-then-verify (crc32c) with 4 KiB random and 128 KiB sequential I/O.
# On user: backstores the daemon serves metrics on loopback, scraped before, during (every 2 s)
# and after fio: the LUN's command and byte counters grow while fio runs, its write (read) bytes
# grow by at least what fio wrote (read), and its error counter stays 0.
#   tcm-loop-fio.sh [BACKSTORE]   BACKSTORE: user:file (default), user:glfs, user:ram, fileio, ...
# guest-timeout: 900
set -u -o pipefail  # "cmd | tee f || gt_fail" must see cmd's failure
. /share/guest/lib.sh
bs_kind=${1:-user:file}
size_mb=64
name=loopfio
metrics_url=http://127.0.0.1:9750/metrics
scraper=/share/guest/scenarios/metrics-scrape.py

if [[ $bs_kind == user:* ]]; then
    printf '[metrics]\nlisten = "127.0.0.1:9750"\n' >"$GT_RESULTS/gluster-tcmu.toml"
    GT_DAEMON_ARGS="${GT_DAEMON_ARGS:-} --config $GT_RESULTS/gluster-tcmu.toml"
fi
gt_step "backstore $bs_kind, ${size_mb} MiB"
gt_prepare_backstore "$bs_kind"
gt_backstore_create "$bs_kind" "$name" "${size_mb}M"
gt_step "export through tcm_loop"
gt_loop_export "$GT_BS"
dev=$GT_DEV

gt_step "SCSI identity of $dev"
sg_inq "$dev" | tee "$GT_RESULTS/sg_inq.txt"
grep -q 'Peripheral device type: disk' "$GT_RESULTS/sg_inq.txt" || gt_fail "INQUIRY: not a disk"
gt_check "INQUIRY has a vendor identification" grep -qE 'Vendor identification: +[^ ]' "$GT_RESULTS/sg_inq.txt"
gt_check "INQUIRY has a product identification" grep -qE 'Product identification: +[^ ]' "$GT_RESULTS/sg_inq.txt"
if [[ $bs_kind != user:* ]]; then # LIO answers INQUIRY itself; for user: the handler does
    gt_check "INQUIRY vendor LIO-ORG" grep -qE 'Vendor identification: LIO-ORG' "$GT_RESULTS/sg_inq.txt"
    gt_check "INQUIRY product names the backstore" grep -qE "Product identification: +$name" "$GT_RESULTS/sg_inq.txt"
fi
sg_vpd --page=sv "$dev" | tee "$GT_RESULTS/vpd-sv.txt"
gt_check "VPD supported pages lists unit serial (0x80) and device identification (0x83)" \
    grep -qE '0x80|Unit serial' "$GT_RESULTS/vpd-sv.txt"
sg_vpd --page=di "$dev" | tee "$GT_RESULTS/vpd-di.txt"
gt_check "VPD 0x83 has an NAA designator" grep -q 'NAA' "$GT_RESULTS/vpd-di.txt"
sg_vpd --page=sn "$dev" | tee "$GT_RESULTS/vpd-sn.txt"
serial=$(sed -n 's/.*Unit serial number: *//p' "$GT_RESULTS/vpd-sn.txt")
[[ -n $serial ]] || gt_fail "VPD 0x80: no unit serial number"
# The unit serial must be the device's configfs vpd_unit_serial (targetcli's "wwn"), as LIO and
# tcmu-runner report it: multipath and the kubelet identify disks by it.
bs_serial=$(sed -n 's/^T10 VPD Unit Serial Number: *//p' /sys/kernel/config/target/core/*/"$name"/wwn/vpd_unit_serial 2>/dev/null | head -1)
[[ -n $bs_serial ]] || bs_serial=$(targetcli "$GT_BS" info 2>/dev/null | sed -n 's/^wwn: *//p')
gt_info "unit serial $serial, backstore wwn ${bs_serial:-?}"
[[ -n $bs_serial ]] || gt_fail "cannot read the backstore's vpd_unit_serial"
[[ $serial == "$bs_serial" ]] || gt_fail "VPD 0x80 unit serial '$serial' is not the device's vpd_unit_serial '$bs_serial'"
# The NAA designator is LIO's: type 6h, company 001405, then the serial's first 25 hex digits
# (the WWID 36001405... udev and multipath use), on fileio from the kernel and on user: LUNs
# from the handler, so a LUN keeps its WWID when it moves between backstores or from
# tcmu-runner.
sg_vpd --page=di --raw "$dev" >"$GT_RESULTS/vpd-di.bin" || gt_fail "VPD 0x83 (raw)"
naa=$(python3 - "$GT_RESULTS/vpd-di.bin" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
end, at = 4 + int.from_bytes(d[2:4], "big"), 4
while at + 4 <= end:
    kind, assoc, n = d[at + 1] & 0x0F, (d[at + 1] >> 4) & 0x3, d[at + 3]
    if kind == 3 and assoc == 0:
        print(d[at + 4:at + 4 + n].hex())
    at += 4 + n
PY
)
want=6001405$(printf '%s' "$bs_serial" | tr -cd '0-9a-fA-F' | tr 'A-F' 'a-f' | cut -c1-25)
while ((${#want} < 32)); do want+=0; done
gt_info "VPD 0x83 NAA ${naa:-none}, from the serial as LIO derives it: $want"
[[ $naa == "$want" ]] || gt_fail "VPD 0x83 NAA '${naa:-none}' is not LIO's '$want' for serial '$bs_serial'"
sg_vpd --page=bl "$dev" | tee "$GT_RESULTS/vpd-bl.txt" || gt_fail "VPD block limits (0xb0)"
sg_readcap --16 "$dev" | tee "$GT_RESULTS/readcap.txt"
blocks=$(sed -n 's/.*Device size: *\([0-9]*\) bytes.*/\1/p' "$GT_RESULTS/readcap.txt")
[[ $blocks == $((size_mb * 1024 * 1024)) ]] || gt_fail "READ CAPACITY: ${blocks:-?} bytes, expected $((size_mb * 1024 * 1024))"
gt_check "READ CAPACITY(16): 512-byte logical blocks" grep -q 'Logical block length=512 bytes' "$GT_RESULTS/readcap.txt"
gt_check "block device size" test "$(blockdev --getsize64 "$dev")" = $((size_mb * 1024 * 1024))

# Replica-3 volumes write at tens of IOPS under TCG: smaller jobs there (same checks).
case $bs_kind in
    user:glfs | fileio-fuse) rand=${GT_FIO_RAND_SIZE:-8M} seq=${GT_FIO_SEQ_SIZE:-32M} ;;
    *) rand=${GT_FIO_RAND_SIZE:-32M} seq=${GT_FIO_SEQ_SIZE:-${size_mb}M} ;;
esac
samples=$GT_RESULTS/metrics.jsonl
rm -f "$samples"
if [[ $bs_kind == user:* ]]; then
    gt_step "metrics on $metrics_url before fio"
    python3 "$scraper" sample "$metrics_url" "$name" before "$samples" ||
        gt_fail "cannot scrape $metrics_url"
    # python3 itself in the background (not a shell function), so that $! is its pid.
    python3 "$scraper" watch "$metrics_url" "$name" "$samples" 2 &
    watcher=$!
    trap 'kill "$watcher" 2>/dev/null' EXIT
fi
gt_fio rand4k "$dev" --rw=randwrite --bs=4k --size="$rand"
gt_fio seq128k "$dev" --rw=write --bs=128k --size="$seq"
if [[ $bs_kind == user:* ]]; then
    kill "$watcher"
    wait "$watcher"
    python3 "$scraper" sample "$metrics_url" "$name" after "$samples" ||
        gt_fail "cannot scrape $metrics_url"
    gt_step "metrics against what fio did"
    python3 "$scraper" check "$samples" "$GT_RESULTS"/fio-rand4k.json "$GT_RESULTS"/fio-seq128k.json 2>&1 |
        tee "$GT_RESULTS/metrics.txt" || gt_fail "$(tail -1 "$GT_RESULTS/metrics.txt") (samples: $samples)"
fi
gt_step "pass"
