#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (each under libFuzzer with AddressSanitizer), each
# from its committed corpus when it has one. New inputs go to a scratch directory, so the
# committed corpus changes only when someone copies a finding in (with its test). Installs
# the pinned nightly toolchain and cargo-fuzz if they are missing.
#   tests/fuzz.sh                    every target for 5 seconds, built without optimizations: the
#                                    host tier's smoke run, to catch a broken target
#   FUZZ_RUNS=10000000 FUZZ_SECS=3600 tests/fuzz.sh cfg_string
#                                    a long run: stops at FUZZ_RUNS executions or
#                                    FUZZ_SECS seconds, whichever comes first
# A crash leaves its input in fuzz/artifacts/TARGET/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
toolchain=nightly-2026-05-20
secs=${FUZZ_SECS:-5}
runs=${FUZZ_RUNS:--1}
# The smoke run builds without optimizations: it only has to show that every target
# builds and runs, and that build takes half as long (4 min against 8.8 on a loaded
# 2-core machine). A long run (FUZZ_SECS or FUZZ_RUNS given) builds optimized.
build=(--dev)
[[ -z ${FUZZ_SECS:-}${FUZZ_RUNS:-} ]] || build=(--release)
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$toolchain" --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cd fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo "+$toolchain" fuzz list)
cargo "+$toolchain" fuzz build "${build[@]}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  dirs=("$scratch/$target")
  [ -d "corpus/$target" ] && dirs+=("corpus/$target")
  echo "fuzz: $target for up to ${secs}s"
  cargo "+$toolchain" fuzz run "${build[@]}" "$target" "${dirs[@]}" -- \
    -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
