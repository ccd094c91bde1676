# shellcheck shell=bash
# Steps for block exports and for playing the kubelet's part: sourced after lib.sh.

GT_SETTINGS=/etc/gluster-tcmu/gluster-tcmu.toml

# gt_exports_settings PORTAL VOLUME...: the daemon's settings file makes it a gateway with
# portal PORTAL for the exports of the volumes (VOL@SERVER[+SERVER]).
gt_exports_settings() {
    local portal=$1 vols="" v
    shift
    for v in "$@"; do vols+="\"$v\", "; done
    mkdir -p "${GT_SETTINGS%/*}"
    cat >"$GT_SETTINGS" <<EOF
[exports]
portal = "$portal"
volumes = [${vols%, }]
poll_secs = 2
EOF
    gt_info "settings: $(tr '\n' ' ' <"$GT_SETTINGS")"
}

# gt_gateway_start: starts the daemon as the gateway of the settings above and waits for its
# first report on every volume: `export create` and the CSI driver wait only for gateways
# that have reported (one that never did may be down), and a test right after a start
# must not race the first one.
gt_gateway_start() {
    local from=$(($(wc -l <"$GT_RESULTS/gluster-tcmu.log" 2>/dev/null || echo 0) + 1)) v
    gt_daemon_start
    for v in $(sed -n 's/^volumes = \[\(.*\)\]$/\1/p' "$GT_SETTINGS" | tr -d '",'); do
        gt_wait 120 "the gateway's first report on $v" bash -c \
            'tail -n +"$1" "$2" | grep -qF "reporting on the volume volume=$3"' \
            _ "$from" "$GT_RESULTS/gluster-tcmu.log" "$v"
    done
}

# gt_exports_reset: forget the gateway settings and the LIO ownership journal (between
# scenarios: the next one starts as a fresh host).
gt_exports_reset() {
    rm -f "$GT_SETTINGS"
    rm -rf /var/lib/gluster-tcmu
}

# gt_json FILE PYTHON-INDEX: prints one value of a JSON file, e.g. gt_json f.json '["iqn"]'.
gt_json() {
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval("v"+sys.argv[2]))' "$1" "$2"
}

# gt_export_state VOL NAME STATE: `export info --json` says this gateway has NAME in STATE.
gt_export_state() {
    local out
    if ! out=$("$GT_BIN" export info "$1/$2" --json 2>"$GT_RESULTS/export-info.err"); then
        echo "export info failed: $(cat "$GT_RESULTS/export-info.err")" >&2
        return 1
    fi
    python3 -c '
import json, sys
info = json.loads(sys.argv[2])
states = [g.get("state") for g in info.get("gateways", [])]
if states and all(s == sys.argv[1] for s in states):
    sys.exit(0)
print("export info: " + json.dumps(info.get("gateways")), file=sys.stderr)
sys.exit(1)
' "$3" "$out"
}

# gt_export_exists VOL NAME: the export's record is on the volume (in any state).
gt_export_exists() {
    "$GT_BIN" export info "$1/$2" --json >/dev/null 2>&1
}

# gt_export_gone NAME IQN: nothing of the export is left: no LIO target or backstore, no record
# or image on the volume (looked at through a FUSE mount, not through gluster-tcmu).
gt_export_gone() {
    local name=$1 iqn=$2
    [[ -e /sys/kernel/config/target/iscsi/$iqn ]] && gt_fail "the target $iqn is still in LIO"
    compgen -G "/sys/kernel/config/target/core/user_*/$name" >/dev/null &&
        gt_fail "the backstore $name is still in LIO"
    gt_fuse_mount
    [[ -e $GT_FUSE_MNT/gluster-tcmu/exports/$name.json ]] && gt_fail "the record of $name is still on the volume"
    [[ -e $GT_FUSE_MNT/gluster-tcmu/images/$name.img ]] && gt_fail "the image of $name is still on the volume"
    gt_info "ok: no LIO object, record or image of $name left"
}

# gt_kubelet_params MANIFEST: reads the PersistentVolume and Secret as the kubelet gets them
# from the API server; sets K_PORTAL K_PORTALS K_IQN K_LUN K_FSTYPE K_CHAP K_USER K_PASS
# K_USER_IN K_PASS_IN.
gt_kubelet_params() {
    local vars
    vars=$(python3 - "$1" <<'EOF'
import shlex, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
pv = next(d for d in docs if d["kind"] == "PersistentVolume")
iscsi = pv["spec"]["iscsi"]
secret = next((d for d in docs if d["kind"] == "Secret"), None)
auth = (secret or {}).get("stringData", {})
if secret:
    assert secret["type"] == "kubernetes.io/iscsi-chap", secret["type"]
    assert iscsi["secretRef"]["name"] == secret["metadata"]["name"]
assert pv["spec"]["accessModes"] == ["ReadWriteOnce"]
out = {
    "K_PORTAL": iscsi["targetPortal"],
    "K_PORTALS": " ".join(iscsi.get("portals", [])),
    "K_IQN": iscsi["iqn"],
    "K_LUN": iscsi["lun"],
    "K_FSTYPE": iscsi.get("fsType", "ext4"),
    "K_CHAP": "1" if iscsi.get("chapAuthSession") else "",
    "K_USER": auth.get("node.session.auth.username", ""),
    "K_PASS": auth.get("node.session.auth.password", ""),
    "K_USER_IN": auth.get("node.session.auth.username_in", ""),
    "K_PASS_IN": auth.get("node.session.auth.password_in", ""),
}
for k, v in out.items():
    print(f"{k}={shlex.quote(str(v))}")
EOF
) || gt_fail "cannot read the manifest $1 as the kubelet would"
    eval "$vars"
    gt_info "PV: portal $K_PORTAL (others: ${K_PORTALS:-none}) iqn $K_IQN lun $K_LUN fsType $K_FSTYPE chap ${K_CHAP:+on}"
}

# gt_kubelet_attach PORTAL IQN LUN: what the kubelet's iscsi volume plugin does with a PV:
# sendtargets discovery on the portal, CHAP settings from the Secret on the node record when
# chapAuthSession is set (K_CHAP, K_USER, K_PASS, mutual K_USER_IN, K_PASS_IN), login, and a
# wait for /dev/disk/by-path/ip-PORTAL-iscsi-IQN-lun-LUN. Sets GT_DEV.
gt_kubelet_attach() {
    local portal=$1 iqn=$2 lun=$3 node
    gt_iscsid_start
    iscsiadm -m discoverydb -t sendtargets -p "$portal" -I default -o new >/dev/null &&
        iscsiadm -m discoverydb -t sendtargets -p "$portal" -I default --discover | grep -q "$iqn" ||
        gt_fail "sendtargets discovery on $portal does not list $iqn"
    node=(iscsiadm -m node -p "$portal" -T "$iqn" -I default -o update)
    if [[ -n $K_CHAP ]]; then
        "${node[@]}" -n node.session.auth.authmethod -v CHAP &&
            "${node[@]}" -n node.session.auth.username -v "$K_USER" &&
            "${node[@]}" -n node.session.auth.password -v "$K_PASS" ||
            gt_fail "iscsiadm: CHAP settings for $iqn"
        if [[ -n $K_USER_IN ]]; then
            "${node[@]}" -n node.session.auth.username_in -v "$K_USER_IN" &&
                "${node[@]}" -n node.session.auth.password_in -v "$K_PASS_IN" ||
                gt_fail "iscsiadm: mutual CHAP settings for $iqn"
        fi
    fi
    iscsiadm -m node -p "$portal" -T "$iqn" -I default --login || gt_fail "iscsiadm login to $iqn at $portal"
    GT_DEV=/dev/disk/by-path/ip-$portal-iscsi-$iqn-lun-$lun
    gt_wait 60 "$GT_DEV" test -b "$GT_DEV"
    gt_wait 60 "TEST UNIT READY on $GT_DEV" gt_dev_tur "$GT_DEV"
    gt_info "iSCSI $iqn at $portal -> $GT_DEV ($(readlink -f "$GT_DEV"))"
}

# gt_kubelet_detach PORTAL IQN: logout and forget the node record, as the kubelet's detach.
gt_kubelet_detach() {
    iscsiadm -m node -p "$1" -T "$2" --logout >/dev/null || gt_fail "iscsiadm logout from $2"
    iscsiadm -m node -p "$1" -T "$2" -o delete >/dev/null 2>&1
    gt_wait 30 "the disk of $2 to go" bash -c "! compgen -G '/dev/disk/by-path/ip-$1-iscsi-$2-lun-*' >/dev/null"
}
