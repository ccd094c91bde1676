#!/bin/bash
# conformance (libiscsi iscsi-test-cu SCSI family) on a gluster-tcmu user:glfs LUN (replica-3
# volume on loopback), against the LIO fileio baseline of the same run.
# guest-timeout: 2400
# guest-needs: gluster
exec /bin/bash "$(dirname "$0")/conformance.sh" user:glfs "$@"
