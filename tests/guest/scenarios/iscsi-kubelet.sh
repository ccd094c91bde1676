#!/bin/bash
# iSCSI the way the kubelet's iscsi volume plugin uses it: target on 127.0.0.1:3260 with an ACL
# for the initiator name and CHAP; iscsid sendtargets discovery, CHAP on the node record, login
# (a wrong password is refused: checked through libiscsi), mkfs.xfs, mount, files with checksums, umount, logout, login
# again: files intact.
#   iscsi-kubelet.sh [BACKSTORE]   default user:glfs
# guest-timeout: 900
# guest-needs: gluster
set -u
. /share/guest/lib.sh
bs_kind=${1:-user:glfs}
iqn=iqn.2025-01.org.gluster-tcmu:kubelet
mnt=/mnt/gt-kubelet
manifest=$GT_RESULTS/files.sha256

gt_step "backstore $bs_kind, 512 MiB (mkfs.xfs needs >= 300 MiB)"
gt_prepare_backstore "$bs_kind"
gt_backstore_create "$bs_kind" kubelet 512M
gt_step "iSCSI target $iqn on 127.0.0.1:3260, ACL $GT_INITIATOR, CHAP"
gt_iscsi_export "$GT_BS" "$iqn" chap
targetcli ls "/iscsi/$iqn" | tee "$GT_RESULTS/target.txt"

# The refusal is checked with libiscsi's initiator, as the ACL's initiator name: the
# kernel initiator's cleanup after a refused login oopsed this guest's 6.1 kernel once
# (NULL dereference in iscsi_sw_tcp_release_conn, CI at cff269c), and what is under test
# here is the target's answer. The right password through the same client must work.
gt_step "login with a wrong CHAP password is refused, the right one accepted (libiscsi)"
url=iscsi://$GT_CHAP_USER%wrongpassword12@127.0.0.1:3260/$iqn/0
timeout 60 iscsi-inq -i "$GT_INITIATOR" "$url" >"$GT_RESULTS/inq-wrong.txt" 2>&1 &&
    gt_fail "login with a wrong CHAP password succeeded"
grep -q "Authentication failure" "$GT_RESULTS/inq-wrong.txt" ||
    gt_fail "the login failed, but not on CHAP: $(head -3 "$GT_RESULTS/inq-wrong.txt")"
gt_info "ok: refused ($(head -1 "$GT_RESULTS/inq-wrong.txt"))"
url=iscsi://$GT_CHAP_USER%$GT_CHAP_PASS@127.0.0.1:3260/$iqn/0
timeout 60 iscsi-inq -i "$GT_INITIATOR" "$url" >"$GT_RESULTS/inq-right.txt" 2>&1 ||
    gt_fail "libiscsi login with the right CHAP password failed: $(head -3 "$GT_RESULTS/inq-right.txt")"
gt_info "ok: accepted ($(grep -m1 -i 'vendor' "$GT_RESULTS/inq-right.txt"))"

gt_step "discovery + CHAP login"
gt_iscsi_login "$iqn"
dev=$(readlink -f "$GT_DEV")
gt_step "mkfs.xfs $dev, mount, write files"
mkfs.xfs -f -q "$dev" || gt_fail "mkfs.xfs $dev"
mkdir -p "$mnt"
mount "$dev" "$mnt" || gt_fail "mount $dev"
for i in $(seq 1 12); do
    head -c $(((i * 331) % 2048 + 64))K /dev/urandom >"$mnt/file$i.bin" || gt_fail "write file$i"
done
mkdir -p "$mnt/dir/sub" && echo "hello from the kubelet scenario" >"$mnt/dir/sub/hello.txt"
(cd "$mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$manifest"
gt_info "$(wc -l <"$manifest") files, $(du -sh "$mnt" | cut -f1)"
sync
umount "$mnt" || gt_fail "umount"
gt_step "logout"
gt_iscsi_logout "$iqn"
[[ -e $GT_DEV ]] && { sleep 3; [[ -e $GT_DEV ]] && gt_fail "$GT_DEV still there after logout"; }
gt_step "login again, files intact"
gt_iscsi_login "$iqn"
dev=$(readlink -f "$GT_DEV")
mount "$dev" "$mnt" || gt_fail "mount after re-login"
(cd "$mnt" && sha256sum --quiet -c "$manifest") || gt_fail "checksums differ after logout/login"
gt_info "ok: $(wc -l <"$manifest") files verified"
umount "$mnt" || gt_fail "umount"
gt_iscsi_logout "$iqn"
gt_step "pass"
