#!/bin/bash
# The daemon as an admin runs it: systemd is PID 1 and gluster-tcmu comes from its Debian
# package (run.sh builds revisions 1 and 2 of the same binary into /share/deb). Checks:
# Type=dbus readiness (the bus name is owned and targetcli creates a LUN as soon as
# `systemctl start` returns), D-Bus activation (targetcli with the daemon stopped starts it),
# the unit's sandboxing letting every backstore open and write its LUN (user:file under /srv
# and /var/tmp, user:ram, user:glfs when the boot has gluster), Restart=on-failure after a
# kill -9 under fio write-verify, the daemon's lines in the journal, an upgrade to revision 2
# under fio write-verify (restarted, no I/O error), `systemctl stop` while a LUN is in use
# (what the initiator sees is recorded; data written before the stop is intact after the
# start; once for 10 s and once for longer than the LUN's cmd_time_out), and `apt remove`
# keeping the admin's settings file. With --gluster, a user:glfs LUN is checked as well.
# guest-init: systemd
# guest-timeout: 600
# guest-manual: about 5 minutes of guest time in a boot of its own (docs/TESTING.md)
set -u
# user:file images on a tmpfs under /srv (O_DSYNC writes on the guest's ext4 under TCG
# measure QEMU); /var/tmp is checked apart below.
export GT_IMG_DIR=/srv/gt
. /share/guest/lib.sh
mountpoint -q "$GT_IMG_DIR" || mount -t tmpfs -o size=1g tmpfs "$GT_IMG_DIR"
unit=gluster-tcmu.service

main_pid() { systemctl show -p MainPID --value "$unit"; }
restarts() { systemctl show -p NRestarts --value "$unit"; }
unit_active() { [[ $(systemctl is-active "$unit") == active ]]; }
unit_inactive() { [[ $(systemctl is-active "$unit") != active ]]; }
# pid_changed OLD: the unit runs again with a main PID other than OLD.
pid_changed() { unit_active && [[ $(main_pid) != 0 && $(main_pid) != "$1" ]]; }

# fio_start NAME DEV SIZE [FIO-ARGS...]: write-verify in the background, the write phase
# capped at 800 IOPS so that what the test does to the daemon lands in it; sets fio_pid.
fio_start() {
    local name=$1 dev=$2 size=$3
    shift 3
    gt_step "fio randwrite+verify $name on $dev ($size) in the background"
    fio --name="$name" --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite \
        --bs=4k --size="$size" --rate_iops=800 --verify=crc32c --do_verify=1 --verify_fatal=1 \
        --verify_dump=0 --output-format=json --output="$GT_RESULTS/fio-$name.json" "$@" &
    fio_pid=$!
}
# fio_end NAME ACROSS: that fio finished with no error and its verify passed.
fio_end() {
    wait "$fio_pid"
    local rc=$?
    gt_fio_summary "$GT_RESULTS/fio-$1.json"
    ((rc == 0)) || gt_fail "fio $1 exited $rc across $2"
    grep -q '"error" : 0' "$GT_RESULTS/fio-$1.json" || gt_fail "fio $1 reported an I/O error across $2"
    gt_info "ok: fio $1 wrote and verified across $2"
}
# lun_roundtrip DEV FILE: 1 MiB of random data written through DEV reads back the same
# through DEV and, when FILE is given, is what the backing file holds as the rest of the
# system sees it (not a copy in a namespace of the daemon's own).
lun_roundtrip() {
    local dev=$1 file=${2:-} pat=/tmp/gt-pattern
    head -c 1M /dev/urandom >"$pat"
    dd if="$pat" of="$dev" bs=1M count=1 oflag=direct status=none || gt_fail "write 1 MiB to $dev"
    cmp -n 1048576 "$pat" <(dd if="$dev" bs=1M count=1 iflag=direct status=none) ||
        gt_fail "$dev reads back other data than was written"
    if [[ -n $file ]]; then
        cmp -n 1048576 "$pat" "$file" ||
            gt_fail "data written through $dev is not in $file as the system sees it (a sandbox hides the file from the daemon?)"
    fi
    gt_info "ok: 1 MiB written and read back through $dev${file:+, and found in $file}"
}
clear_lio() { timeout 120 targetcli clearconfig confirm=True >/dev/null || gt_fail "targetcli clearconfig"; }

gt_step "systemd is PID 1"
gt_check "PID 1 is systemd ($(cat /proc/1/comm))" test "$(cat /proc/1/comm)" = systemd
systemctl is-system-running >"$GT_RESULTS/system-state.txt" 2>&1
gt_info "system state: $(cat "$GT_RESULTS/system-state.txt")"

# --- install ---------------------------------------------------------------------------
deb1=$(ls /share/deb/gluster-tcmu_*-1_*.deb 2>/dev/null | head -1)
deb2=$(ls /share/deb/gluster-tcmu_*-2_*.deb 2>/dev/null | head -1)
[[ -f $deb1 && -f $deb2 ]] || gt_fail "no packages in /share/deb (run.sh builds them with packaging/build-deb.sh)"
# The image's policy-rc.d keeps package scripts from starting services in the build chroot;
# a real system has none, and with it deb-systemd-invoke would start nothing here.
rm -f /usr/sbin/policy-rc.d
gt_step "apt install $deb1"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb1" \
    >"$GT_RESULTS/apt-install.log" 2>&1 || { tail -20 "$GT_RESULTS/apt-install.log"; gt_fail "apt install $deb1"; }
gt_check "the unit is enabled" test "$(systemctl is-enabled "$unit")" = enabled
gt_check "the package's postinst started the daemon" unit_active
gt_check "the daemon owns org.kernel.TCMUService1" gt_dbus_has_handler

# --- 1. Type=dbus readiness ----------------------------------------------------------------
for i in 1 2; do
    gt_step "readiness round $i: systemctl stop, systemctl start, at once targetcli create"
    systemctl stop "$unit" || gt_fail "systemctl stop"
    gt_dbus_has_handler && gt_fail "org.kernel.TCMUService1 still owned after systemctl stop"
    systemctl start "$unit" || gt_fail "systemctl start"
    # No sleep: Type=dbus means start returns once the name is owned.
    gt_dbus_has_handler || gt_fail "systemctl start returned before the daemon owned org.kernel.TCMUService1"
    truncate -s 16M "$GT_IMG_DIR/ready$i.img"
    targetcli /backstores/user:file create name="ready$i" size=16M cfgstring="$GT_IMG_DIR/ready$i.img" ||
        gt_fail "targetcli create right after systemctl start returned (round $i)"
    targetcli /backstores/user:file delete "ready$i" >/dev/null || gt_fail "targetcli delete ready$i"
done
gt_info "ok: both times the name was owned and a LUN created as soon as systemctl start returned"

# --- 2. D-Bus activation -------------------------------------------------------------------
gt_step "D-Bus activation: systemctl stop, then targetcli"
systemctl stop "$unit" || gt_fail "systemctl stop"
gt_check "the daemon is stopped" unit_inactive
targetcli ls /backstores >"$GT_RESULTS/activation-ls.txt" 2>&1 || gt_fail "targetcli ls with the daemon stopped"
gt_check "targetcli started the daemon through D-Bus" unit_active
gt_check "targetcli listed user:file" grep -q 'user:file' "$GT_RESULTS/activation-ls.txt"
gt_check "dbus-daemon activated it through systemd" \
    bash -c "journalctl -b -u dbus --no-pager | grep -q \"Activating via systemd: service name='org.kernel.TCMUService1' unit='$unit'\""

# --- 6. the sandbox and every backstore ------------------------------------------------------
gt_step "the unit's sandbox lets every backstore open and write its LUN"
gt_backstore_create user:file sb-srv 16M
gt_loop_export "$GT_BS"
lun_roundtrip "$GT_DEV" "$GT_IMG_DIR/sb-srv.img"
# Under /var/tmp itself and on the tmpfs mounted on /var/tmp/gt (PrivateTmp=yes in the unit
# once hid both: CheckConfig refused the second, and the first would have been a new file in
# the service's private /var/tmp).
for f in /var/tmp/sb-vartmp.img /var/tmp/gt/sb-vartmp-gt.img; do
    n=$(basename "$f" .img)
    truncate -s 16M "$f"
    targetcli /backstores/user:file create name="$n" size=16M cfgstring="$f" ||
        gt_fail "targetcli: user:file LUN on $f"
    gt_loop_export "/backstores/user:file/$n"
    lun_roundtrip "$GT_DEV" "$f"
done
gt_backstore_create user:ram sb-ram 16M
gt_loop_export "$GT_BS"
lun_roundtrip "$GT_DEV"
if [[ ${GT_NEED_GLUSTER:-0} == 1 ]]; then
    gt_backstore_create user:glfs sb-glfs 16M
    gt_loop_export "$GT_BS"
    lun_roundtrip "$GT_DEV"
else
    gt_info "no gluster in this boot (run.sh --gluster systemd): user:glfs not checked"
fi
clear_lio

# --- 3. Restart=on-failure -------------------------------------------------------------------
gt_backstore_create user:file sd-io 128M
gt_loop_export "$GT_BS"
dev=$GT_DEV
fio_start kill9 "$dev" 48M
sleep 5
kill -0 "$fio_pid" 2>/dev/null || gt_fail "fio finished before the kill: make the job longer"
pid=$(main_pid)
gt_step "SIGHUP (an admin's reload or log reopen) does not end the daemon"
kill -HUP "$pid"
sleep 2
gt_check "the daemon runs on as PID $pid after SIGHUP" test "$(main_pid)" = "$pid"
n0=$(restarts)
gt_step "kill -9 the daemon's main PID $pid under fio"
kill -9 "$pid"
gt_wait 30 "systemd to restart the daemon" pid_changed "$pid"
gt_check "systemd counted one restart" test "$(restarts)" = $((n0 + 1))
gt_info "restarted as PID $(main_pid) (NRestarts $(restarts))"
fio_end kill9 "kill -9 and systemd's restart"

# --- 4. the journal ---------------------------------------------------------------------------
gt_step "the daemon's lines in the journal"
journalctl -b -u "$unit" --no-pager >"$GT_RESULTS/journal-gluster-tcmu.txt" 2>&1
gt_check "the journal has the daemon's start" grep -q 'gluster-tcmu ready' "$GT_RESULTS/journal-gluster-tcmu.txt"
gt_check "the journal has the LUN opened (serving ... sd-io)" \
    grep -qE 'serving.*sd-io|sd-io.*serving' "$GT_RESULTS/journal-gluster-tcmu.txt"
gt_check "the journal has the LUN taken over after the restart (recovered ... sd-io)" \
    grep -qE 'recovered.*sd-io|sd-io.*recovered' "$GT_RESULTS/journal-gluster-tcmu.txt"
grep -E 'ready|serving|recovered' "$GT_RESULTS/journal-gluster-tcmu.txt" | tail -6 | sed 's/^/    | /'

# --- 7. upgrade under I/O ------------------------------------------------------------------
fio_start upgrade "$dev" 48M
sleep 5
kill -0 "$fio_pid" 2>/dev/null || gt_fail "fio finished before the upgrade: make the job longer"
pid=$(main_pid)
gt_step "dpkg -i $deb2 under fio (daemon PID $pid)"
t=$SECONDS
dpkg -i "$deb2" >"$GT_RESULTS/dpkg-upgrade.log" 2>&1 || { cat "$GT_RESULTS/dpkg-upgrade.log"; gt_fail "dpkg -i $deb2"; }
gt_info "dpkg -i took $((SECONDS - t)) s"
gt_check "revision 2 is installed" bash -c "dpkg-query -W -f='\${Version}' gluster-tcmu | grep -q -- '-2\$'"
gt_check "the upgrade restarted the daemon (PID $pid -> $(main_pid))" pid_changed "$pid"
fio_end upgrade "the package upgrade"

# --- 5. systemctl stop with a LUN in use -------------------------------------------------
# stop_in_use NAME SECONDS: 8 MiB written, then fio write-verify elsewhere on the LUN;
# `systemctl stop` under it for SECONDS, then start. What the initiator saw goes to
# stop-NAME.txt (recorded, not asserted); the 8 MiB written before the stop must read back.
stop_in_use() {
    local name=$1 secs=$2 out=$GT_RESULTS/stop-$1.txt t s rc errs sum_before sum_after sdev klog
    sdev=$(basename "$(readlink -f "$dev")")
    gt_step "systemctl stop for $secs s while fio writes ($name): what the initiator sees"
    head -c 8M /dev/urandom >/tmp/gt-before-stop
    dd if=/tmp/gt-before-stop of="$dev" bs=1M count=8 oflag=direct status=none || gt_fail "write 8 MiB before the stop"
    sum_before=$(sha256sum </tmp/gt-before-stop | cut -d' ' -f1)
    fio --name="stop-$name" --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite \
        --bs=4k --offset=16M --size=32M --rate_iops=800 --verify=crc32c --do_verify=1 --verify_dump=0 \
        --output-format=json --output="$GT_RESULTS/fio-stop-$name.json" &
    fio_pid=$!
    sleep 5
    kill -0 "$fio_pid" 2>/dev/null || gt_fail "fio finished before the stop: make the job longer"
    klog=$(dmesg | wc -l)
    t=$SECONDS
    systemctl stop "$unit" || gt_fail "systemctl stop"
    {
        echo "systemctl stop took $((SECONDS - t)) s; the daemon: $(systemctl is-active "$unit")"
        for s in 1 $((secs / 2)) "$secs"; do
            sleep $((t + s - SECONDS > 0 ? t + s - SECONDS : 0))
            echo "t+${s}s: fio $(kill -0 "$fio_pid" 2>/dev/null && echo running || echo finished)," \
                "$sdev state $(cat "/sys/block/$sdev/device/state"), in flight (read write)" \
                "$(tr -s ' ' <"/sys/block/$sdev/inflight")"
        done
    } | tee "$out" | sed 's/^/         /'
    systemctl start "$unit" || gt_fail "systemctl start after the stop"
    wait "$fio_pid"
    rc=$?
    gt_fio_summary "$GT_RESULTS/fio-stop-$name.json"
    errs=$(python3 -c 'import json,sys; print(sum(j["error"] for j in json.load(open(sys.argv[1]))["jobs"]))' \
        "$GT_RESULTS/fio-stop-$name.json" 2>/dev/null || echo '?')
    echo "fio across the $secs s stop: exit $rc, errors $errs; $sdev state $(cat "/sys/block/$sdev/device/state")" |
        tee -a "$out" | sed 's/^/         /'
    dmesg | tail -n +"$((klog + 1))" >>"$out"
    grep -E 'FAILED|Sense|I/O error|reset' "$out" | tail -6 | sed 's/^/    | /'
    gt_check "TEST UNIT READY after the start" gt_dev_tur "$dev"
    sum_after=$(dd if="$dev" bs=1M count=8 iflag=direct status=none | sha256sum | cut -d' ' -f1)
    gt_check "the 8 MiB written before the stop are intact" test "$sum_before" = "$sum_after"
}
stop_in_use short 10
gt_check "the LUN is running after a short stop" test "$(cat "/sys/block/$(basename "$(readlink -f "$dev")")/device/state")" = running
# Longer than the command time-out the kernel gives a user: LUN (configfs attrib/cmd_time_out).
cto=$(cat /sys/kernel/config/target/core/user_*/sd-io/attrib/cmd_time_out 2>/dev/null | head -1)
gt_info "the LUN's cmd_time_out: ${cto:-?} s"
stop_in_use long $((${cto:-30} + 15))
clear_lio

# --- 8. apt remove keeps the settings -------------------------------------------------------
gt_step "apt remove keeps /etc/gluster-tcmu/*.toml"
conf=/etc/gluster-tcmu/gluster-tcmu.toml
sed -i 's/^#level = "info"/level = "info"  # set by the admin/' "$conf"
grep -q 'set by the admin' "$conf" || gt_fail "could not edit $conf"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q gluster-tcmu >"$GT_RESULTS/apt-remove.log" 2>&1 ||
    { tail -20 "$GT_RESULTS/apt-remove.log"; gt_fail "apt remove gluster-tcmu"; }
gt_check "the daemon is stopped" unit_inactive
gt_check "the binary is gone" test ! -e /usr/bin/gluster-tcmu
gt_check "the settings file is kept with the admin's edit" grep -q 'set by the admin' "$conf"
gt_check "dpkg keeps the package's conffiles (state rc)" \
    bash -c "dpkg -l gluster-tcmu | grep -q '^rc'"
journalctl -b -u "$unit" --no-pager >"$GT_RESULTS/journal-gluster-tcmu.txt" 2>&1
gt_step "pass"
