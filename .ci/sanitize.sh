#!/usr/bin/env bash
# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, in the sanitizer build
# that the fuzz targets share (tests/sanitizer_build.sh: clang, -O1 with line tables, assertions
# on). The benchmarks under tests/perf are not built there.
#
#   .ci/sanitize.sh              every unit test binary (ctest -L unit)
#   .ci/sanitize.sh io train     only test_io and test_train
#
# Environment: ATTN_SANITIZE_DIR (default build-sanitize), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ATTN_SANITIZE_DIR:-build-sanitize}
jobs=${JOBS:-2}

if [ $# -gt 0 ]; then
  targets=(); filter=""
  for area in "$@"; do targets+=("test_$area"); filter+="${filter:+|}unit_$area"; done
  bash tests/sanitizer_build.sh "${targets[@]}"
  filter="^($filter)\$"
else
  # Every test binary, plus `attn` itself (tests/cli run the real binary too) and the fuzz targets.
  bash tests/sanitizer_build.sh
  filter="."
fi

# Leak checking needs ptrace rights that some containers lack; it is on wherever it works.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One BLAS thread: OpenBLAS's thread pool is not what is under test, and 2 cores are shared.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
ctest --test-dir "$build" -L unit -R "$filter" --output-on-failure -j"$jobs"
