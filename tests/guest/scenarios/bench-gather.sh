#!/bin/bash
# Benchmark, not a test: what the reactor's gathering ([reactor] gather_us) does for user:file
# on tmpfs, in one boot. A LIO fileio LUN and a user:file LUN on the same tmpfs, each exported
# through tcm_loop; three phases with the daemon restarted in between: the default window
# (100 us), gathering off (--gather-us 0), the default again. In each phase every job runs
# twice per side, the sides in turn, and the phase's ratio is user:file over fileio, so that
# a slow stretch of the emulated machine hits both sides alike. Passes when every fio run
# completes; the figures are only recorded. Results: bench.tsv (a row per run), and the
# ratios at the end of the log.
#   tests/guest/run.sh bench-gather
# guest-manual: a benchmark of several minutes; run it by name
# guest-timeout: 1800
set -u -o pipefail
. /share/guest/lib.sh

runtime=10
jobs=("randread 4k 32" "randwrite 4k 32" "read 128k 16")
tsv=$GT_RESULTS/bench.tsv
printf 'phase\tlun\tjob\tiops\n' >"$tsv"

# run PHASE LUN DEV RW BS QD: one fio run, its IOPS appended to bench.tsv.
run() {
    local json=$GT_RESULTS/fio-$1-$2-$4-$5-$6.json
    fio --name=x --filename="$3" --ioengine=libaio --direct=1 --rw="$4" --bs="$5" --iodepth="$6" \
        --norandommap --randrepeat=0 --time_based --runtime=$runtime --output-format=json \
        --output="$json" || gt_fail "fio $4 $5 $6 on $2 failed"
    python3 - "$1" "$2" "$4-$5-$6" "$json" >>"$tsv" <<'PY' || gt_fail "cannot read fio's $json"
import json, sys
phase, lun, job, path = sys.argv[1:5]
j = json.load(open(path))["jobs"][0]
if j["error"]:
    sys.exit(f"fio error {j['error']}")
print(f"{phase}\t{lun}\t{job}\t{j['read']['iops'] + j['write']['iops']:.0f}")
PY
}

# phase NAME: every job twice per side, fileio first, then user:file first.
phase() {
    local j
    for j in "${jobs[@]}"; do
        read -r rw bs qd <<<"$j"
        run "$1" fileio "$d_io" "$rw" "$bs" "$qd"
        run "$1" file "$d_file" "$rw" "$bs" "$qd"
        run "$1" file "$d_file" "$rw" "$bs" "$qd"
        run "$1" fileio "$d_io" "$rw" "$bs" "$qd"
    done
}

# restart_with ARGS: the daemon again with ARGS; the LUN is back once it answers TEST UNIT READY.
restart_with() {
    gt_daemon_stop
    export GT_DAEMON_ARGS=$1
    gt_daemon_start
    gt_wait 60 "TEST UNIT READY on $d_file" gt_dev_tur "$d_file"
    fio --name=warm --filename="$d_file" --ioengine=libaio --direct=1 --rw=randread --bs=4k \
        --iodepth=4 --runtime=2 --time_based >/dev/null || gt_fail "warm-up after the restart failed"
}

gt_prepare_backstore user:file
gt_backstore_create fileio bgfileio 256M
gt_loop_export "$GT_BS"
d_io=$GT_DEV
gt_backstore_create user:file bgfile 256M hw_max_sectors=1024
gt_loop_export "$GT_BS"
d_file=$GT_DEV
for d in "$d_io" "$d_file"; do
    fio --name=fill --filename="$d" --ioengine=libaio --direct=1 --rw=write --bs=1m --iodepth=8 \
        >/dev/null || gt_fail "fill of $d failed"
done

gt_step "phase 1: gathering at the default window"
phase default-1
gt_step "phase 2: gathering off"
restart_with "--gather-us 0"
phase off
gt_step "phase 3: gathering at the default window again"
restart_with ""
phase default-2

python3 - "$tsv" <<'PY'
import collections, csv, statistics, sys
runs = collections.defaultdict(list)
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    runs[(r["phase"], r["job"], r["lun"])].append(int(r["iops"]))
phases = list(dict.fromkeys(p for p, _, _ in runs))
for job in dict.fromkeys(j for _, j, _ in runs):
    ratios = [f"{p} {statistics.mean(runs[(p, job, 'file')]) / statistics.mean(runs[(p, job, 'fileio')]):.2f}"
              for p in phases]
    print(f"user:file / fileio, {job}: " + ", ".join(ratios))
PY
gt_step pass
