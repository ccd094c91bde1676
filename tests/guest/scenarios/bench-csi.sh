#!/bin/bash
# The CSI driver's benchmark in the guest (docs/BENCHMARKS.md): CreateVolume to a mounted
# filesystem, and 10 CreateVolume at once, through csi-kubelet's set-up. Printed, never asserted.
# guest-manual: a benchmark, not a test
# guest-timeout: 900
# guest-needs: gluster
GT_CSI_PART=bench . /share/guest/scenarios/csi-kubelet.sh
