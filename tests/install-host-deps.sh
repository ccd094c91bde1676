#!/usr/bin/env bash
# Installs the Debian packages the host tier needs, only when something is missing.
# (tests/miri.sh and tests/fuzz.sh install their own pinned nightly toolchain.)
set -euo pipefail
need=()
for pkg in pkg-config dbus python3-gi libxml2-utils systemd libglusterfs-dev strace \
  dpkg-dev lintian man-db groff-base; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
