#!/bin/bash
# PID 1 of the test guest (exec'd by /sbin/gt-init from the image after it mounted the 9p share
# on /share). Reads /share/run.conf written by tests/guest/run.sh:
#   GT_SCENARIOS="name:script:timeout ..."   scenarios to run, in order
#   GT_NEED_GLUSTER=0|1                       start glusterd + create the volume first (exported)
#   GT_MODE=run|shell                         shell: interactive bash on the console at the end
#   GT_GUEST_DIR=_guest                       where this boot's own results go, under results/
#   GT_LINK_ADDR=198.18.0.1/24                a pair boot: this guest's address on the link NIC
#   GT_ROLE=peer                              the pair's peer guest: runs pair-peer.sh, no scenarios
# A pair's peer guest reads /share/peer.conf instead (kernel argument gt.conf=peer.conf).
# Results: /share/results/<scenario>/{status,log,seconds,reason}, /share/results/_guest/*.
# In a boot with systemd as PID 1 (a "# guest-init: systemd" scenario) the image's
# gt-run.service runs this script once the system is up: systemd has mounted /dev, /run and
# /tmp and runs udev and the system bus, and the scenario installs the package with its own
# D-Bus policy, so all of that is left alone here.
# Ends the guest with sysrq (a dead handler makes a normal poweroff hang).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=${TERM:-linux}
umask 022

gt_poweroff() {
    sync
    echo "gt-init: powering off"
    echo 1 >/proc/sys/kernel/sysrq 2>/dev/null
    echo o >/proc/sysrq-trigger
    sleep 10
    echo b >/proc/sysrq-trigger
}
trap gt_poweroff EXIT

conf=$(sed -n 's/.*\bgt\.conf=\([^ ]*\).*/\1/p' /proc/cmdline)
# shellcheck source=/dev/null
. "/share/${conf:-run.conf}"
# A pair scenario reads where the peer is and where its results go.
export GT_LINK_ADDR GT_PEER_ADDR GT_PEER_DIR
# A scenario that can use the volume when the boot has one (systemd) reads this.
export GT_NEED_GLUSTER
R=/share/results
G=$R/${GT_GUEST_DIR:-_guest}
mkdir -p "$G"
under_systemd=0
[[ $$ != 1 && -d /run/systemd/system ]] && under_systemd=1
boot_s=$(cut -d' ' -f1 /proc/uptime)
echo "gt-init: kernel $(uname -r), init reached at ${boot_s}s after kernel start"
echo "$boot_s" >"$G/boot-seconds"

if ((!under_systemd)); then
    mount -t devtmpfs devtmpfs /dev 2>/dev/null
    mkdir -p /dev/pts /dev/shm
    mount -t devpts devpts /dev/pts
    mount -t tmpfs tmpfs /dev/shm
    mount -t tmpfs -o mode=755 tmpfs /run
    mount -t tmpfs tmpfs /tmp
fi
mount -o remount,rw /
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config 2>/dev/null || {
    modprobe configfs
    mount -t configfs configfs /sys/kernel/config
}
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /run/lock /run/dbus /var/tmp/gt
# Image files for fileio and user:file live in RAM: O_DSYNC writes on the guest's ext4 (over a
# qcow2 snapshot under TCG) cost ~200 ms each, which measures QEMU, not the stack.
mount -t tmpfs -o size=1536m tmpfs /var/tmp/gt
hostname "${GT_HOSTNAME:-gt-guest}"
ip link set lo up

echo "gt-init: modprobe target modules"
for m in configfs uio target_core_mod target_core_user target_core_file target_core_iblock \
    tcm_loop iscsi_target_mod iscsi_tcp sg fuse; do
    modprobe "$m" || echo "gt-init: modprobe $m FAILED"
done
{
    uname -a
    for m in configfs uio target_core_mod target_core_user target_core_file tcm_loop iscsi_target_mod; do
        [[ -d /sys/module/$m ]] && echo "module $m: loaded" || echo "module $m: MISSING"
    done
    for p in /sys/module/target_core_user/parameters/*; do echo "$p = $(cat "$p" 2>/dev/null)"; done
} >"$G/kernel.txt" 2>&1

echo "gt-init: udev"
((under_systemd)) || /lib/systemd/systemd-udevd --daemon
udevadm trigger && udevadm settle -t 60

# A pair boot: the link to the other guest is this guest's only NIC (virtio-net; QEMU carries
# its frames over the host's loopback), whatever udev named it.
if [[ -n ${GT_LINK_ADDR:-} ]]; then
    modprobe virtio_net
    udevadm settle -t 30
    nic=$(ls /sys/class/net | grep -vx lo | head -1)
    if [[ -n $nic ]] && ip addr add "$GT_LINK_ADDR" dev "$nic" && ip link set "$nic" up; then
        echo "gt-init: link $nic $GT_LINK_ADDR"
    else
        echo "gt-init: link: no NIC for $GT_LINK_ADDR ($(ls /sys/class/net))"
    fi
fi

# start_dbus: the system bus with a policy for the daemon carried in on the share (not the
# package's): root may own org.kernel.TCMUService1, anyone may call it (as tcmu-runner's policy).
start_dbus() {
    cat >/etc/dbus-1/system.d/org.kernel.TCMUService1.conf <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root">
    <allow own="org.kernel.TCMUService1"/>
    <allow send_destination="org.kernel.TCMUService1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.kernel.TCMUService1"/>
  </policy>
</busconfig>
EOF
    echo "gt-init: dbus"
    dbus-daemon --system --fork
}

if ((under_systemd)); then
    export GT_BIN=/usr/bin/gluster-tcmu
else
    start_dbus
    export GT_BIN=/share/bin/gluster-tcmu
    ln -sf "$GT_BIN" /usr/local/bin/gluster-tcmu
fi
targetcli set global auto_save_on_exit=false >/dev/null 2>&1
# The pair's peer: a gateway and nothing else, until the host kills its QEMU.
if [[ ${GT_ROLE:-} == peer ]]; then
    GT_RESULTS=$G exec /bin/bash /share/guest/pair-peer.sh >>"$G/peer.log" 2>&1
fi

if [[ ${GT_NEED_GLUSTER:-0} == 1 ]]; then
    t=$(date +%s)
    (
        export GT_RESULTS=$G
        # shellcheck source=lib.sh
        . /share/guest/lib.sh
        gt_gluster_start
        echo $(($(date +%s) - t)) >"$G/glusterd-seconds"
        t2=$(date +%s)
        gt_volume_create
        echo $(($(date +%s) - t2)) >"$G/volume-seconds"
        gluster --mode=script volume info
    ) >"$G/gluster.log" 2>&1 && echo ok >"$G/gluster-status" || echo fail >"$G/gluster-status"
    echo "gt-init: gluster $(cat "$G/gluster-status") in $(($(date +%s) - t))s"
fi
echo "$(cut -d' ' -f1 /proc/uptime)" >"$G/ready-seconds"

for entry in $GT_SCENARIOS; do
    IFS=: read -r name script limit arg <<<"$entry"
    d=$R/$name
    mkdir -p "$d"
    echo "gt-init: scenario $name (limit ${limit}s)"
    echo running >"$d/status"
    t=$(date +%s)
    (
        cd /tmp || exit 1
        export GT_RESULTS=$d GT_SCENARIO=$name
        exec timeout -k 10 "$limit" /bin/bash "/share/guest/$script" $arg
    ) >"$d/log" 2>&1 </dev/null
    rc=$?
    s=$(($(date +%s) - t))
    ((rc == 124 || rc == 137)) && echo "timed out after ${limit}s" >>"$d/reason"
    [[ $rc == 0 ]] && st=pass || st=fail
    echo "$rc" >"$d/rc"
    if [[ $st == fail ]]; then
        # What the kernel and gfapi said around the failure, for the host to print.
        dmesg | tail -40 >"$d/dmesg-tail.txt"
        tail -200 /var/log/gluster-tcmu/gfapi.log >"$d/gfapi-tail.log" 2>/dev/null
    fi
    echo "$s" >"$d/seconds"
    echo "$st" >"$d/status"
    echo "gt-init: scenario $name: $st (rc $rc, ${s}s)"
    (
        export GT_RESULTS=$d
        . /share/guest/lib.sh
        gt_cleanup_all
    ) >>"$d/cleanup.log" 2>&1
    sync
done

dmesg >"$G/dmesg.txt"
((under_systemd)) && journalctl -b --no-pager >"$G/journal.txt" 2>&1
touch "$G/done"
if [[ ${GT_MODE:-run} == shell ]]; then
    echo "gt-init: interactive shell (lib: . /share/guest/lib.sh; exit powers off)"
    cd /root || true
    setsid -c /bin/bash -l </dev/ttyS0 >/dev/ttyS0 2>&1
fi
exit 0
