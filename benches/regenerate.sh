#!/bin/bash
# Regenerates docs/BENCHMARKS.md, docs/benchmarks.json and docs/benchmarks-iops-vs-qd.png:
#
#   benches/regenerate.sh [--quick] [--runtime S] [--ext4 PATH] [--reactors N] [--glfs]
#                         [--guest-results DIR] [--only SECTION,...]
#
# Records the machine, then runs the dataplane and file_backstore criterion benches,
# benches/file-vs-fio.sh (tmpfs, and PATH with --ext4), examples/many_luns, and with --glfs
# examples/glfs_fio beside fio's gfapi_async engine on a loopback volume (tests/gluster/setup.sh
# makes it); --guest-results reads the bench-fio guest scenario's results. Sections not run
# this time keep their previous figures (docs/benchmarks.json). Details: --help.
#
# This wrapper installs what is missing (fio, python3-matplotlib) with apt and runs
# benches/regenerate.py with Debian's python3 (which has matplotlib).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=/usr/bin/python3
[[ -x $py ]] || py=python3
need=()
command -v fio >/dev/null || need+=(fio)
"$py" -c 'import matplotlib' 2>/dev/null || need+=(python3-matplotlib)
if ((${#need[@]})); then
    echo "regenerate.sh: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi
exec "$py" "$repo/benches/regenerate.py" "$@"
