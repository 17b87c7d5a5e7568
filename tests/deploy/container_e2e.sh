#!/bin/bash
# The container end-to-end test (ctest -L container). For real, on this machine:
#  1. makes sure podman works (installs podman, runc, catatonit, the CNI dnsname plugin,
#     debootstrap, podman-compose and curl with apt-get when missing; skips with exit 77 only
#     when podman cannot be installed),
#  2. makes the debian:bookworm(-slim) base images when they cannot be pulled, builds the image,
#     and checks it (non-root, programs, taxonomy, no toolchain, size),
#  3. plays deploy/k8s/*.yaml with `podman kube play`, waits for /readyz, publishes a feed from
#     the host with the built `topicwire` CLI while a subscriber listens, kills one classify
#     worker mid-stream and starts another, and checks that every article arrived once per tag
#     stream with the tags the offline tagger gives; checks /metrics; tears everything down,
#  4. does the same with deploy/compose.yaml under podman-compose (ports on 127.0.0.1).
# Environment: TOPICWIRE_BIN_DIR (the built CLI; ctest sets it), TOPICWIRE_E2E_KEEP=1 keeps
# the pods and containers after a failure for a look, TOPICWIRE_E2E_ARTICLES (default 300),
# TOPICWIRE_E2E_IMAGE=IMAGE tests an image already built instead of building one.
set -euo pipefail

readonly SKIP=77
readonly here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly src="${TOPICWIRE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
readonly bin="${TOPICWIRE_BIN_DIR:-$src/build/bin}"
readonly cli="$bin/topicwire"
readonly image="${TOPICWIRE_E2E_IMAGE:-localhost/topicwire:e2e}"
readonly prefix="tw-e2e-"
readonly network="tw-e2e-net"
readonly compose_project="tw-e2e-compose"
readonly articles="${TOPICWIRE_E2E_ARTICLES:-300}"
work="$(mktemp -d /tmp/topicwire-container-e2e.XXXXXX)"
# The CLI's CURVE flags towards ingest and sink; empty: plaintext (test_kube sets them).
curve_to_ingest=()
curve_to_sink=()
readonly work
started_at=$SECONDS

log() { echo "[container_e2e +$((SECONDS - started_at))s] $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}

# Polls "$@" every 0.5 s until it succeeds or `seconds` pass (never a fixed sleep for an event).
wait_for() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.5
  done
}

# ---------------------------------------------------------------- 1. podman that works here
ensure_podman() {
  local wanted=()
  command -v podman >/dev/null || wanted+=(podman runc)
  command -v runc >/dev/null || wanted+=(runc)
  # podman kube play builds its pause image around an init binary; podman only recommends one.
  command -v catatonit >/dev/null || [[ -x /usr/libexec/podman/catatonit ]] || wanted+=(catatonit)
  # Pods find each other by name only through the CNI dnsname plugin (podman 4.3's CNI backend).
  [[ -x /usr/lib/cni/dnsname ]] || wanted+=(golang-github-containernetworking-plugin-dnsname)
  command -v debootstrap >/dev/null || wanted+=(debootstrap)
  command -v podman-compose >/dev/null || wanted+=(podman-compose)
  command -v curl >/dev/null || wanted+=(curl)
  python3 -c 'import yaml' 2>/dev/null || wanted+=(python3-yaml)
  if ((${#wanted[@]})); then
    if [[ "$(id -u)" != 0 ]]; then
      command -v podman >/dev/null || {
        echo "SKIP: podman is not installed and this is not root (apt-get install podman runc)"
        exit $SKIP
      }
      fail "missing ${wanted[*]} and not root to install them"
    fi
    log "installing ${wanted[*]}"
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${wanted[@]}") >"$work/apt.log" 2>&1; then
      command -v podman >/dev/null || {
        echo "SKIP: podman cannot be installed here (apt-get failed, see $work/apt.log)"
        exit $SKIP
      }
      fail "apt-get install ${wanted[*]} failed: $(tail -3 "$work/apt.log")"
    fi
  fi
  # Without these two settings every container fails on these machines (see deploy/README.md).
  if [[ ! -f /etc/containers/containers.conf ]]; then
    [[ "$(id -u)" == 0 ]] || fail "/etc/containers/containers.conf is missing and this is not root"
    log "writing /etc/containers/containers.conf (runc, no default ulimits)"
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' \
      >/etc/containers/containers.conf
  fi
  podman info >/dev/null || fail "podman is installed but does not work: podman info fails"
}

# ---------------------------------------------------------------- teardown
cleanup() {
  local status=$?
  set +e
  [[ -n "${subscriber_pid:-}" ]] && kill "$subscriber_pid" 2>/dev/null
  [[ -n "${publisher_pid:-}" ]] && kill "$publisher_pid" 2>/dev/null
  if ((status != 0)); then
    log "diagnostics (status $status):"
    podman ps -a --filter "name=$prefix" --format '{{.Names}} {{.Status}}' >&2
    for container in $(podman ps -a --filter "name=$prefix" --format '{{.Names}}'); do
      [[ "$container" == *infra* ]] && continue
      echo "--- logs of $container (last 15 lines)" >&2
      podman logs --tail 15 "$container" >&2 2>&1
    done
    for container in $(podman ps -a --filter "name=${compose_project}_" --format '{{.Names}}'); do
      echo "--- logs of $container (last 15 lines)" >&2
      podman logs --tail 15 "$container" >&2 2>&1
    done
    if [[ "${TOPICWIRE_E2E_KEEP:-0}" == 1 ]]; then
      log "TOPICWIRE_E2E_KEEP=1: leaving pods, containers and $work in place"
      exit $status
    fi
  fi
  teardown_kube
  teardown_compose
  rm -rf "$work"
  log "done in $((SECONDS - started_at))s"
  exit $status
}

# The anonymous volumes (the image's VOLUME /data) of the containers whose names match $1.
anonymous_volumes_of() {
  local container
  for container in $(podman ps -a --filter "name=$1" --format '{{.Names}}'); do
    podman inspect "$container" --format '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}'
  done | tr ' ' '\n' | grep -E '^[0-9a-f]{64}$' || true
}

teardown_kube() {
  local volumes
  volumes="$(anonymous_volumes_of "^${prefix}")"
  [[ -f "$work/kube.yaml" ]] && podman kube down "$work/kube.yaml" >/dev/null 2>&1
  podman rm -f -v "${prefix}classify-joined" >/dev/null 2>&1
  [[ -n "$volumes" ]] && podman volume rm -f $volumes >/dev/null 2>&1
  podman volume rm -f "${prefix}ingest-data" "${prefix}sink-data" "${prefix}topicwire-taxonomy" \
    >/dev/null 2>&1
  podman network rm -f "$network" >/dev/null 2>&1
  return 0
}

teardown_compose() {
  local volumes
  volumes="$(anonymous_volumes_of "^${compose_project}_")"
  podman-compose -f "$src/deploy/compose.yaml" -p "$compose_project" down -v >/dev/null 2>&1
  podman volume rm -f "${compose_project}_ingest-data" "${compose_project}_sink-data" $volumes \
    >/dev/null 2>&1
  podman network rm -f "${compose_project}_default" >/dev/null 2>&1
  return 0
}

# ---------------------------------------------------------------- 2. the image
build_image() {
  if [[ -n "${TOPICWIRE_E2E_IMAGE:-}" ]]; then
    log "testing the existing image $image (TOPICWIRE_E2E_IMAGE)"
  else
    "$src/deploy/make-base-images.sh"
    log "building $image (deploy/Containerfile)"
    local build_start=$SECONDS
    podman build -f "$src/deploy/Containerfile" --ignorefile "$src/deploy/Containerfile.dockerignore" \
      -t "$image" "$src" >"$work/build.log" 2>&1 ||
      fail "podman build failed: $(tail -20 "$work/build.log")"
    log "image built in $((SECONDS - build_start))s"
  fi
  log "image size: $(podman image ls --format '{{.Size}}' "$image")"

  [[ "$(podman run --rm "$image" id -u)" == 10001 ]] || fail "the image does not run as uid 10001"
  local program
  for program in ingest classify sink; do
    # Abseil's --help exits 1; what matters is that the program loads and lists its flags.
    podman run --rm "$image" "$program" --help >"$work/help.txt" 2>&1 || true
    grep -q -- "--http_listen" "$work/help.txt" ||
      fail "$program --help in the image does not list --http_listen: $(tail -5 "$work/help.txt")"
  done
  podman run --rm "$image" topicwire --help >/dev/null 2>&1 || fail "topicwire --help fails in the image"
  podman run --rm "$image" test -s /opt/topicwire/share/topicwire/taxonomy/default.textproto ||
    fail "the default taxonomy is missing from the image"
  if podman run --rm "$image" sh -c 'command -v g++ || command -v cmake || command -v ninja'; then
    fail "the runtime image holds build tools"
  fi
  # The taxonomy can be replaced by mounting a file: a broken one must make classify refuse to start.
  echo 'this is not a taxonomy {' >"$work/bad.textproto"
  local status=0
  podman run --rm -v "$work/bad.textproto:/opt/topicwire/share/topicwire/taxonomy/default.textproto:ro" \
    "$image" timeout 10 classify --work_endpoint=tcp://127.0.0.1:1 >"$work/bad-taxonomy.log" 2>&1 ||
    status=$?
  # 0 or 124 (still running when timeout stopped it) would mean the mount was not read.
  if ((status == 0 || status == 124)); then
    fail "classify ran with a mounted broken taxonomy (status $status): the mount does not override"
  fi
}

# ---------------------------------------------------------------- shared checks
# Arguments: publish, stream and history endpoints; a function that takes one worker out and
# one that brings a worker in; the HTTP base URLs of ingest and sink.
run_traffic() {
  local publish="$1" stream="$2" history="$3" kill_worker="$4" add_worker="$5"
  local ingest_http="$6" sink_http="$7"
  local feed="$work/feed.jsonl" got="$work/got-$RANDOM.jsonl"
  # The sample feed (zh/en, false friends) plus generated articles, enough to kill a worker
  # mid-stream.
  python3 "$here/feed_check.py" generate "$articles" "$work/generated.jsonl"
  cat "$src/samples/feed.jsonl" "$work/generated.jsonl" >"$feed"
  local total
  total="$(grep -c . "$feed")"
  "$cli" tag --format json "$feed" >"$work/expected.jsonl" 2>"$work/tag.err" ||
    fail "topicwire tag failed: $(tail -5 "$work/tag.err")"

  # --since 0 replays history first, so nothing published before the SUB socket joined is lost.
  "$cli" subscribe --from "$stream" --history "$history" --since 0 --format json \
    "${curve_to_sink[@]}" >"$got" 2>"$work/subscribe.err" &
  subscriber_pid=$!
  # The feed goes out in chunks of 10 with a short pause between them, so the stream lasts
  # several seconds and a worker can be taken out while it flows.
  rm -f "$work"/chunk.*
  split -l 10 -d -a 4 "$feed" "$work/chunk."
  (
    for chunk in "$work"/chunk.*; do
      "$cli" publish --to "$publish" --timeout 60 "${curve_to_ingest[@]}" "$chunk" >>"$work/publish.out" 2>>"$work/publish.err"
      sleep 0.1
    done
  ) &
  publisher_pid=$!

  seen() { python3 "$here/feed_check.py" seen "$feed" "$got"; }
  at_least() { (($(seen) >= $1)); }
  wait_for 120 "the first $((total / 4)) articles to arrive" at_least $((total / 4))
  kill -0 "$publisher_pid" 2>/dev/null || fail "the feed was fully published before a worker could be stopped"
  log "$(seen) of $total arrived, publishing goes on; taking one classify worker out"
  # Frozen first, so it holds articles it was handed and stops answering heartbeats; then
  # killed. ingest must hand what it held to the other workers.
  "$kill_worker"
  "$add_worker"
  wait "$publisher_pid" || fail "publish failed: $(tail -5 "$work/publish.err")"
  publisher_pid=""
  wait_for 180 "all $total articles to arrive" at_least "$total"
  log "all $total arrived"
  # Anything still in flight (a redelivery) would show up now as a second copy.
  wait_for 15 "the sink to report every article stored" metric_equals "$sink_http" \
    topicwire_sink_articles_stored_total "$total"
  kill "$subscriber_pid" 2>/dev/null || true
  wait "$subscriber_pid" 2>/dev/null || true
  subscriber_pid=""
  python3 "$here/feed_check.py" verify "$feed" "$work/expected.jsonl" "$got" ||
    fail "delivery check failed"

  curl -fsS "$ingest_http/metrics" >"$work/ingest.metrics" || fail "ingest /metrics does not answer"
  local accepted redelivered
  accepted="$(metric_sum "$work/ingest.metrics" topicwire_ingest_articles_accepted_total)"
  redelivered="$(metric_sum "$work/ingest.metrics" topicwire_ingest_redeliveries_total)"
  ((accepted == total)) || fail "ingest /metrics says $accepted accepted, expected $total"
  grep -q '^# TYPE topicwire_ingest_journal_bytes gauge' "$work/ingest.metrics" ||
    fail "ingest /metrics lacks the journal size"
  curl -fsS "$sink_http/metrics" >"$work/sink.metrics" || fail "sink /metrics does not answer"
  grep -q '^topicwire_sink_store_bytes' "$work/sink.metrics" || fail "sink /metrics lacks the store size"
  log "metrics: ingest accepted=$accepted redeliveries=$redelivered; sink stored=$total"
}

# Freezes a worker mid-stream until ingest has redelivered what it held, then kills it.
freeze_then_kill() {
  local container="$1" ingest_http="$2" before
  curl -fsS "$ingest_http/metrics" >"$work/before.metrics" || fail "ingest /metrics does not answer"
  before="$(metric_sum "$work/before.metrics" topicwire_ingest_redeliveries_total)"
  podman pause "$container" >/dev/null || fail "podman pause $container failed"
  log "froze $container; waiting for ingest to redeliver what it held"
  redelivered_more() {
    curl -fsS "$ingest_http/metrics" >"$work/now.metrics" &&
      (($(metric_sum "$work/now.metrics" topicwire_ingest_redeliveries_total) > before))
  }
  wait_for 60 "ingest to redeliver the frozen worker's articles" redelivered_more
  podman kill --signal KILL "$container" >/dev/null 2>&1 || podman rm -f "$container" >/dev/null
  log "killed $container (SIGKILL)"
}

# Sum of every series of a metric in a Prometheus text file.
metric_sum() {
  awk -v name="$2" '$1 == name || index($1, name "{") == 1 { sum += $NF }
                    END { printf "%d\n", sum }' "$1"
}
metric_equals() {
  curl -fsS "$1/metrics" >"$work/probe.metrics" &&
    (($(metric_sum "$work/probe.metrics" "$2") == $3))
}
ready() { [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1/readyz")" == 200 ]]; }

# ---------------------------------------------------------------- 3. Kubernetes manifests
ip_of() {
  podman inspect "$1" --format "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}"
}

kube_kill_worker() {
  freeze_then_kill "${prefix}classify-pod-1-classify" "$kube_ingest_http"
}
kube_add_worker() {
  # A worker joining, as `kubectl scale` would add one: same image, same settings.
  local keys="$work/curve-pods"
  podman run -d --name "${prefix}classify-joined" --network "$network" \
    -v "$keys:/etc/topicwire/curve:ro" "$image" classify \
    --work_endpoint="tcp://${prefix}ingest-pod-0:7403" --sink_endpoint="tcp://${prefix}sink-pod-0:7404" \
    --http_listen=0.0.0.0:7408 --curve_secret_key_file=/etc/topicwire/curve/classify.key \
    --curve_ingest_server_key=/etc/topicwire/curve/ingest.pub \
    --curve_sink_server_key=/etc/topicwire/curve/sink.pub >/dev/null
  wait_for 60 "the joined worker to be ready" ready "http://$(ip_of "${prefix}classify-joined"):7408"
  log "a new classify worker joined"
}

test_kube() {
  log "=== Kubernetes manifests under podman kube play"
  teardown_kube
  podman network create "$network" >/dev/null
  # The taxonomy ConfigMap made from the taxonomy in this tree (so the offline tagger and the
  # workers agree; k8s_taxonomy_configmap_in_sync checks the committed one).
  "$src/deploy/k8s/make-taxonomy-configmap.sh" >"$work/taxonomy.yaml"
  # Every hop runs with CURVE, keys made here (docs/OPERATIONS.md): the stage key pairs, a client
  # key and the allow-lists. The pods get a copy owned by the image's user, keys at mode 0400, as
  # the Secret with defaultMode 0400 gives them on a cluster (kube_local.py says why not a Secret).
  local keys="$work/curve" name
  rm -rf "$keys" && mkdir -m 0700 "$keys"
  for name in ingest sink classify client; do
    "$cli" keygen --out "$keys/$name" >/dev/null || fail "topicwire keygen $name failed"
  done
  cat "$keys/client.pub" >"$keys/clients.allow"
  cat "$keys/client.pub" >"$keys/admins.allow"
  cat "$keys/classify.pub" "$keys/sink.pub" >"$keys/ingest-stages.allow"
  cat "$keys/classify.pub" >"$keys/sink-stages.allow"
  curve_to_ingest=(--curve-server-key "$keys/ingest.pub" --curve-key "$keys/client")
  curve_to_sink=(--curve-server-key "$keys/sink.pub" --curve-key "$keys/client")
  local pod_keys="$work/curve-pods"
  rm -rf "$pod_keys" && cp -r "$keys" "$pod_keys" && chmod 0400 "$pod_keys"/* &&
    chmod 0500 "$pod_keys" && chown -R 10001:10001 "$pod_keys"
  python3 "$here/kube_local.py" --prefix "$prefix" --image "$image" --curve-dir "$pod_keys" \
    "$src/deploy/k8s/config.yaml" "$work/taxonomy.yaml" "$src"/deploy/k8s/{ingest,sink,classify}.yaml \
    >"$work/kube.yaml"
  podman kube play --network "$network" "$work/kube.yaml" >"$work/play.log" 2>&1 ||
    fail "podman kube play failed: $(tail -10 "$work/play.log")"
  local ingest sink worker
  ingest="$(ip_of "${prefix}ingest-pod-0-ingest")"
  sink="$(ip_of "${prefix}sink-pod-0-sink")"
  [[ -n "$ingest" && -n "$sink" ]] || fail "pods have no address on $network"
  wait_for 60 "ingest /healthz" curl -fsS "http://$ingest:7406/healthz"
  for i in 0 1 2; do
    worker="$(ip_of "${prefix}classify-pod-$i-classify")"
    wait_for 60 "classify-pod-$i /readyz" ready "http://$worker:7408"
  done
  wait_for 60 "ingest /readyz" ready "http://$ingest:7406"
  wait_for 60 "sink /readyz" ready "http://$sink:7407"
  log "all five pods ready (ingest $ingest, sink $sink), every hop with CURVE"
  # A plaintext client and a worker without keys are refused: nothing comes back.
  printf '{"id": "plaintext-intruder", "title": "Quantum computing"}\n' >"$work/intruder.jsonl"
  if "$cli" publish --to "tcp://$ingest:7400" --timeout 3 "$work/intruder.jsonl" \
    >"$work/intruder.out" 2>&1; then
    fail "a plaintext publisher got an answer from the CURVE-secured ingest"
  fi
  kube_ingest_http="http://$ingest:7406"
  run_traffic "tcp://$ingest:7400" "tcp://$sink:7401" "tcp://$sink:7402" kube_kill_worker \
    kube_add_worker "http://$ingest:7406" "http://$sink:7407"
  teardown_kube
  curve_to_ingest=()
  curve_to_sink=()
  log "=== Kubernetes manifests (CURVE on every hop): passed"
}

# ---------------------------------------------------------------- 4. compose.yaml
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

compose_kill_worker() {
  freeze_then_kill "${compose_project}_classify-2_1" "http://127.0.0.1:$INGEST_HTTP_PORT"
}
compose_add_worker() {
  # The killed worker comes back and joins again (podman may already have restarted it under
  # `restart: unless-stopped`; then this start changes nothing).
  podman start "${compose_project}_classify-2_1" >/dev/null
  wait_for 60 "the restarted worker to be ready" ready "http://127.0.0.1:$CLASSIFY_2_HTTP_PORT"
  log "the killed classify worker restarted and joined again"
}

test_compose() {
  log "=== compose.yaml under podman-compose"
  teardown_compose
  export TOPICWIRE_IMAGE="$image"
  export PUBLISH_PORT STREAM_PORT HISTORY_PORT INGEST_HTTP_PORT SINK_HTTP_PORT
  export CLASSIFY_1_HTTP_PORT CLASSIFY_2_HTTP_PORT CLASSIFY_3_HTTP_PORT
  PUBLISH_PORT=$(free_port) STREAM_PORT=$(free_port) HISTORY_PORT=$(free_port)
  INGEST_HTTP_PORT=$(free_port) SINK_HTTP_PORT=$(free_port)
  CLASSIFY_1_HTTP_PORT=$(free_port) CLASSIFY_2_HTTP_PORT=$(free_port) CLASSIFY_3_HTTP_PORT=$(free_port)
  podman-compose -f "$src/deploy/compose.yaml" -p "$compose_project" up -d >"$work/compose.log" 2>&1 ||
    fail "podman-compose up failed: $(tail -10 "$work/compose.log")"
  # Ports are published on the loopback address only.
  local published
  published="$(podman port "${compose_project}_ingest_1")"
  [[ "$published" == *"127.0.0.1:$PUBLISH_PORT"* && "$published" != *"0.0.0.0"* ]] ||
    fail "ingest's ports are not on 127.0.0.1 only: $published"
  local port
  for port in "$CLASSIFY_1_HTTP_PORT" "$CLASSIFY_2_HTTP_PORT" "$CLASSIFY_3_HTTP_PORT" \
    "$INGEST_HTTP_PORT" "$SINK_HTTP_PORT"; do
    wait_for 60 "/readyz on 127.0.0.1:$port" ready "http://127.0.0.1:$port"
  done
  # The healthchecks compose declares pass (podman runs them on demand without systemd).
  local service
  for service in ingest sink classify-1; do
    podman healthcheck run "${compose_project}_${service}_1" >/dev/null ||
      fail "the compose healthcheck of $service fails"
  done
  log "all five services ready and healthy"
  run_traffic "tcp://127.0.0.1:$PUBLISH_PORT" "tcp://127.0.0.1:$STREAM_PORT" \
    "tcp://127.0.0.1:$HISTORY_PORT" compose_kill_worker compose_add_worker \
    "http://127.0.0.1:$INGEST_HTTP_PORT" "http://127.0.0.1:$SINK_HTTP_PORT"
  teardown_compose
  log "=== compose.yaml: passed"
}

# ---------------------------------------------------------------- main
ensure_podman
[[ -x "$cli" ]] || fail "no built CLI at $cli (build the 'topicwire' target first)"
trap cleanup EXIT
build_image
test_kube
test_compose
log "PASSED: image, Kubernetes manifests and compose.yaml"
