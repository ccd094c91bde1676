#!/bin/bash
# Kernel-only look at a TCM-User device (no handler needed): create user_0/probe through configfs,
# enable it, record its attributes and its UIO map (mailbox + ring + data area size), remove it.
# Records everything in the log for the daemon's authors; asserts the layout the daemon relies on.
# guest-timeout: 180
set -u -o pipefail  # "cmd | tee f || gt_fail" must see cmd's failure
. /share/guest/lib.sh
hba=/sys/kernel/config/target/core/user_0
dev=$hba/probe
mkdir -p "$dev" || gt_fail "mkdir $dev"
echo "dev_config=file//var/tmp/gt/probe.img" >"$dev/control" || gt_fail "control dev_config"
echo "dev_size=$((64 << 20))" >"$dev/control" || gt_fail "control dev_size"
echo 1 >"$dev/enable" || gt_fail "enable"
gt_step "attributes of $dev"
for f in "$dev"/attrib/* "$dev/info" "$dev"/action/*; do
    [[ -r $f ]] && printf '%s = %s\n' "${f#"$dev"/}" "$(tr '\n' ' ' <"$f" 2>/dev/null)"
done | tee "$GT_RESULTS/attrib.txt"
uio=$(grep -l "tcm-user/0/probe/file/" /sys/class/uio/uio*/name | head -1)
[[ -n $uio ]] || gt_fail "no UIO device appeared for probe"
u=$(dirname "$uio")
gt_step "UIO $(basename "$u")"
for f in name version maps/map0/name maps/map0/size maps/map0/addr maps/map0/offset; do
    printf '%s = %s\n' "$f" "$(cat "$u/$f")"
done | tee "$GT_RESULTS/uio.txt"
gt_check "UIO name tcm-user/0/probe/file//var/tmp/gt/probe.img" \
    grep -qx 'tcm-user/0/probe/file//var/tmp/gt/probe.img' "$u/name"
size=$(($(cat "$u/maps/map0/size")))
gt_info "map0 size $size bytes ($((size >> 20)) MiB)"
((size > 0)) || gt_fail "map0 size 0"
gt_check "/dev/$(basename "$u") exists" test -c "/dev/$(basename "$u")"
# Read the mailbox header through the map (python mmap of exactly map0 size).
python3 - "/dev/$(basename "$u")" "$size" <<'PY' | tee "$GT_RESULTS/mailbox.txt" || gt_fail "mailbox read"
import mmap, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, int(sys.argv[2]), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
version, flags, cmdr_off, cmdr_size, cmd_head = struct.unpack_from("<HHIII", m, 0)
cmd_tail, = struct.unpack_from("<I", m, 64)
print(f"mailbox version={version} flags={flags:#x} cmdr_off={cmdr_off} cmdr_size={cmdr_size} "
      f"({cmdr_size >> 10} KiB) cmd_head={cmd_head} cmd_tail={cmd_tail} "
      f"data_area={int(sys.argv[2]) - cmdr_off - cmdr_size} bytes")
assert version == 2, version
assert cmdr_off == 128, cmdr_off
m.close(); os.close(fd)
PY
rmdir "$dev" || gt_fail "rmdir $dev"
[[ -e $u ]] && gt_fail "UIO device $u still there after rmdir"
gt_step "pass"
