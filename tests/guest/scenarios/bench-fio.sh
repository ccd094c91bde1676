#!/bin/bash
# Benchmark, not a test: LIO's in-kernel fileio and gluster-tcmu's user:file on the same tmpfs,
# each exported through tcm_loop, under the same fio jobs; with glusterd running (run.sh
# --gluster) also a user:glfs LUN and fio's gfapi_async engine on the same volume. Then
# user:file at hw_max_sectors 128, 1024 and 8192 under 1 MiB sequential I/O. Passes when every
# fio run completes without error; the figures are only recorded (TCG: compare ratios within
# one run, never absolute numbers). Under TCG one 20 s run of a job moves by 10-40 % from run
# to run (three bricks share two emulated CPUs), so each compared job runs $rounds times,
# alternating between the two sides, and the tables take the median. Results:
# fio-<lun>-<job>[-r<round>].json, bench.tsv (a row per run), luns.tsv;
# benches/regenerate.sh --guest-results DIR turns them into tables.
#   tests/guest/run.sh bench-fio               # fileio, user:file, hw_max_sectors sweep
#   tests/guest/run.sh --gluster bench-fio     # ... plus user:glfs and gfapi_async
# guest-manual: a benchmark of several minutes; run it by name
# guest-timeout: 1800
set -u -o pipefail
. /share/guest/lib.sh

runtime=10           # seconds per timed job
rounds=3             # runs of each compared job per side, alternating sides
size=256M            # fileio and user:file LUNs (tmpfs /var/tmp/gt holds 1.5 GiB)
glfs_size=64M        # replica 3 under TCG writes at a few MiB/s
hw_default=1024      # hw_max_sectors of the main user:file LUN (see docs/BENCHMARKS.md)
# The fill of a fresh LUN is recorded as fill-1m-8 and not compared with fileio: in this guest
# any user-space writer (fio psync or io_uring straight on the tmpfs file included) fills fresh
# tmpfs pages at a fifth of the rate it overwrites them, and fileio writes from the kernel.
# write-1m-8 is the timed overwrite that follows.
jobs=("write 1m 8" "randread 4k 32" "randwrite 4k 32" "read 128k 16" "write 128k 16")
printf 'lun\tkind\tjob\trw\tbs\tqd\tiops\tmib_s\tlat_ms\terror\tround\n' >"$GT_RESULTS/bench.tsv"
printf 'lun\tkind\tdevice\thw_max_sectors\tmax_sectors_kb\tmax_hw_sectors_kb\n' >"$GT_RESULTS/luns.tsv"

# bench_record LUN KIND JOB JSON ROUND: one bench.tsv line per fio result.
bench_record() {
    local figures
    figures=$(gt_fio_figures "$4") || return 1
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${3//-/$'\t'}" "$figures" "$5" \
        >>"$GT_RESULTS/bench.tsv"
}

# bench_fio [--job=NAME] [--round=N] LUN KIND RW BS QD [FIO-ARGS...]: one fio job (NAME
# defaults to RW-BS-QD), JSON in fio-LUN-NAME[-rN].json; fails the scenario on any fio error.
# Timed ($runtime s) unless FIO-ARGS give a size.
bench_fio() {
    local job= round=1 suffix=
    [[ $1 == --job=* ]] && { job=${1#--job=}; shift; }
    [[ $1 == --round=* ]] && { round=${1#--round=}; suffix=-r$round; shift; }
    local lun=$1 kind=$2 rw=$3 bs=$4 qd=$5 rc
    shift 5
    job=${job:-$rw-$bs-$qd}
    local json=$GT_RESULTS/fio-$lun-$job$suffix.json
    gt_step "fio $lun ($kind): $rw bs=$bs iodepth=$qd"
    fio --name="$job" --rw="$rw" --bs="$bs" --iodepth="$qd" --norandommap --randrepeat=0 \
        --output-format=json --output="$json" "$@"
    rc=$?
    gt_fio_summary "$json"
    ((rc == 0)) || gt_fail "fio $job on $lun exited $rc"
    grep -q '"error" : 0' "$json" || gt_fail "fio $job on $lun reported an error"
    bench_record "$lun" "$kind" "$job" "$json" "$round" || gt_fail "cannot read $json"
}

declare -A dev_of=() # LUN -> /dev/sdX
gfapi=()             # fio's target arguments for the gfapi_async side (set below)

# target_args LUN RW: fio's target arguments for LUN into the array targs. The user:glfs LUN
# reports a write cache (the daemon's default), so a write is answered once every brick has
# it, unsynced; gfapi_async with --direct=1 on a volume with strict-o-direct does the same.
target_args() {
    if [[ $1 == gfapi ]]; then
        targs=("${gfapi[@]}")
    else
        targs=(--filename="${dev_of[$1]}" --ioengine=libaio --direct=1 --size=100%)
    fi
}

# bench_fill LUN KIND: the first write of every block (1 MiB at depth 8, so later reads hit
# data), recorded as fill-1m-8.
bench_fill() {
    target_args "$1" write
    bench_fio --job=fill-1m-8 "$1" "$2" write 1m 8 "${targs[@]}"
}

# bench_pair LUN_A KIND_A LUN_B KIND_B: every job $rounds times on each side, the sides in
# turn (A B, B A, A B, ...), so a slow stretch of the emulated machine, or a job that warms up
# from one run to the next (glfs reads do), hits both sides alike.
bench_pair() {
    local j rw bs qd r side lun kind order
    for j in "${jobs[@]}"; do
        read -r rw bs qd <<<"$j"
        for ((r = 1; r <= rounds; r++)); do
            order=("$1 $2" "$3 $4")
            ((r % 2 == 0)) && order=("$3 $4" "$1 $2")
            for side in "${order[@]}"; do
                read -r lun kind <<<"$side"
                target_args "$lun" "$rw"
                bench_fio --round="$r" "$lun" "$kind" "$rw" "$bs" "$qd" "${targs[@]}" \
                    --time_based --runtime="$runtime"
            done
        done
    done
}

# bench_lun LUN KIND SIZE [PARAMS...]: create, export through tcm_loop, record queue limits.
bench_lun() {
    local lun=$1 kind=$2 sz=$3 q
    shift 3
    gt_backstore_create "$kind" "$lun" "$sz" "$@"
    gt_loop_export "$GT_BS"
    q=/sys/block/$(basename "$GT_DEV")/queue
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$lun" "$kind" "$GT_DEV" \
        "$(cat /sys/kernel/config/target/core/*/"$lun"/attrib/hw_max_sectors 2>/dev/null | head -1)" \
        "$(cat "$q/max_sectors_kb")" "$(cat "$q/max_hw_sectors_kb")" >>"$GT_RESULTS/luns.tsv"
}

gt_step "fio $(fio --version); engines: $(fio --enghelp 2>&1 | tr -s ' \t\n' ' ' | cut -c1-200)"
gt_prepare_backstore user:file

bench_lun bfileio fileio "$size"
dev_of[bfileio]=$GT_DEV
bench_lun bfile user:file "$size" hw_max_sectors="$hw_default"
dev_of[bfile]=$GT_DEV
bench_fill bfileio fileio
bench_fill bfile user:file
bench_pair bfileio fileio bfile user:file

# hw_max_sectors: 128 (the kernel's default: every request above 64 KiB is split), the
# recommended value, and 8192 (4 MiB, the most one command can carry through the data path).
for hw in 128 "$hw_default" 8192; do
    lun=bhw$hw
    if [[ $hw == "$hw_default" ]]; then
        lun=bfile
    else
        bench_lun "$lun" user:file 128M hw_max_sectors="$hw"
        dev_of[$lun]=$GT_DEV
        bench_fill "$lun" user:file
        target_args "$lun" write
        bench_fio "$lun" user:file write 1m 8 "${targs[@]}" --time_based --runtime="$runtime"
    fi
    target_args "$lun" read
    bench_fio "$lun" user:file read 1m 8 "${targs[@]}" --time_based --runtime="$runtime"
done

if gt_glusterd_running && gluster --mode=script volume info "$GT_VOLUME" >/dev/null 2>&1; then
    fio --enghelp 2>&1 | grep -qw gfapi_async || gt_fail "this fio has no gfapi_async engine"
    # O_DIRECT like the glfs backstore's own open (else gfapi's write-behind acknowledges
    # writes before the bricks have them).
    gfapi=(--ioengine=gfapi_async --volume="$GT_VOLUME" --brick="$GT_GLUSTER_HOST"
        --filename=bench-gfapi.img --size="$glfs_size" --direct=1)
    bench_lun bglfs user:glfs "$glfs_size" hw_max_sectors="$hw_default"
    dev_of[bglfs]=$GT_DEV
    bench_fill bglfs user:glfs
    bench_fill gfapi gfapi_async
    bench_pair bglfs user:glfs gfapi gfapi_async
else
    gt_info "glusterd not running (run.sh --gluster): no user:glfs / gfapi_async comparison"
fi

gt_step "results"
cat "$GT_RESULTS/luns.tsv"
cat "$GT_RESULTS/bench.tsv"
gt_step "pass"
