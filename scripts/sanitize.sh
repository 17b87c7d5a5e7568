#!/usr/bin/env bash
# Builds the whole project with AddressSanitizer + UndefinedBehaviorSanitizer (clang, the build
# scripts/fuzz.sh reuses) and runs the test suite under them, except the container test. Any
# sanitizer report fails the run.
#   TOPICWIRE_ASAN_BUILD_DIR  build directory (default: build-asan)
#   TOPICWIRE_JOBS            parallel compile and test jobs (default: 2)
#   TOPICWIRE_CTEST_ARGS      extra ctest arguments (default: none), e.g. "-R ingest"
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${TOPICWIRE_ASAN_BUILD_DIR:-build-asan}
jobs=${TOPICWIRE_JOBS:-2}
start=$(date +%s)

bash scripts/setup-debian.sh
bash scripts/configure-sanitizer-build.sh "$build_dir"
ninja -C "$build_dir" -j "$jobs"
built=$(date +%s)

# abort_on_error/halt_on_error turn any report into a failing test; leaks count as failures.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
# shellcheck disable=SC2086  # TOPICWIRE_CTEST_ARGS is a list of words on purpose
(cd "$build_dir" && ctest --output-on-failure -j "$jobs" -LE container ${TOPICWIRE_CTEST_ARGS:-}) ||
  status=$?
end=$(date +%s)
echo "sanitize.sh: build $((built - start))s, tests $((end - built))s, total $((end - start))s," \
  "ctest exit $status"
exit "$status"
