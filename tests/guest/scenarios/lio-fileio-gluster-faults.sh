#!/bin/bash
# Harness proof for the gluster fault machinery: LIO fileio on a file in the FUSE-mounted
# replica-3 volume survives a killed brick (must pass). The volume-stop phase is left out: the
# FUSE client returns ENOTCONN while the volume is stopped, and fileio passes that on as an I/O
# error -- riding that out is exactly what gluster-tcmu must do better.
# guest-manual: a control of LIO's own fileio, not of gluster-tcmu (gluster-faults asserts the same faults on the daemon); run it by name to compare
# guest-timeout: 900
# guest-needs: gluster
exec /bin/bash "$(dirname "$0")/gluster-faults.sh" fileio-fuse brick-kill
