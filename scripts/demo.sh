#!/usr/bin/env bash
# A tour of topicwire on one machine: build, start the pipeline (`topicwire up`), subscribe,
# publish the sample feed, show the tagged streams, stop cleanly.
#   TOPICWIRE_BUILD_DIR   build directory (default: build)
#   TOPICWIRE_DEMO_PORT   base port (default: 7400; the demo uses this and the next 10)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${TOPICWIRE_BUILD_DIR:-build}
port=${TOPICWIRE_DEMO_PORT:-7400}
bin="$build_dir/bin"
work=$(mktemp -d -t topicwire-demo-XXXXXX)

echo "== 1. dependencies and build ($build_dir)"
bash scripts/setup-debian.sh
cmake -S . -B "$build_dir" -G Ninja >/dev/null
ninja -C "$build_dir" -j "${TOPICWIRE_JOBS:-2}" topicwire ingest classify sink

echo "== 2. topicwire up (data and logs in $work/data)"
"$bin/topicwire" up --data-dir "$work/data" --base-port "$port" 2>"$work/up.log" &
up_pid=$!
stop_pipeline() {
  if kill -0 "$up_pid" 2>/dev/null; then
    kill -TERM "$up_pid"
    wait "$up_pid" && echo "topicwire up stopped cleanly (exit 0)" ||
      echo "topicwire up exited with $?"
  fi
}
trap stop_pipeline EXIT

# Waits (at most 60 s) until every stage answers 200 on /readyz: a loaded machine may take some
# seconds to start the workers, and a subscriber's --timeout should not count that time.
ready() { # ready PORT
  local status
  # In braces, so that hiding bash's "connection refused" does not hide the script's stderr.
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
  read -r _ status _ <&3 || true
  exec 3<&-
  [[ $status == 200 ]]
}
deadline=$((SECONDS + 60))
for http_port in $((port + 6)) $((port + 7)) $((port + 10)) $((port + 11)); do
  until ready "$http_port"; do
    if ((SECONDS >= deadline)); then
      echo "the pipeline is not ready after 60 s; see $work/data/logs/" >&2
      exit 1
    fi
    sleep 0.2
  done
done

echo "== 3. subscribe to every stream (history first, so nothing is missed while starting)"
# --since 0 replays what sink stored before this subscriber connected, then follows live;
# --timeout 5 ends it five seconds after the last message.
"$bin/topicwire" subscribe --from "tcp://127.0.0.1:$((port + 1))" --since 0 --format text \
  --timeout 5 >"$work/streams.txt" 2>"$work/subscribe.log" &
subscribe_pid=$!

echo "== 4. publish samples/feed.jsonl"
"$bin/topicwire" publish --to "tcp://127.0.0.1:$port" samples/feed.jsonl
echo "   (publishing the same feed again: every article is a duplicate)"
"$bin/topicwire" publish --to "tcp://127.0.0.1:$port" samples/feed.jsonl

echo "== 5. the tagged streams (stream#sequence [tags with scores] id: title)"
wait "$subscribe_pid" || true
cat "$work/streams.txt"
echo
echo "messages per stream:"
cut -d'#' -f1 "$work/streams.txt" | sort | uniq -c | sort -rn

echo "== 6. one message as the subscriber's JSON (the wire format: topicwire.v1.TaggedArticle)"
"$bin/topicwire" subscribe --from "tcp://127.0.0.1:$((port + 1))" --since 0 --count 1 quantum

echo "== 7. stop (SIGTERM: ingest, then the workers, then sink)"
stop_pipeline
trap - EXIT
tail -n 6 "$work/up.log"
