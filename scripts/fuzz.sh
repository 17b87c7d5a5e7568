#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan + coverage) and runs each one for
# a bounded time over a copy of its seed corpus in fuzz/corpus/<target>/. Fails when any target
# crashes, leaks, times out or breaks an invariant; the input that did it is saved under
# <build dir>/fuzz-artifacts/<target>/ (reproduce: <build dir>/bin/<target> <that file>).
#   usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...] (default: all)
#   TOPICWIRE_FUZZ_BUILD_DIR  build directory (default: build-asan, the sanitizer build that
#                             scripts/sanitize.sh makes: after it only the fuzz targets are built)
#   TOPICWIRE_JOBS            parallel compile jobs (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
build_dir=${TOPICWIRE_FUZZ_BUILD_DIR:-${TOPICWIRE_ASAN_BUILD_DIR:-build-asan}}
jobs=${TOPICWIRE_JOBS:-2}

if [[ ! "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a positive integer, got '$seconds'" >&2
  exit 2
fi

# clang and libFuzzer (compiler-rt) come with the project's packages.
bash scripts/setup-debian.sh

start=$(date +%s)
bash scripts/configure-sanitizer-build.sh "$build_dir"
ninja -C "$build_dir" -j "$jobs" fuzzers
built=$(date +%s)
echo "fuzz.sh: built the fuzz targets in $((built - start))s"

if (($# > 0)); then
  targets=("$@")
else
  targets=()
  for source in fuzz/*_fuzzer.cc; do targets+=("$(basename "$source" .cc)"); done
fi

# Leaks and UB fail a run just as crashes do.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
for target in "${targets[@]}"; do
  binary=$build_dir/bin/$target
  work=$build_dir/fuzz-work/$target
  artifacts=$build_dir/fuzz-artifacts/$target
  log=$build_dir/fuzz-logs/$target.log
  rm -rf "$work" "$artifacts"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  # A copy, so that what the run discovers never lands in the repository by accident.
  if [[ -d fuzz/corpus/$target ]]; then cp -R "fuzz/corpus/$target/." "$work/"; fi
  options=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=65536
    -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [[ -f fuzz/dicts/$target.dict ]]; then options+=(-dict="fuzz/dicts/$target.dict"); fi
  echo "fuzz.sh: running $target for ${seconds}s (log: $log)"
  status=0
  "$binary" "${options[@]}" "$work" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1)
  line="$target: execs=${execs:-?} ${coverage:-cov: ?} exit=$status"
  if ((status != 0)); then
    failed+=("$target")
    line+=" FAILED (artifacts in $artifacts)"
    echo "---- last lines of $log ----"
    tail -n 60 "$log"
    echo "----"
  fi
  summary+=("$line")
done

echo "fuzz.sh summary (${seconds}s per target, total $(($(date +%s) - start))s):"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
