#!/usr/bin/env bash
# Installs the dependencies, builds everything with warnings as errors and runs every test.
#   TOPICWIRE_BUILD_DIR   build directory (default: build)
#   TOPICWIRE_JOBS        parallel compile and test jobs (default: 2)
#   TOPICWIRE_CTEST_ARGS  extra ctest arguments, e.g. "-LE container" to skip the container test
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${TOPICWIRE_BUILD_DIR:-build}
jobs=${TOPICWIRE_JOBS:-2}

bash scripts/setup-debian.sh
cmake -S . -B "$build_dir" -G Ninja -DTOPICWIRE_WERROR=ON
ninja -C "$build_dir" -j "$jobs"
cd "$build_dir"
# shellcheck disable=SC2086  # TOPICWIRE_CTEST_ARGS is a list of words on purpose
ctest --output-on-failure -j "$jobs" ${TOPICWIRE_CTEST_ARGS:-}
