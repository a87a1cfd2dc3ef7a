#!/usr/bin/env bash
# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, in their own build
# directory, at -O1 -g1 (ASan's recommended level: stacks readable with line numbers, and the
# build takes half the time of -O2 -g, which matters for CI's 30 minutes on 2 cores). The
# benchmarks under tests/perf are not built here.
#
#   .ci/sanitize.sh              every unit test binary (ctest -L unit)
#   .ci/sanitize.sh io train     only test_io and test_train
#
# Environment: ATTN_SANITIZE_DIR (default build-sanitize), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ATTN_SANITIZE_DIR:-build-sanitize}
jobs=${JOBS:-2}

cmake -S . -B "$build" -DATTN_SANITIZE=ON -DATTN_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null

if [ $# -gt 0 ]; then
  targets=(); filter=""
  for area in "$@"; do targets+=("test_$area"); filter+="${filter:+|}unit_$area"; done
  cmake --build "$build" -j"$jobs" --target "${targets[@]}"
  filter="^($filter)\$"
else
  # Every test binary, plus `attn` itself (tests/cli run the real binary too).
  cmake --build "$build" -j"$jobs"
  filter="."
fi

# Leak checking needs ptrace rights that some containers lack; it is on wherever it works.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One BLAS thread: OpenBLAS's thread pool is not what is under test, and 2 cores are shared.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
ctest --test-dir "$build" -L unit -R "$filter" --output-on-failure -j"$jobs"
