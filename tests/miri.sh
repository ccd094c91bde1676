#!/usr/bin/env bash
# The pure, syscall-free modules under miri, which checks every memory access of their
# tests (out-of-bounds, uninitialised reads, aliasing, data races): the ring protocol
# (including the command-ring writer the fake kernel uses), the SCSI emulation, the shared
# region on a heap buffer, the slab and the reactor's gathering rule, tag layout and slot
# states. Installs the pinned nightly toolchain with miri if it is missing.
#   tests/miri.sh
set -euo pipefail
cd "$(dirname "$0")/.."
toolchain=nightly-2026-05-20
if ! rustup run "$toolchain" cargo miri --version >/dev/null 2>&1; then
  rustup toolchain install "$toolchain" --profile minimal --component miri,rust-src
fi
# Proptest's failure persistence reads the working directory (isolation off for that);
# miri runs each case some thousand times slower, so a few cases per property.
export MIRIFLAGS=-Zmiri-disable-isolation PROPTEST_CASES=4
cargo "+$toolchain" miri setup
# Filters match anywhere in a test's path, so `ring::` also matches `cfgstring::`, which
# is pure too but whose file check calls access(2): skipped.
cargo "+$toolchain" miri test --lib -- ring:: testing::cmd_ring scsi:: region:: slab:: reactor::gather reactor::tag reactor::slot --skip cfgstring::
