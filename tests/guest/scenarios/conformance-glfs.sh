#!/bin/bash
# conformance (libiscsi iscsi-test-cu SCSI family) on a gluster-tcmu user:glfs LUN, against
# the LIO fileio baseline of the same run. The volume is one brick of its own (gvc, sharded
# by the block profile like gv0): the suite checks SCSI semantics through gfapi, which
# replication does not change (the fault and restart scenarios use the replica-3 gv0), and
# on replica 3 under emulation it was the tier's longest scenario (500-900 s).
# guest-timeout: 2400
# guest-needs: gluster
export GT_VOLUME=gvc GT_REPLICA=1
/bin/bash "$(dirname "$0")/conformance.sh" user:glfs "$@"
rc=$?
# Its brick would idle through the scenarios after this one.
gluster --mode=script volume stop gvc >/dev/null 2>&1
exit $rc
