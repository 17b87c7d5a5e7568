#!/bin/sh
# deploy/k8s/taxonomy.yaml must carry the bundled taxonomy as it is now.
src="${TOPICWIRE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if ! "$src/deploy/k8s/make-taxonomy-configmap.sh" | diff -u "$src/deploy/k8s/taxonomy.yaml" - >&2; then
  echo "deploy/k8s/taxonomy.yaml is out of date with classify/taxonomy/default.textproto:" >&2
  echo "  deploy/k8s/make-taxonomy-configmap.sh > deploy/k8s/taxonomy.yaml" >&2
  exit 1
fi
echo "deploy/k8s/taxonomy.yaml matches classify/taxonomy/default.textproto"
