#!/bin/bash
# The file backstore beside fio's io_uring engine, on the same file, same patterns, queue
# depths, block sizes and runtime, one after the other:
#
#   benches/file-vs-fio.sh [--runtime S] [--size-mib N] [--direct] [--out DIR] [PATH]
#
#   PATH         file or directory to test on (default: /dev/shm, a tmpfs); a directory
#                gets a file gt-file-vs-fio.img, filled with zeroes first and removed after
#   --runtime S  seconds per run (default 10)
#   --size-mib N file size (default 1024)
#   --direct     O_DIRECT in both (fio direct=1, file_bench --direct); not on tmpfs
#   --out DIR    keep fio's JSON, file_bench's lines and file-vs-fio.tsv there
#                (default target/bench-results/file-vs-fio-<timestamp>)
#
# Cases: 4k randread QD1/32/128, 4k randwrite QD32, 128k read QD16, 128k write QD16.
# Prints a Markdown table: pattern, qd, bs, fio IOPS, gluster-tcmu IOPS, ratio, and the CPU time
# each command used (all threads, io_uring's workers included) in percent of one core.
#
# What the ratio means: fio submits to io_uring from one thread; gluster-tcmu's side is
# examples/file_bench: the fake kernel (one thread, copying data into and out of the data
# area as target_core_user does) and a reactor thread running the device, whose file
# backstore submits to its own io_uring. So the ratio measures our dataplane plus
# io_uring plus that memcpy, against io_uring alone.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runtime=10
size_mib=1024
direct=0
out=
path=/dev/shm
while (($#)); do
    case $1 in
        --runtime) runtime=$2; shift ;;
        --size-mib) size_mib=$2; shift ;;
        --direct) direct=1 ;;
        --out) out=$2; shift ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
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
printf 'pattern\tqd\tbs\tfio_iops\tgt_iops\tratio\tfio_cpu\tgt_cpu\n' >"$tsv"
echo "file-vs-fio.sh: $file ($fstype, $size_mib MiB, direct=$direct), ${runtime}s per run; raw results in $out" >&2
for c in "${cases[@]}"; do
    read -r pattern bs qd <<<"$c"
    bytes=$(numfmt --from=iec "${bs^^}")
    tag=$pattern-$bs-qd$qd
    cpu_of "$out/fio-$tag.cpu" fio --name="$tag" --filename="$file" --ioengine=io_uring --rw="$pattern" --bs="$bs" \
        --iodepth="$qd" --runtime="$runtime" --time_based --size="${size_mib}m" \
        --direct="$direct" --invalidate=0 --norandommap --randrepeat=0 \
        --output-format=json --output="$out/fio-$tag.json" >/dev/null
    fio=$(fio_iops "$out/fio-$tag.json") || { echo "file-vs-fio.sh: fio $tag failed" >&2; exit 1; }
    fio_cpu=$(cat "$out/fio-$tag.cpu")
    flags=()
    ((direct)) && flags+=(--direct)
    cpu_of "$out/gt-$tag.cpu" "$bin" --file "$file" --size-mib "$size_mib" --pattern "$pattern" --bs "$bytes" --qd "$qd" \
        --runtime "$runtime" "${flags[@]}" | tee "$out/gt-$tag.txt" >&2
    gt=$(sed -n 's/.* iops=\([0-9]*\).*/\1/p' "$out/gt-$tag.txt")
    gt_cpu=$(cat "$out/gt-$tag.cpu")
    ratio=$(python3 -c "print(f'{$gt / $fio:.2f}' if $fio else '-')")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pattern" "$qd" "$bs" "$fio" "$gt" "$ratio" \
        "$fio_cpu" "$gt_cpu" >>"$tsv"
done

echo "File $file ($fstype), ${runtime} s per run, direct=$direct:"
echo
python3 - "$tsv" <<'EOF'
import csv, sys
print("| pattern | qd | bs | fio io_uring IOPS | gluster-tcmu IOPS | ratio | fio CPU % | gluster-tcmu CPU % |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    print(f"| {r['pattern']} | {r['qd']} | {r['bs']} | {int(r['fio_iops']):,} | {int(r['gt_iops']):,} "
          f"| {r['ratio']} | {r['fio_cpu']} | {r['gt_cpu']} |")
EOF
