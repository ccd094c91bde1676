#!/usr/bin/env bash
# Smoke run of the benchmark harnesses, so that a broken one fails the host tier instead
# of the next benches/regenerate.sh: examples/file_bench and examples/glfs_fio, each on a
# reactor thread and on one thread (--one-thread), for a fraction of a second. Each must
# exit 0 and report commands done. Uses the debug builds `cargo test --all-features` made
# and the loopback volume gt1 of tests/gluster/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/debug/examples
[ -x $bin/file_bench ] && [ -x $bin/glfs_fio ] ||
  cargo build --quiet --features glfs,test-utils --example file_bench --example glfs_fio

# check LABEL CMD...: runs CMD, which must print a result line with ios > 0.
check() {
  local label=$1 out; shift
  out=$("$@") || { echo "bench-smoke: $label failed" >&2; exit 1; }
  if ! grep -Eq '^gluster-tcmu-bench .* ios=[1-9][0-9]* ' <<<"$out"; then
    echo "bench-smoke: $label reported no commands done: $out" >&2
    exit 1
  fi
  echo "bench-smoke: $label: $(grep -o 'ios=[0-9]* iops=[0-9]*' <<<"$out")"
}

dir=$(mktemp -d /dev/shm/gt-bench-smoke-XXXX)
trap 'rm -rf "$dir"' EXIT
for mode in "" --one-thread; do
  for pattern in randread write; do
    check "file_bench $pattern ${mode:-reactor}" $bin/file_bench --file "$dir/lun.img" --size-mib 16 \
      --pattern $pattern --bs 4096 --qd 8 --runtime 0.3 $mode
  done
  check "glfs_fio randwrite ${mode:-reactor}" $bin/glfs_fio $mode gt1 127.0.0.2 bench-smoke.img 16 randwrite 4096 8 1
done
