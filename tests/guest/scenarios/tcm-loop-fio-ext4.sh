#!/bin/bash
# tcm-loop-fio on a user:file LUN whose image lives on the guest's ext4 root (a virtio disk)
# instead of tmpfs. On tmpfs the file backstore copies at submission; here its reads and writes
# go through the reactor's io_uring into and out of target_core_user's data area, which only
# the real kernel can prove. Smaller fio jobs: O_DSYNC writes to the emulated disk are slow.
# guest-timeout: 900
set -u -o pipefail
export GT_IMG_DIR=/var/lib/gt-ext4
export GT_FIO_RAND_SIZE=${GT_FIO_RAND_SIZE:-8M} GT_FIO_SEQ_SIZE=${GT_FIO_SEQ_SIZE:-32M}
/bin/bash "$(dirname "$0")/tcm-loop-fio.sh" user:file "$@" || exit
. /share/guest/lib.sh
gt_check "the image is on ext4" test "$(stat -f -c %T "$GT_IMG_DIR")" = ext2/ext3
gt_check "the daemon serves it through io_uring" \
    grep -q "file LUN: reads and writes through io_uring" "$GT_RESULTS/gluster-tcmu.log"
