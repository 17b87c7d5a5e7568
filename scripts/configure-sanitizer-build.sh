#!/usr/bin/env bash
# Configures the one sanitizer build that scripts/sanitize.sh and scripts/fuzz.sh share: clang,
# AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer's coverage instrumentation in every
# library, warnings as errors. The test suite and the fuzz targets link the same objects, so a
# CI run compiles the project twice (plain and sanitized), not three times.
#   usage: scripts/configure-sanitizer-build.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:?usage: scripts/configure-sanitizer-build.sh BUILD_DIR}
# -O1: what the sanitizers' authors recommend (exact reports, faster to compile than -O2).
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -G Ninja -DTOPICWIRE_WERROR=ON \
  -DTOPICWIRE_SANITIZE=ON -DTOPICWIRE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
