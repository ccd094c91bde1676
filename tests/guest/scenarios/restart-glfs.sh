#!/bin/bash
# restart on a gluster-tcmu user:glfs LUN (replica-3 volume on loopback): kill -9 during fio
# write-verify, restart, fio completes and verifies; then a restart while the volume is
# stopped: BUSY until it starts again, fio completes and verifies.
# guest-timeout: 900
# guest-needs: gluster
exec /bin/bash "$(dirname "$0")/restart.sh" user:glfs "$@"
