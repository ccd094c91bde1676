#!/bin/bash
# targetcli sees gluster-tcmu's handlers over D-Bus (org.kernel.TCMUService1): user:glfs and
# user:file are listed, `help create` prints the handler's ConfigDesc, a malformed config string
# is refused with the handler's CheckConfig reason, a good one creates the LUN (configfs device
# enabled, UIO device named tcm-user/<hba>/<name>/file/<cfg>); a user:ram LUN is created,
# written and verified through tcm_loop and deleted, and deleting both LUNs releases their
# UIO devices while the daemon keeps running. A user:ram LUN above the daemon's [ram]
# max_size is refused with the reason in the daemon's log.
# guest-timeout: 300
set -u
. /share/guest/lib.sh

gt_step "before the daemon: no user: backstores (they come only from a handler on D-Bus)"
targetcli ls /backstores | tee "$GT_RESULTS/ls-before.txt"
grep -q 'user:' "$GT_RESULTS/ls-before.txt" && gt_fail "user: backstores listed with no handler running"
gt_dbus_has_handler && gt_fail "$GT_DBUS_NAME already owned before gluster-tcmu started"
gt_daemon_start
gt_step "targetcli ls /backstores"
targetcli ls /backstores | tee "$GT_RESULTS/ls.txt"
for h in glfs file; do
    gt_check "/backstores lists user:$h" grep -q "user:$h" "$GT_RESULTS/ls.txt"
done

gt_step "ConfigDesc and help create"
desc=$(dbus-send --system --print-reply --dest=$GT_DBUS_NAME /org/kernel/TCMUService1/file \
    org.freedesktop.DBus.Properties.Get string:$GT_DBUS_NAME string:ConfigDesc |
    sed -n 's/.*variant *string "\(.*\)/\1/p' | head -1 | cut -c1-40)
[[ -n $desc ]] || gt_fail "no ConfigDesc property on /org/kernel/TCMUService1/file"
gt_info "ConfigDesc starts: $desc"
targetcli /backstores/user:file help create | tee "$GT_RESULTS/help-create.txt"
gt_check "help create shows the ConfigDesc" grep -qF "$desc" "$GT_RESULTS/help-create.txt"

gt_step "malformed config string is refused"
bad=relative/not-absolute
reason=$(dbus-send --system --print-reply --dest=$GT_DBUS_NAME /org/kernel/TCMUService1/file \
    org.kernel.TCMUService1.CheckConfig "string:file/$bad" | tee "$GT_RESULTS/checkconfig-bad.txt" |
    sed -n 's/^ *string "\(.*\)"/\1/p' | head -1)
gt_check "CheckConfig(file/$bad) answers false" grep -q 'boolean false' "$GT_RESULTS/checkconfig-bad.txt"
[[ -n $reason ]] || gt_fail "CheckConfig gives no reason"
targetcli /backstores/user:file create name=bad size=16M cfgstring=$bad 2>&1 | tee "$GT_RESULTS/create-bad.txt"
gt_check "targetcli shows the handler's reason ($reason)" grep -qF "$reason" "$GT_RESULTS/create-bad.txt"
targetcli ls /backstores/user:file | grep -q ' bad ' && gt_fail "the malformed LUN was created"

gt_step "good config string creates the LUN"
gt_backstore_create user:file good 16M
targetcli ls /backstores/user:file | tee "$GT_RESULTS/ls-file.txt"
gt_check "LUN good listed" grep -q 'good' "$GT_RESULTS/ls-file.txt"
dev=$(ls -d /sys/kernel/config/target/core/user_*/good | head -1)
[[ -n $dev ]] || gt_fail "no configfs device user_*/good"
gt_check "configfs device enabled" grep -q 1 "$dev/enable"
uio=$(grep -l "/good/file/" /sys/class/uio/uio*/name | head -1)
[[ -n $uio ]] || gt_fail "no UIO device for good"
gt_info "$(cat "$uio") map0 size $(cat "$(dirname "$uio")/maps/map0/size")"

gt_step "user:ram: create, I/O through tcm_loop, delete"
gt_check "/backstores lists user:ram" grep -q "user:ram" "$GT_RESULTS/ls.txt"
gt_backstore_create user:ram ramlun 64M
gt_loop_export "$GT_BS"
gt_fio ram-verify "$GT_DEV" --rw=randwrite --bs=16k --size=32M --iodepth=8
gt_tcli_batch <<EOT >/dev/null || gt_fail "targetcli: delete the tcm_loop export and the user:ram LUN"
/loopback delete $GT_LOOP_WWN
/backstores/user:ram delete ramlun
EOT
gt_wait 20 "UIO device of ramlun gone" bash -c '! grep -q /ramlun/ /sys/class/uio/uio*/name 2>/dev/null'
gt_wait 20 "gluster-tcmu list shows good but no longer ramlun" \
    bash -c "out=\$('$GT_BIN' list) && grep -q good <<<\"\$out\" && ! grep -q ramlun <<<\"\$out\""

gt_step "user:ram above the daemon's [ram] max_size (16 GiB) is refused, and says why"
if targetcli /backstores/user:ram create name=hugeram size=32G cfgstring=wce=1 >"$GT_RESULTS/create-huge.txt" 2>&1; then
    gt_fail "a 32 GiB user:ram LUN was created past [ram] max_size"
fi
gt_check "the daemon logs the reason" grep -q "larger than the daemon's \[ram\] max_size" "$GT_RESULTS/gluster-tcmu.log"
targetcli ls /backstores/user:ram | grep -q hugeram && gt_fail "the refused LUN is still listed"
kill -0 "$GT_DAEMON_PID" || gt_fail "daemon died refusing a LUN"

gt_step "user:file: delete"
gt_tcli /backstores/user:file delete good || gt_fail "targetcli: delete user:file good"
gt_wait 20 "UIO device of good gone" bash -c '! grep -q /good/ /sys/class/uio/uio*/name 2>/dev/null'
kill -0 "$GT_DAEMON_PID" || gt_fail "daemon died while LUNs were deleted"
gt_step "pass"
