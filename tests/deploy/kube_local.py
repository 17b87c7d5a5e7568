#!/usr/bin/env python3
"""Rewrites deploy/k8s/*.yaml for `podman kube play` on one machine, for the container test.

podman (4.3) serves no Services and names the pod of Deployment X `X-pod-0` (replica i:
`X-pod-i`), so endpoints that name a Service are pointed at the pod instead. Everything gets a
prefix so a test run never touches a user's own pods or volumes. Container ports are dropped
because podman would publish each one on every host interface (the test reaches the pods by
their network addresses instead), and probes are dropped because podman runs them through systemd
timers with curl inside the image; the test checks the same endpoints itself.

With --curve-dir DIR (a directory as `topicwire up --curve-dir` makes it), every hop runs with
CurveZMQ the way docs/OPERATIONS.md describes it: DIR is mounted read-only at /etc/topicwire/curve
in every pod and each stage gets its --curve_* flags. On a cluster the keys come from the Secret
topicwire-curve; podman 4.3 cannot stand in for that (its `kube play` crashes on a secret volume
without `optional`, then mounts the values still base64-encoded and world-readable, ignoring
defaultMode), so DIR is mounted as a hostPath instead: the caller makes it owned by the image's
user (10001) with the keys at mode 0400, as the Secret with defaultMode 0400 would.

usage: kube_local.py --prefix P --image IMAGE [--curve-dir DIR] MANIFEST.yaml... > local.yaml
"""
import os
import argparse
import re
import sys

import yaml

CURVE_MOUNT = "/etc/topicwire/curve"
# The flags docs/OPERATIONS.md gives each stage to run every hop with CURVE.
CURVE_FLAGS = {
    "ingest": ["--curve_secret_key_file={m}/ingest.key", "--curve_allow={m}/clients.allow",
               "--curve_stage_allow={m}/ingest-stages.allow",
               "--curve_admin_allow={m}/admins.allow"],
    "sink": ["--curve_secret_key_file={m}/sink.key", "--curve_allow={m}/clients.allow",
             "--curve_stage_allow={m}/sink-stages.allow",
             "--curve_ingest_server_key={m}/ingest.pub"],
    "classify": ["--curve_secret_key_file={m}/classify.key",
                 "--curve_ingest_server_key={m}/ingest.pub",
                 "--curve_sink_server_key={m}/sink.pub"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--curve-dir")
    parser.add_argument("manifests", nargs="+")
    args = parser.parse_args()
    prefix = args.prefix

    documents = []
    for path in args.manifests:
        with open(path, encoding="utf-8") as manifest:
            documents.extend(d for d in yaml.safe_load_all(manifest) if d)

    services = {d["metadata"]["name"] for d in documents if d["kind"] == "Service"}
    deployments = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}
    for service in services:
        if service not in deployments:
            sys.exit(f"Service {service} has no Deployment of the same name to stand in for it")

    def point_at_pods(value):
        # tcp://ingest:7403 -> tcp://P-ingest-pod-0:7403
        return re.sub(r"tcp://([a-z0-9-]+):",
                      lambda m: f"tcp://{prefix}{m.group(1)}-pod-0:"
                      if m.group(1) in services else m.group(0), value)

    out = []
    curve_dir = None
    if args.curve_dir:
        curve_dir = os.path.abspath(args.curve_dir)
    for doc in documents:
        kind = doc["kind"]
        if kind == "Service":
            continue
        doc["metadata"]["name"] = prefix + doc["metadata"]["name"]
        if kind == "ConfigMap":
            doc["data"] = {k: point_at_pods(v) for k, v in doc.get("data", {}).items()}
        elif kind == "Deployment":
            pod = doc["spec"]["template"]["spec"]
            for container in pod["containers"]:
                container["image"] = args.image
                container["imagePullPolicy"] = "Never"
                container["args"] = [point_at_pods(a) for a in container.get("args", [])]
                if args.curve_dir:
                    stage = container["args"][0]
                    container["args"] += [f.format(m=CURVE_MOUNT) for f in CURVE_FLAGS[stage]]
                    container.setdefault("volumeMounts", []).append(
                        {"name": "curve", "mountPath": CURVE_MOUNT, "readOnly": True})
                for key in ("ports", "livenessProbe", "readinessProbe", "startupProbe"):
                    container.pop(key, None)
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("configMapKeyRef")
                    if ref:
                        ref["name"] = prefix + ref["name"]
                    if "value" in env:
                        env["value"] = point_at_pods(env["value"])
            if args.curve_dir:
                pod.setdefault("volumes", []).append(
                    {"name": "curve", "hostPath": {"path": curve_dir, "type": "Directory"}})
            for volume in pod.get("volumes", []):
                if "configMap" in volume:
                    volume["configMap"]["name"] = prefix + volume["configMap"]["name"]
                if "persistentVolumeClaim" in volume:
                    claim = volume["persistentVolumeClaim"]
                    claim["claimName"] = prefix + claim["claimName"]
        out.append(doc)

    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
