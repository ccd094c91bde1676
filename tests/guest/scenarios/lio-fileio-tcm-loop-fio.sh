#!/bin/bash
# Harness proof: tcm-loop-fio on LIO's in-kernel fileio backstore (must pass).
# guest-timeout: 900
exec /bin/bash "$(dirname "$0")/tcm-loop-fio.sh" fileio "$@"
