#!/usr/bin/env python3
"""Checks deploy/kubernetes/: every manifest parses as YAML, has the fields its kind
needs, and the pieces agree with each other and with the driver (its name, socket paths,
the StorageClass's parameters and secrets, the service account, privileged node pods with
Bidirectional propagation). Prints one line per problem; exit 1 if any."""
import glob
import os
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DIR = os.path.join(ROOT, "deploy", "kubernetes")
DRIVER = "block.gluster-tcmu.org"
NAMESPACE = "gluster-tcmu-csi"
PARAMETERS = {"volume", "servers", "gateways", "chap", "fsType", "hwMaxSectors", "prealloc"}
SIDECARS = {"csi-provisioner", "csi-resizer", "node-driver-registrar", "liveness-probe"}

problems = []


def problem(text):
    problems.append(text)


def load():
    docs = []
    files = sorted(glob.glob(os.path.join(DIR, "*.yaml")))
    if not files:
        problem(f"no manifests in {DIR}")
    for path in files:
        with open(path) as f:
            try:
                for doc in yaml.safe_load_all(f):
                    if doc:
                        docs.append((os.path.basename(path), doc))
            except yaml.YAMLError as e:
                problem(f"{path}: not YAML: {e}")
    for name, doc in docs:
        for field in ("apiVersion", "kind", "metadata"):
            if field not in doc:
                problem(f"{name}: a {doc.get('kind', '?')} without {field}")
    return docs


def by_kind(docs, kind):
    return [d for _, d in docs if d.get("kind") == kind]


def containers(workload):
    return {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}


def check_driver_and_class(docs):
    drivers = by_kind(docs, "CSIDriver")
    if [d["metadata"]["name"] for d in drivers] != [DRIVER]:
        problem(f"one CSIDriver named {DRIVER} expected")
    elif drivers[0]["spec"].get("attachRequired") is not False:
        problem("CSIDriver: attachRequired must be false (no ControllerPublishVolume)")
    secrets = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in by_kind(docs, "Secret")}
    for sc in by_kind(docs, "StorageClass"):
        if sc.get("provisioner") != DRIVER:
            problem(f"StorageClass {sc['metadata']['name']}: provisioner is not {DRIVER}")
        params = sc.get("parameters", {})
        ours = {k for k in params if not k.startswith("csi.storage.k8s.io/")}
        if ours - PARAMETERS:
            problem(f"StorageClass: unknown parameters {sorted(ours - PARAMETERS)}")
        for k, v in params.items():
            if not isinstance(v, str):
                problem(f"StorageClass parameter {k}: {v!r} is not a string")
        for side in ("provisioner", "node-stage"):
            ref = (params.get(f"csi.storage.k8s.io/{side}-secret-namespace"),
                   params.get(f"csi.storage.k8s.io/{side}-secret-name"))
            secret = secrets.get(ref)
            if params.get("chap", "true") == "true" and secret is None:
                problem(f"StorageClass: the {side} secret {ref} is not among the manifests")
            elif secret is not None:
                keys = set(secret.get("stringData", {}))
                if not {"node.session.auth.username", "node.session.auth.password"} <= keys:
                    problem(f"Secret {ref}: no node.session.auth.username/password")
        if sc.get("allowVolumeExpansion") is not True:
            problem("StorageClass: allowVolumeExpansion should be true (the driver grows volumes)")


def check_controller(docs):
    deployments = by_kind(docs, "Deployment")
    if len(deployments) != 1:
        problem("one controller Deployment expected")
        return
    d = deployments[0]
    c = containers(d)
    for name in ("driver", "csi-provisioner", "csi-resizer"):
        if name not in c:
            problem(f"controller: no {name} container")
    if "--mode=controller" not in c.get("driver", {}).get("args", []):
        problem("controller: the driver must run with --mode=controller")
    account = d["spec"]["template"]["spec"].get("serviceAccountName")
    accounts = {a["metadata"]["name"] for a in by_kind(docs, "ServiceAccount")}
    if account not in accounts:
        problem(f"controller: service account {account} is not among the manifests")
    bound = {s["name"] for b in by_kind(docs, "ClusterRoleBinding") for s in b["subjects"]}
    if account not in bound:
        problem(f"controller: service account {account} is bound to no ClusterRole")
    roles = {r["metadata"]["name"]: r for r in by_kind(docs, "ClusterRole")}
    for b in by_kind(docs, "ClusterRoleBinding"):
        if b["roleRef"]["name"] not in roles:
            problem(f"ClusterRoleBinding {b['metadata']['name']}: no ClusterRole {b['roleRef']['name']}")
    check_sockets("controller", c)


def check_node(docs):
    sets = by_kind(docs, "DaemonSet")
    if len(sets) != 1:
        problem("one node DaemonSet expected")
        return
    spec = sets[0]["spec"]["template"]["spec"]
    c = containers(sets[0])
    driver = c.get("driver", {})
    if "--mode=node" not in driver.get("args", []):
        problem("node: the driver must run with --mode=node")
    if not driver.get("securityContext", {}).get("privileged"):
        problem("node: the driver must be privileged (iscsiadm, mount)")
    if not spec.get("hostNetwork"):
        problem("node: hostNetwork is needed (iscsid's abstract socket)")
    mounts = {m["mountPath"]: m for m in driver.get("volumeMounts", [])}
    kubelet = mounts.get("/var/lib/kubelet", {})
    if kubelet.get("mountPropagation") != "Bidirectional":
        problem("node: /var/lib/kubelet needs Bidirectional mount propagation")
    for path in ("/dev", "/sys", "/etc/iscsi", "/csi"):
        if path not in mounts:
            problem(f"node: the driver does not mount {path}")
    registrar = c.get("node-driver-registrar", {})
    want = f"--kubelet-registration-path=/var/lib/kubelet/plugins/{DRIVER}/csi.sock"
    if want not in registrar.get("args", []):
        problem(f"node: the registrar needs {want}")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    plugin = volumes.get("plugin-dir", {}).get("hostPath", {}).get("path")
    if plugin != f"/var/lib/kubelet/plugins/{DRIVER}":
        problem(f"node: the plugin folder {plugin} is not the registered one")
    check_sockets("node", c)


def check_sockets(where, c):
    for name, container in c.items():
        args = container.get("args", [])
        if name == "driver":
            if "--endpoint=unix:///csi/csi.sock" not in args:
                problem(f"{where}: the driver does not listen on /csi/csi.sock")
        elif name in SIDECARS and "--csi-address=/csi/csi.sock" not in args:
            problem(f"{where}: {name} does not talk to /csi/csi.sock")
        if not any(m["mountPath"] == "/csi" for m in container.get("volumeMounts", [])):
            problem(f"{where}: {name} does not mount the socket folder /csi")
        image = container.get("image", "")
        if ":" not in image or image.endswith(":latest"):
            problem(f"{where}: {name} image {image!r} has no fixed tag")


def check_namespaces(docs):
    names = {d["metadata"]["name"] for d in by_kind(docs, "Namespace")}
    if NAMESPACE not in names:
        problem(f"no Namespace {NAMESPACE}")
    for file, d in docs:
        ns = d["metadata"].get("namespace")
        if ns is not None and ns != NAMESPACE:
            problem(f"{file}: {d['kind']} {d['metadata']['name']} in namespace {ns}")


def main():
    docs = load()
    if not problems:
        check_namespaces(docs)
        check_driver_and_class(docs)
        check_controller(docs)
        check_node(docs)
    for p in problems:
        print(f"deploy/kubernetes: {p}")
    print(f"deploy/kubernetes: {len(docs)} objects checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
