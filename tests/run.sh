#!/usr/bin/env bash
# The project's test command: fast host tier first (so it fails fast), then the
# real-kernel guest tier. Installs what it needs.
#   tests/run.sh            everything
#   tests/run.sh --host     host tier only (lint, unit, fake-kernel integration, proptests)
#   tests/run.sh --guest    guest tier only
set -euo pipefail
cd "$(dirname "$0")/.."

tier=all
case "${1:-}" in
  --host) tier=host ;;
  --guest) tier=guest ;;
  "") ;;
  *) echo "usage: tests/run.sh [--host|--guest]" >&2; exit 2 ;;
esac

# phase NAME: a heading, and how long the previous phase took (CI's budget is the sum).
phase_start=$SECONDS
phase_name=
phase() {
    [[ -z $phase_name ]] || printf '==> %s took %ss\n' "$phase_name" $((SECONDS - phase_start))
    phase_name=$*
    phase_start=$SECONDS
    printf '\n==> %s\n' "$*"
}

if [ "$tier" != guest ]; then
  phase "host prerequisites"
  tests/install-host-deps.sh
  phase "format"
  cargo fmt --all --check
  phase "clippy (the daemon and the CSI driver)"
  cargo clippy --workspace --all-targets --all-features -- -D warnings
  phase "rustdoc (broken intra-doc links, HTML in doc comments)"
  RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features
  phase "module cycles"
  tests/check-module-cycles.py
  phase "systemd unit and D-Bus policy"
  tests/check-systemd.sh
  phase "loopback GlusterFS for the glfs tests"
  tests/gluster/setup.sh
  phase "unit, fake-kernel and gluster tests; the CSI driver's conformance"
  cargo test --workspace --all-features
  phase "benchmark harnesses (smoke)"
  tests/bench-smoke.sh
  phase "Debian package (built from the debug binary, installed into a scratch root)"
  tests/check-package.sh
  phase "fuzz targets (smoke: a few seconds each)"
  tests/fuzz.sh
  phase "miri: ring protocol, SCSI emulation, region, slab, reactor tags, slots and gather rule"
  tests/miri.sh
fi

if [ "$tier" != host ]; then
  phase "release build for the guest (the daemon and the CSI driver)"
  cargo build --release --workspace
  phase "real-kernel guest tier"
  tests/guest/run.sh --binary target/release/gluster-tcmu
fi
printf '==> %s took %ss\n==> passed in %ss\n' "$phase_name" $((SECONDS - phase_start)) "$SECONDS"
