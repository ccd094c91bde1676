#!/bin/bash
# An export with two gateways on the real kernel, seen from this gateway: `export create
# --gateway A --gateway B` makes target port groups gw1 and gw2 on the storage object
# (implicit ALUA, ids 1 and 2) with this gateway's LUN in gw1; the daemon finds them after
# the open and makes the LUN an HA LUN (Active/Non-optimized without the lock, fenced by the
# image lock). The initiator
# then sees implicit ALUA (INQUIRY TPGS), and REPORT TARGET PORT GROUPS is answered by the
# handler (the other group Active/Non-optimized, where the kernel's own view says
# Active/Optimized); the
# login's first read takes the image lock over (Active/Optimized), and fio verify passes
# through it. The volume is made for HA (docs/HA.md): no sharding, mandatory locks enforced.
# guest-timeout: 900
# guest-needs: gluster
set -u
. /share/guest/lib.sh
. /share/guest/exports.sh
hvol=gtha
portal=127.0.0.1:3260
other=127.0.0.2:3260
name=ha1

gt_gluster_start
GT_VOLUME_OPTS="features.shard=off locks.mandatory-locking=optimal features.enforce-mandatory-lock=on" \
    gt_volume_create "$hvol"
vol="$hvol@$GT_GLUSTER_HOST"
gt_exports_settings "$portal" "$vol"
printf '[metrics]\nlisten = "127.0.0.1:9750"\n' >>"$GT_SETTINGS"
gt_gateway_start

gt_step "export create $vol/$name --gateway $portal --gateway $other"
"$GT_BIN" export create "$vol/$name" --size 256M --gateway "$portal" --gateway "$other" \
    --json >"$GT_RESULTS/create.json" ||
    gt_fail "export create failed: $(cat "$GT_RESULTS/create.json")"
iqn=$(gt_json "$GT_RESULTS/create.json" '["iqn"]')
python3 - "$GT_RESULTS/create.json" <<'EOF' || gt_fail "this gateway does not report the export ready"
import json, sys
gateways = {g["gateway"]: g["state"] for g in json.load(open(sys.argv[1]))["gateways"]}
print("         gateways:", gateways)
sys.exit(0 if gateways.get("127.0.0.1:3260") == "ready" else 1)
EOF

dev=$(ls -d /sys/kernel/config/target/core/user_*/"$name")
gt_step "target port groups in configfs ($dev/alua)"
for id in 1 2; do
    got=$(cat "$dev/alua/gw$id/tg_pt_gp_id")
    [[ $got == "$id" ]] || gt_fail "group gw$id has id '$got'"
    gt_info "gw$id: id $got, $(cat "$dev/alua/gw$id/alua_access_type")"
done
# The kernel names members by fabric ("iSCSI/<iqn>/tpgt_1/lun_0") and pads the file
# with NUL bytes.
members() { tr -d '\0' <"$dev/alua/$1/members"; }
members gw1 | grep -qx "iSCSI/$iqn/tpgt_1/lun_0" ||
    gt_fail "this gateway's LUN is not in gw1: $(members gw1)"
[[ -z $(members gw2) ]] || gt_fail "gw2 holds a port of this gateway: $(members gw2)"
gt_wait 30 "the daemon made the LUN an HA LUN" \
    grep -q "target port groups configured: HA LUN" "$GT_RESULTS/gluster-tcmu.log"

gt_step "login (no CHAP) and what the initiator sees"
gt_iscsid_start
iscsiadm -m discovery -t sendtargets -p "$portal" -o new | grep -q "$iqn" ||
    gt_fail "discovery does not list $iqn"
iscsiadm -m node -T "$iqn" -p "$portal" --login || gt_fail "login to $iqn"
disk=/dev/disk/by-path/ip-$portal-iscsi-$iqn-lun-0
gt_wait 60 "$disk" test -b "$disk"
sg_inq "$disk" >"$GT_RESULTS/inquiry.txt" 2>&1
grep -q "TPGS=1" "$GT_RESULTS/inquiry.txt" ||
    gt_fail "INQUIRY does not report implicit ALUA: $(grep -o 'TPGS=[0-9]' "$GT_RESULTS/inquiry.txt")"
sg_rtpg -d "$disk" >"$GT_RESULTS/rtpg-before.txt" 2>&1 || gt_fail "REPORT TARGET PORT GROUPS failed"
sed 's/^/    /' "$GT_RESULTS/rtpg-before.txt"
grep -q "target port group id : 0x1" "$GT_RESULTS/rtpg-before.txt" &&
    grep -q "target port group id : 0x2" "$GT_RESULTS/rtpg-before.txt" ||
    gt_fail "REPORT TARGET PORT GROUPS does not list groups 1 and 2"
# The kernel's partition scan at login read the disk: media access on a path without the
# lock, so this gateway took the image lock. Group 2 Active/Non-optimized (never Standby:
# Linux sends no I/O to a Standby path, docs/HA.md) while the kernel's configfs view
# of it says Active/Optimized (0): the answer comes from the handler, not from LIO.
[[ $(tr -d '\0' <"$dev/alua/gw2/alua_access_state") == 0 ]] ||
    gt_fail "configfs has gw2 in state $(cat "$dev/alua/gw2/alua_access_state")"
group_state() {
    python3 - "$1" "$2" "$3" <<'EOF'
import re, sys
text, gid, want = open(sys.argv[1]).read(), int(sys.argv[2]), sys.argv[3]
blocks = re.split(r"target port group id : ", text)[1:]
states = {int(b.split()[0], 16): b for b in blocks}
sys.exit(0 if gid in states and "(" + want + ")" in states[gid] else 1)
EOF
}
group_state "$GT_RESULTS/rtpg-before.txt" 1 active/optimized ||
    gt_fail "group 1 is not Active/Optimized after the login's reads"
group_state "$GT_RESULTS/rtpg-before.txt" 2 "active/non optimized" ||
    gt_fail "group 2 is not Active/Non-optimized"
gt_wait 30 "the login's reads took the image lock" \
    grep -q "took the image lock" "$GT_RESULTS/gluster-tcmu.log"

gt_step "fio write-verify through the LUN: the first write takes the image lock"
gt_fio ha-verify "$(readlink -f "$disk")" --rw=randwrite --bs=64k --size=64M --iodepth=8
sg_rtpg -d "$disk" >"$GT_RESULTS/rtpg-after.txt" 2>&1 || gt_fail "REPORT TARGET PORT GROUPS failed"
group_state "$GT_RESULTS/rtpg-after.txt" 1 active/optimized ||
    gt_fail "group 1 is not Active/Optimized after fio"
gt_info "$(grep -c 'took the image lock' "$GT_RESULTS/gluster-tcmu.log") takeover(s) in the daemon's log"
python3 - "$name" <<'EOF' || gt_fail "the metrics do not show the HA LUN active with one takeover"
import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:9750/metrics", timeout=10).read().decode()
want = {"gluster_tcmu_alua_state": "0", "gluster_tcmu_ha_takeovers_total": "1",
        "gluster_tcmu_ha_fenced_total": "0"}
got = {}
for line in text.splitlines():
    name = line.split("{", 1)[0]
    if name in want and f'/{sys.argv[1]}"' in line:
        got[name] = line.rsplit(" ", 1)[1]
print("         metrics:", got)
sys.exit(0 if got == want else 1)
EOF

gt_step "export info: this gateway is the active one"
# The gateway's next pass reports the path's new state on the volume (poll_secs).
path_of_this_gateway() {
    "$GT_BIN" export info "$vol/$name" --json >"$GT_RESULTS/info.json" || return 1
    python3 - "$GT_RESULTS/info.json" <<'EOF2'
import json, sys
views = {g["gateway"]: g for g in json.load(open(sys.argv[1]))["gateways"]}
path = views["127.0.0.1:3260"].get("path") or {}
other = views["127.0.0.2:3260"]
ok = (path.get("access"), path.get("takeovers"), path.get("fenced")) == ("active-optimized", 1, 0)
sys.exit(0 if ok and "path" not in other else 1)
EOF2
}
gt_wait 30 "export info shows this gateway's path active (1 takeover, 0 fenced)" path_of_this_gateway
"$GT_BIN" export info "$vol/$name" | tee "$GT_RESULTS/info.txt" | sed 's/^/    /'
grep -q "active gateway *127.0.0.1:3260$" "$GT_RESULTS/info.txt" ||
    gt_fail "export info does not name 127.0.0.1:3260 the active gateway"

gt_step "cleanup"
iscsiadm -m node -T "$iqn" -p "$portal" --logout >/dev/null
"$GT_BIN" export delete "$vol/$name" --wait 60 >/dev/null || gt_fail "export delete"
[[ ! -e $dev ]] || gt_fail "the storage object is left after export delete"
gt_daemon_stop
gt_exports_reset
gt_step "pass"
