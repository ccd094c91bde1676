#!/bin/bash
# The project's main job, end to end: serve a LUN from a Gluster volume with gluster-tcmu and
# drive real I/O through it via tcm_loop and iSCSI. Run by tests/guest/demo.sh (natively or in the
# guest); uses lib.sh like the scenarios. Settings (environment, with defaults):
#   GT_VOLUME=gv0 GT_REPLICA=3 GT_GLUSTER_HOST=gluster-node GT_BRICK_ROOT=/bricks GT_VOLUME_OPTS=
#   GT_DEMO_LUN=demo GT_DEMO_SIZE=256M GT_DEMO_RUNTIME=20 (seconds of fio per transport)
# guest-timeout: 900
# guest-needs: gluster
set -u
d=$(cd "$(dirname "$0")" && pwd)
if [[ -f $d/lib.sh ]]; then . "$d/lib.sh"; else . "$d/../lib.sh"; fi
lun=${GT_DEMO_LUN:-demo}
size=${GT_DEMO_SIZE:-256M}
runtime=${GT_DEMO_RUNTIME:-20}
iqn=iqn.2025-01.org.gluster-tcmu:$lun
declare -A row=()

report() {
    python3 - "$GT_RESULTS" "$@" <<'PY'
import json, os, sys
res, kv = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
print()
print("+------------------------------------------------------------------------------+")
print(f"| gluster-tcmu demo: volume {kv['volume']} (replica {kv['replica']}), LUN {kv['lun']} {kv['size']}".ljust(79) + "|")
print(f"| backstore {kv['backstore']} cfgstring {kv['cfg']}".ljust(79) + "|")
print("+------------+------------+----------------+----------------+---------+--------+")
print("| transport  | device     | IOPS r / w     | MiB/s r / w    | lat ms  | verify |")
print("+------------+------------+----------------+----------------+---------+--------+")
for t in ("tcm_loop", "iscsi"):
    f = os.path.join(res, f"fio-demo-{t}.json")
    dev = kv.get(f"dev_{t}", "-")
    try:
        j = json.load(open(f))["jobs"][0]
        r, w = j["read"], j["write"]
        lat = (r["lat_ns"]["mean"] + w["lat_ns"]["mean"]) / 2e6
        ok = "ok" if j["error"] == 0 else f"err {j['error']}"
        print(f"| {t:<10} | {dev[-10:]:<10} | {r['iops']:6.0f} / {w['iops']:<5.0f} | "
              f"{r['bw']/1024:6.2f} / {w['bw']/1024:<5.2f} | {lat:7.2f} | {ok:<6} |")
    except Exception:
        print(f"| {t:<10} | {dev[-10:]:<10} | {'-':<14} | {'-':<14} | {'-':<7} | {'not run':<6} |")
print("+------------+------------+----------------+----------------+---------+--------+")
PY
}
dev_loop=- dev_iscsi=-
show() {
    report volume="$GT_VOLUME" replica="$GT_REPLICA" lun="$lun" size="$size" backstore=user:glfs \
        cfg="$GT_VOLUME@$GT_GLUSTER_HOST/$lun.img" dev_tcm_loop="$dev_loop" dev_iscsi="$dev_iscsi"
}
trap show EXIT

fio_demo() { # TRANSPORT DEV
    gt_step "fio: ${runtime}s 4k randrw with crc32c verify on $1 ($2)"
    fio --name="demo-$1" --filename="$2" --direct=1 --ioengine=libaio --iodepth=16 --rw=randrw \
        --bs=4k --size=64M --time_based --runtime="$runtime" --verify=crc32c --verify_backlog=128 \
        --verify_fatal=1 --verify_dump=0 --output-format=json --output="$GT_RESULTS/fio-demo-$1.json" ||
        gt_fail "fio on $1 failed"
    gt_fio_summary "$GT_RESULTS/fio-demo-$1.json"
}

gt_step "phase 1/6: GlusterFS volume $GT_VOLUME (replica $GT_REPLICA on $GT_GLUSTER_HOST)"
gt_gluster_start
gt_volume_create
gt_step "phase 2/6: start gluster-tcmu"
gt_daemon_start
gt_step "phase 3/6: user:glfs LUN $lun ($size) with targetcli"
gt_backstore_create user:glfs "$lun" "$size"
gt_step "phase 4/6: export through tcm_loop"
gt_loop_export "$GT_BS"
dev_loop=$GT_DEV
gt_step "phase 5/6: export through iSCSI on 127.0.0.1:3260 (CHAP) and log in"
gt_iscsi_export "$GT_BS" "$iqn" chap
gt_iscsi_login "$iqn"
dev_iscsi=$(readlink -f "$GT_DEV")
gt_step "phase 6/6: I/O"
fio_demo tcm_loop "$dev_loop"
fio_demo iscsi "$dev_iscsi"
gt_iscsi_logout "$iqn"
gt_step "done"
