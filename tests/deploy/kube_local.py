#!/usr/bin/env python3
"""Rewrites deploy/k8s/*.yaml for `podman kube play` on one machine, for the container test.

podman (4.3) serves no Services and names the pod of Deployment X `X-pod-0` (replica i:
`X-pod-i`), so endpoints that name a Service are pointed at the pod instead. Everything gets a
prefix so a test run never touches a user's own pods or volumes. Container ports are dropped
because podman would publish each one on every host interface (the test reaches the pods by
their network addresses instead), and probes are dropped because podman runs them through systemd
timers with curl inside the image; the test checks the same endpoints itself.

usage: kube_local.py --prefix P --image IMAGE MANIFEST.yaml... > local.yaml
"""
import argparse
import re
import sys

import yaml


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--image", required=True)
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
                for key in ("ports", "livenessProbe", "readinessProbe", "startupProbe"):
                    container.pop(key, None)
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("configMapKeyRef")
                    if ref:
                        ref["name"] = prefix + ref["name"]
                    if "value" in env:
                        env["value"] = point_at_pods(env["value"])
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
