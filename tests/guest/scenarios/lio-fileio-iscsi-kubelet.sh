#!/bin/bash
# Harness proof: iscsi-kubelet on LIO's in-kernel fileio backstore (must pass).
# guest-timeout: 900
exec /bin/bash "$(dirname "$0")/iscsi-kubelet.sh" fileio "$@"
