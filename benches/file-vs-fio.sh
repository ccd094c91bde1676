#!/bin/bash
# The file backstore beside fio's io_uring engine, on the same file, same patterns, queue
# depths, block sizes and runtime, one after the other:
#
#   benches/file-vs-fio.sh [--runtime S] [--size-mib N] [--direct] [--busy-poll-us N]
#                          [--gather-us N] [--repeat N] [--out DIR] [PATH]
#
#   PATH         file or directory to test on (default: /dev/shm, a tmpfs); a directory
#                gets a file gt-file-vs-fio.img, filled with zeroes first and removed after
#   --runtime S  seconds per run (default 10)
#   --size-mib N file size (default 1024)
#   --direct     O_DIRECT in both (fio direct=1, file_bench --direct); not on tmpfs
#   --busy-poll-us N  also run gluster-tcmu with a busy-poll window of N us on the reactor
#                (the fake kernel sleeps, as the real kernel's side does; default 50; 0
#                leaves that run out)
#   --gather-us N  the reactor's gathering window in every gluster-tcmu run (default 100,
#                the daemon's default; 0: off)
#   --repeat N   run every case N times, fio and ours in turn, and report the medians
#                (default 1); a shared, noisy machine needs 3 or more
#   --out DIR    keep fio's JSON, file_bench's lines and file-vs-fio.tsv there
#                (default target/bench-results/file-vs-fio-<timestamp>)
#
# Cases: 4k randread QD1/32/128, 4k randwrite QD32, 128k read QD16, 128k write QD16.
# Prints a Markdown table: pattern, qd, bs, fio IOPS, gluster-tcmu IOPS and ratio (on one
# thread, and with a reactor sleeping when idle or busy polling), and the CPU time each
# command used (all threads, io_uring's workers included) in percent of one core.
#
# What the ratios mean: fio submits to io_uring from one thread; gluster-tcmu's side is
# examples/file_bench, the fake kernel (copying data into and out of the data area as
# target_core_user does) and the device with the file backstore:
#   one thread   file_bench --one-thread, the criterion benches' harness: kernel and device
#                take turns on one thread, the backstore on its own io_uring. Our dataplane
#                plus io_uring plus that memcpy, against io_uring alone.
#   reactor      the device on a reactor thread as in the daemon, the fake kernel on the
#                calling thread: adds the two wake-ups per batch between the two sides.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runtime=10
size_mib=1024
direct=0
busy_poll_us=50
gather_us=100
repeat=1
out=
path=/dev/shm
while (($#)); do
    case $1 in
        --runtime) runtime=$2; shift ;;
        --size-mib) size_mib=$2; shift ;;
        --direct) direct=1 ;;
        --busy-poll-us) busy_poll_us=$2; shift ;;
        --gather-us) gather_us=$2; shift ;;
        --repeat) repeat=$2; shift ;;
        --out) out=$2; shift ;;
        -h | --help) sed -n '2,36p' "$0"; exit 0 ;;
        -*) echo "file-vs-fio.sh: unknown option $1" >&2; exit 2 ;;
        *) path=$1 ;;
    esac
    shift
done
out=${out:-$repo/target/bench-results/file-vs-fio-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"

if ! command -v fio >/dev/null; then
    echo "file-vs-fio.sh: installing fio" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends fio >&2
fi
fio --enghelp 2>/dev/null | grep -qw io_uring || { echo "file-vs-fio.sh: this fio has no io_uring engine" >&2; exit 1; }

bin=$repo/target/release/examples/file_bench
(cd "$repo" && cargo build --release --quiet --features test-utils --example file_bench)

created=0
if [[ -d $path ]]; then
    file=$path/gt-file-vs-fio.img
    created=1
else
    file=$path
fi
cleanup() { ((created)) && rm -f "$file"; return 0; }
trap cleanup EXIT
if [[ ! -f $file ]] || (($(stat -c %s "$file") < size_mib << 20)); then
    echo "file-vs-fio.sh: filling $file ($size_mib MiB)" >&2
    dd if=/dev/zero of="$file" bs=1M count="$size_mib" conv=fsync status=none
fi
fstype=$(findmnt -no FSTYPE -T "$file" 2>/dev/null | tail -1)
fstype=${fstype:-$(stat -f -c %T "$file")}

# fio_iops JSON: IOPS (read + write) of the job; fails on a fio error.
fio_iops() {
    python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
assert j["error"] == 0, "fio error %d" % j["error"]
print(round(j["read"]["iops"] + j["write"]["iops"]))' "$1"
}

# cpu_of FILE CMD...: runs CMD and writes the CPU time (user + system, every thread and child,
# io_uring's workers included) it used, in percent of one core over $runtime, to FILE. The
# same measure for both sides: fio's own usr_cpu/sys_cpu leave out io_uring's workers.
cpu_of() {
    python3 -c '
import resource, subprocess, sys
rc = subprocess.run(sys.argv[3:]).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.0f\n" % (100 * (r.ru_utime + r.ru_stime) / float(sys.argv[2])))
sys.exit(rc)' "$1" "$runtime" "${@:2}"
}

cases=("randread 4k 1" "randread 4k 32" "randread 4k 128" "randwrite 4k 32" "read 128k 16" "write 128k 16")
tsv=$out/file-vs-fio.tsv
printf 'pattern\tqd\tbs\tfio_iops\tgt_iops\tratio\tgt_poll_iops\tpoll_ratio\tfio_cpu\tgt_cpu\tgt_poll_cpu\tgt_one_iops\tone_ratio\tgt_one_cpu\n' >"$tsv"
echo "file-vs-fio.sh: $file ($fstype, $size_mib MiB, direct=$direct), ${runtime}s per run, $repeat round(s), busy poll ${busy_poll_us}us, gathering ${gather_us}us; raw results in $out" >&2

# run_fio TAG PATTERN BS QD: one fio run; prints "IOPS CPU".
run_fio() {
    cpu_of "$out/fio-$1.cpu" fio --name="$1" --filename="$file" --ioengine=io_uring --rw="$2" --bs="$3" \
        --iodepth="$4" --runtime="$runtime" --time_based --size="${size_mib}m" \
        --direct="$direct" --invalidate=0 --norandommap --randrepeat=0 \
        --output-format=json --output="$out/fio-$1.json" >/dev/null
    echo "$(fio_iops "$out/fio-$1.json") $(cat "$out/fio-$1.cpu")"
}

# run_gt TAG PATTERN BYTES QD POLL_US [--one-thread]: one file_bench run; prints "IOPS CPU".
run_gt() {
    local flags=("${@:6}")
    ((direct)) && flags+=(--direct)
    cpu_of "$out/gt-$1.cpu" "$bin" --file "$file" --size-mib "$size_mib" --pattern "$2" --bs "$3" --qd "$4" \
        --runtime "$runtime" --busy-poll-us "$5" --gather-us "$gather_us" "${flags[@]}" | tee "$out/gt-$1.txt" >&2
    echo "$(sed -n 's/.* iops=\([0-9]*\).*/\1/p' "$out/gt-$1.txt") $(cat "$out/gt-$1.cpu")"
}

# median N...: the middle value (lower middle for an even count).
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

for c in "${cases[@]}"; do
    read -r pattern bs qd <<<"$c"
    bytes=$(numfmt --from=iec "${bs^^}")
    base=$pattern-$bs-qd$qd
    f_iops=() f_cpu=() g_iops=() g_cpu=() p_iops=() p_cpu=() o_iops=() o_cpu=()
    for ((r = 1; r <= repeat; r++)); do
        read -r i u < <(run_fio "$base-r$r" "$pattern" "$bs" "$qd") || { echo "file-vs-fio.sh: fio $base failed" >&2; exit 1; }
        f_iops+=("$i") f_cpu+=("$u")
        read -r i u < <(run_gt "$base-one-r$r" "$pattern" "$bytes" "$qd" 0 --one-thread)
        o_iops+=("$i") o_cpu+=("$u")
        read -r i u < <(run_gt "$base-r$r" "$pattern" "$bytes" "$qd" 0)
        g_iops+=("$i") g_cpu+=("$u")
        if ((busy_poll_us > 0)); then
            read -r i u < <(run_gt "$base-poll-r$r" "$pattern" "$bytes" "$qd" "$busy_poll_us")
            p_iops+=("$i") p_cpu+=("$u")
        fi
    done
    fio=$(median "${f_iops[@]}") gt=$(median "${g_iops[@]}") one=$(median "${o_iops[@]}")
    ratio=$(python3 -c "print(f'{$gt / $fio:.2f}' if $fio else '-')")
    one_ratio=$(python3 -c "print(f'{$one / $fio:.2f}' if $fio else '-')")
    poll=- poll_ratio=- poll_cpu=-
    if ((busy_poll_us > 0)); then
        poll=$(median "${p_iops[@]}") poll_cpu=$(median "${p_cpu[@]}")
        poll_ratio=$(python3 -c "print(f'{$poll / $fio:.2f}' if $fio else '-')")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pattern" "$qd" "$bs" "$fio" "$gt" "$ratio" \
        "$poll" "$poll_ratio" "$(median "${f_cpu[@]}")" "$(median "${g_cpu[@]}")" "$poll_cpu" \
        "$one" "$one_ratio" "$(median "${o_cpu[@]}")" >>"$tsv"
done

echo "File $file ($fstype), ${runtime} s per run, direct=$direct:"
echo
python3 - "$tsv" <<'EOF'
import csv, sys
num = lambda v: f"{int(v):,}" if v.isdigit() else v
print("| pattern | qd | bs | fio io_uring IOPS | one thread IOPS | ratio | reactor IOPS | ratio "
      "| reactor busy-poll IOPS | ratio | fio CPU % | one thread CPU % | reactor CPU % | busy-poll CPU % |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    print(f"| {r['pattern']} | {r['qd']} | {r['bs']} | {num(r['fio_iops'])} | {num(r['gt_one_iops'])} "
          f"| {r['one_ratio']} | {num(r['gt_iops'])} | {r['ratio']} | {num(r['gt_poll_iops'])} "
          f"| {r['poll_ratio']} | {r['fio_cpu']} | {r['gt_one_cpu']} | {r['gt_cpu']} | {r['gt_poll_cpu']} |")
EOF
