#!/usr/bin/python3
"""A CSI client that plays the external-provisioner and the kubelet against
gluster-tcmu-csi over its unix socket. Independent of the driver's own (Rust) client:
Debian's python3-grpcio, with stubs generated at run time from the same csi.proto by
`python3 -m grpc_tools.protoc`.

    csi_client.py --socket SOCK COMMAND [options]

A volume is kept in a JSON file (what CreateVolume answered: volume_id, capacity_bytes,
volume_context), as the PersistentVolume keeps it; node commands read it from there.
Success prints the answer as JSON on stdout, exit 0. A gRPC error prints
{"error": {"code": "NOT_FOUND", "message": ...}} on stdout, exit 3.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

STUBS = os.environ.get("CSI_STUBS", "/tmp/csi-stubs")
PROTO = os.environ.get("CSI_PROTO", "/share/csi/csi.proto")


def load_stubs():
    """Generates csi_pb2 and csi_pb2_grpc from PROTO (once) and imports them."""
    if not os.path.exists(os.path.join(STUBS, "csi_pb2_grpc.py")):
        import grpc_tools

        os.makedirs(STUBS, exist_ok=True)
        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc",
             "-I", os.path.dirname(os.path.abspath(PROTO)), "-I", well_known,
             "--python_out", STUBS, "--grpc_python_out", STUBS,
             os.path.basename(PROTO)],
            check=True)
    sys.path.insert(0, STUBS)
    import csi_pb2
    import csi_pb2_grpc
    return csi_pb2, csi_pb2_grpc


pb, rpc = load_stubs()
import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402


class Driver:
    """The three services over one channel."""

    def __init__(self, socket):
        self.channel = grpc.insecure_channel("unix://" + os.path.abspath(socket))
        self.identity = rpc.IdentityStub(self.channel)
        self.controller = rpc.ControllerStub(self.channel)
        self.node = rpc.NodeStub(self.channel)


def pairs(items):
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"not KEY=VALUE: {item}")
        out[key] = value
    return out


def capability(block, fs_type="", read_only=False):
    mode = (pb.VolumeCapability.AccessMode.SINGLE_NODE_READER_ONLY if read_only
            else pb.VolumeCapability.AccessMode.SINGLE_NODE_WRITER)
    cap = pb.VolumeCapability(access_mode=pb.VolumeCapability.AccessMode(mode=mode))
    if block:
        cap.block.SetInParent()
    else:
        cap.mount.fs_type = fs_type
    return cap


def as_json(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def read_volume(path):
    with open(path) as f:
        return json.load(f)


def create_request(name, size, params, secrets, block):
    return pb.CreateVolumeRequest(
        name=name,
        capacity_range=pb.CapacityRange(required_bytes=size),
        volume_capabilities=[capability(block)],
        parameters=params,
        secrets=secrets)


def stage_request(vol, staging, secrets, block, context=None):
    ctx = dict(vol.get("volume_context", {}))
    ctx.update(context or {})
    return pb.NodeStageVolumeRequest(
        volume_id=vol["volume_id"], staging_target_path=staging,
        volume_capability=capability(block), secrets=secrets, volume_context=ctx)


def publish_request(vol, staging, target, block, read_only):
    return pb.NodePublishVolumeRequest(
        volume_id=vol["volume_id"], staging_target_path=staging, target_path=target,
        volume_capability=capability(block), readonly=read_only,
        volume_context=vol.get("volume_context", {}))


def answer(call):
    try:
        print(json.dumps(as_json(call()), indent=1, sort_keys=True))
        return 0
    except grpc.RpcError as e:
        print(json.dumps({"error": {"code": e.code().name, "message": e.details()}}))
        return 3


def cmd_create(d, a):
    req = create_request(a.name, a.bytes, pairs(a.param), pairs(a.secret), a.block)
    try:
        resp = d.controller.CreateVolume(req)
    except grpc.RpcError as e:
        print(json.dumps({"error": {"code": e.code().name, "message": e.details()}}))
        return 3
    vol = as_json(resp.volume)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(vol, f, indent=1, sort_keys=True)
    print(json.dumps(vol, indent=1, sort_keys=True))
    return 0


def cmd_bench_mount(d, a):
    """CreateVolume → NodeStageVolume → NodePublishVolume, each timed: the time from a
    claim to a filesystem the pod can use."""
    params, secrets = pairs(a.param), pairs(a.secret)
    t0 = time.monotonic()
    vol = as_json(d.controller.CreateVolume(
        create_request(a.name, a.bytes, params, secrets, False)).volume)
    t1 = time.monotonic()
    d.node.NodeStageVolume(stage_request(vol, a.staging, secrets, False))
    t2 = time.monotonic()
    d.node.NodePublishVolume(publish_request(vol, a.staging, a.target, False, False))
    t3 = time.monotonic()
    with open(a.out, "w") as f:
        json.dump(vol, f, indent=1, sort_keys=True)
    print(json.dumps({"create_s": t1 - t0, "stage_s": t2 - t1, "publish_s": t3 - t2,
                      "total_s": t3 - t0}))
    return 0


def cmd_bench_create(d, a):
    """COUNT CreateVolume calls at once (one thread each), then as many DeleteVolume."""
    params, secrets = pairs(a.param), pairs(a.secret)
    names = [f"{a.prefix}-{i}" for i in range(a.count)]

    def create(name):
        start = time.monotonic()
        resp = d.controller.CreateVolume(create_request(name, a.bytes, params, secrets, False),
                                         timeout=600)
        return resp.volume.volume_id, time.monotonic() - start

    def delete(volume_id):
        d.controller.DeleteVolume(pb.DeleteVolumeRequest(volume_id=volume_id), timeout=600)

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.count) as pool:
        t0 = time.monotonic()
        made = list(pool.map(create, names))
        created = time.monotonic() - t0
        t1 = time.monotonic()
        list(pool.map(delete, [v for v, _ in made]))
        deleted = time.monotonic() - t1
    latencies = sorted(s for _, s in made)
    print(json.dumps({
        "count": a.count, "ids": [v for v, _ in made],
        "distinct_ids": len({v for v, _ in made}),
        "create_wall_s": created, "create_per_s": a.count / created,
        "create_latency_min_s": latencies[0],
        "create_latency_median_s": latencies[len(latencies) // 2],
        "create_latency_max_s": latencies[-1],
        "delete_wall_s": deleted}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--socket", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)

    def with_volume(s):
        s.add_argument("--volume", required=True, help="the volume's JSON file")

    def with_create_args(s):
        s.add_argument("--bytes", type=int, required=True)
        s.add_argument("--param", action="append", help="StorageClass parameter KEY=VALUE")
        s.add_argument("--secret", action="append", help="provisioner secret KEY=VALUE")

    sub.add_parser("probe")
    sub.add_parser("info")
    s = sub.add_parser("create")
    s.add_argument("--name", required=True)
    with_create_args(s)
    s.add_argument("--block", action="store_true")
    s.add_argument("--out", help="where to keep the volume's JSON")
    s = sub.add_parser("delete")
    with_volume(s)
    s = sub.add_parser("expand")
    with_volume(s)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--block", action="store_true")
    s = sub.add_parser("stage")
    with_volume(s)
    s.add_argument("--staging", required=True)
    s.add_argument("--secret", action="append", help="node-stage secret KEY=VALUE")
    s.add_argument("--context", action="append", help="volume context KEY=VALUE to override")
    s.add_argument("--block", action="store_true")
    s = sub.add_parser("unstage")
    with_volume(s)
    s.add_argument("--staging", required=True)
    s = sub.add_parser("publish")
    with_volume(s)
    s.add_argument("--staging", required=True)
    s.add_argument("--target", required=True)
    s.add_argument("--block", action="store_true")
    s.add_argument("--ro", action="store_true")
    s = sub.add_parser("unpublish")
    with_volume(s)
    s.add_argument("--target", required=True)
    s = sub.add_parser("node-expand")
    with_volume(s)
    s.add_argument("--path", required=True, help="the published path")
    s.add_argument("--staging", required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--block", action="store_true")
    s = sub.add_parser("stats")
    with_volume(s)
    s.add_argument("--path", required=True)
    s = sub.add_parser("bench-mount")
    s.add_argument("--name", required=True)
    with_create_args(s)
    s.add_argument("--staging", required=True)
    s.add_argument("--target", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("bench-create")
    s.add_argument("--prefix", required=True)
    s.add_argument("--count", type=int, default=10)
    with_create_args(s)
    a = p.parse_args()

    d = Driver(a.socket)
    grpc.channel_ready_future(d.channel).result(timeout=30)
    c = a.cmd
    if c == "probe":
        return answer(lambda: d.identity.Probe(pb.ProbeRequest()))
    if c == "info":
        return answer(lambda: d.identity.GetPluginInfo(pb.GetPluginInfoRequest()))
    if c == "create":
        return cmd_create(d, a)
    if c == "bench-mount":
        return cmd_bench_mount(d, a)
    if c == "bench-create":
        return cmd_bench_create(d, a)
    vol = read_volume(a.volume)
    vid = vol["volume_id"]
    if c == "delete":
        return answer(lambda: d.controller.DeleteVolume(pb.DeleteVolumeRequest(volume_id=vid)))
    if c == "expand":
        return answer(lambda: d.controller.ControllerExpandVolume(
            pb.ControllerExpandVolumeRequest(
                volume_id=vid, capacity_range=pb.CapacityRange(required_bytes=a.bytes),
                volume_capability=capability(a.block))))
    if c == "stage":
        req = stage_request(vol, a.staging, pairs(a.secret), a.block, pairs(a.context))
        return answer(lambda: d.node.NodeStageVolume(req))
    if c == "unstage":
        return answer(lambda: d.node.NodeUnstageVolume(
            pb.NodeUnstageVolumeRequest(volume_id=vid, staging_target_path=a.staging)))
    if c == "publish":
        req = publish_request(vol, a.staging, a.target, a.block, a.ro)
        return answer(lambda: d.node.NodePublishVolume(req))
    if c == "unpublish":
        return answer(lambda: d.node.NodeUnpublishVolume(
            pb.NodeUnpublishVolumeRequest(volume_id=vid, target_path=a.target)))
    if c == "node-expand":
        return answer(lambda: d.node.NodeExpandVolume(pb.NodeExpandVolumeRequest(
            volume_id=vid, volume_path=a.path, staging_target_path=a.staging,
            capacity_range=pb.CapacityRange(required_bytes=a.bytes),
            volume_capability=capability(a.block))))
    if c == "stats":
        return answer(lambda: d.node.NodeGetVolumeStats(
            pb.NodeGetVolumeStatsRequest(volume_id=vid, volume_path=a.path)))
    raise SystemExit(f"unknown command {c}")


if __name__ == "__main__":
    sys.exit(main())
