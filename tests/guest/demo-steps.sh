#!/bin/bash
# The project's main job, end to end: one command turns an image on a replicated Gluster volume
# into an iSCSI LUN (`gluster-tcmu export create`), the daemon as the volume's gateway makes LIO
# serve it, and an initiator uses it as the kubelet would (the export's manifest: discovery,
# CHAP login) under fio write-verify. Run by tests/guest/demo.sh (natively or in the guest);
# uses lib.sh like the scenarios. Settings (environment, with defaults):
#   GT_VOLUME=gv0 GT_REPLICA=3 GT_GLUSTER_HOST=gluster-node GT_BRICK_ROOT=/bricks GT_VOLUME_OPTS=
#   GT_DEMO_LUN=demo GT_DEMO_SIZE=256M GT_DEMO_RUNTIME=20 (seconds of fio)
# guest-timeout: 900
# guest-needs: gluster
set -u
d=$(cd "$(dirname "$0")" && pwd)
if [[ -f $d/lib.sh ]]; then . "$d/lib.sh"; else . "$d/../lib.sh"; fi
if [[ -f $d/exports.sh ]]; then . "$d/exports.sh"; else . "$d/../exports.sh"; fi
lun=${GT_DEMO_LUN:-demo}
size=${GT_DEMO_SIZE:-256M}
runtime=${GT_DEMO_RUNTIME:-20}
portal=127.0.0.1:3260
# The demo's own settings file and LIO journal, so that a native run leaves the host's alone.
GT_SETTINGS=$GT_RESULTS/gluster-tcmu.toml
state=$GT_RESULTS/state
GT_DAEMON_ARGS="${GT_DAEMON_ARGS:-} --config $GT_SETTINGS"
export=(--config "$GT_SETTINGS")
dev=- iqn=-

report() {
    python3 - "$GT_RESULTS" "$@" <<'PY'
import json, os, sys
res, kv = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])


def where_it_ran():
    """One line on the machine: under QEMU without KVM every instruction is emulated."""
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "unknown CPU")
    try:
        clocks = open("/sys/devices/system/clocksource/clocksource0/available_clocksource").read()
    except OSError:
        clocks = ""
    if "QEMU" in model and "kvm-clock" not in clocks:
        return (f"These figures ran under QEMU emulation (TCG, no KVM; CPU \"{model}\"): "
                "every instruction of the kernel, the daemon and Gluster is emulated, so they "
                "are a small fraction of what the same stack does on hardware. "
                "See docs/BENCHMARKS.md for measured comparisons.")
    return f"CPU: {model}" + (" (KVM guest)" if "kvm-clock" in clocks else "")
print()
print("+------------------------------------------------------------------------------+")
print(f"| gluster-tcmu demo: volume {kv['volume']} (replica {kv['replica']}), export {kv['lun']} {kv['size']}".ljust(79) + "|")
print(f"| {kv['iqn']}".ljust(79) + "|")
print("+------------+------------+----------------+----------------+---------+--------+")
print("| transport  | device     | IOPS r / w     | MiB/s r / w    | lat ms  | verify |")
print("+------------+------------+----------------+----------------+---------+--------+")
f = os.path.join(res, "fio-demo-iscsi.json")
dev = kv.get("dev", "-")
try:
    j = json.load(open(f))["jobs"][0]
    r, w = j["read"], j["write"]
    lat = (r["lat_ns"]["mean"] + w["lat_ns"]["mean"]) / 2e6
    ok = "ok" if j["error"] == 0 else f"err {j['error']}"
    print(f"| {'iscsi':<10} | {dev[-10:]:<10} | {r['iops']:6.0f} / {w['iops']:<5.0f} | "
          f"{r['bw']/1024:6.2f} / {w['bw']/1024:<5.2f} | {lat:7.2f} | {ok:<6} |")
except Exception:
    print(f"| {'iscsi':<10} | {dev[-10:]:<10} | {'-':<14} | {'-':<14} | {'-':<7} | {'not run':<6} |")
print("+------------+------------+----------------+----------------+---------+--------+")
print(where_it_ran())
PY
}
show() {
    report volume="$GT_VOLUME" replica="$GT_REPLICA" lun="$lun" size="$size" iqn="$iqn" dev="$dev"
}
trap show EXIT

gt_step "phase 1/6: GlusterFS volume $GT_VOLUME (replica $GT_REPLICA on $GT_GLUSTER_HOST)"
gt_gluster_start
gt_volume_create
vol="$GT_VOLUME@$GT_GLUSTER_HOST"

gt_step "phase 2/6: gluster-tcmu as this host's gateway for $vol (portal $portal)"
gt_exports_settings "$portal" "$vol"
printf 'state_dir = "%s"\n' "$state" >>"$GT_SETTINGS"
gt_daemon_start

gt_step "phase 3/6: gluster-tcmu export create $vol/$lun --size $size --chap"
"$GT_BIN" export create "${export[@]}" "$vol/$lun" --size "$size" --gateway "$portal" \
    --initiator "$GT_INITIATOR" --chap || gt_fail "export create failed"
"$GT_BIN" export info "${export[@]}" "$vol/$lun" || gt_fail "export info failed"

gt_step "phase 4/6: the export's manifest, used as the kubelet uses it: discovery, CHAP login"
"$GT_BIN" export manifest "${export[@]}" "$vol/$lun" >"$GT_RESULTS/manifest.yaml" ||
    gt_fail "export manifest failed"
gt_kubelet_params "$GT_RESULTS/manifest.yaml"
iqn=$K_IQN
gt_kubelet_attach "$K_PORTAL" "$K_IQN" "$K_LUN"
dev=$(readlink -f "$GT_DEV")

gt_step "phase 5/6: fio ${runtime}s 4k randrw with crc32c verify on $dev"
fio --name=demo-iscsi --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 --rw=randrw \
    --bs=4k --size=64M --time_based --runtime="$runtime" --verify=crc32c --verify_backlog=128 \
    --verify_fatal=1 --verify_dump=0 --output-format=json --output="$GT_RESULTS/fio-demo-iscsi.json" ||
    gt_fail "fio on $dev failed"
gt_fio_summary "$GT_RESULTS/fio-demo-iscsi.json"
"$GT_BIN" list || gt_fail "gluster-tcmu list failed"

gt_step "phase 6/6: log out, export delete"
gt_kubelet_detach "$K_PORTAL" "$K_IQN"
"$GT_BIN" export delete "${export[@]}" "$vol/$lun" || gt_fail "export delete failed"
gt_export_gone "$lun" "$K_IQN"
gt_step "done"
