#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS, then prints per
# target the executions and the findings (crash, leak, timeout, out-of-memory inputs saved).
# Exits 1 if anything was found.
#
#   tests/fuzz/run.sh 120               every target for 120 s
#   tests/fuzz/run.sh 60 vocab config   only these targets
#
# Environment: ATTN_SANITIZE_DIR (the sanitizer build, default build-sanitize), JOBS (default 2).
# The seeds in tests/fuzz/corpus/<target>/ are read, never written: what the fuzzer learns goes
# to $ATTN_SANITIZE_DIR/corpus/<target>/ and is kept between runs; findings go to
# $ATTN_SANITIZE_DIR/findings/<target>/ (reproduce one: $ATTN_SANITIZE_DIR/fuzz_<target> FILE).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(checkpoint vocab tokenize dataset config eval)
build=${ATTN_SANITIZE_DIR:-build-sanitize}
jobs=${JOBS:-2}

# The sanitizer build the unit tests share (clang, ASan + UBSan, coverage; installs clang if missing).
ATTN_SANITIZE_DIR="$build" JOBS="$jobs" bash tests/sanitizer_build.sh "${targets[@]/#/fuzz_}"

# Leaks are findings too where LeakSanitizer works (it needs ptrace rights some containers lack).
lsan=1
echo 'int main() { return 0; }' | clang++ -x c++ -fsanitize=address - -o "$build/lsan-probe" 2>/dev/null &&
  "$build/lsan-probe" 2>/dev/null || lsan=0
# A smaller quarantine and shorter allocation stacks: about twice the executions per second on
# these allocation-heavy readers, still catching use-after-free within an input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=$lsan:abort_on_error=1:detect_stack_use_after_return=1:quarantine_size_mb=32:malloc_context_size=10}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=1
# The targets' temporary files (fuzz_common.h), emptied after each target: a crash skips their cleanup.
export TMPDIR="$(cd "$build" && pwd)/tmp"

total=0
results=()
for t in "${targets[@]}"; do
  work="$build/corpus/$t" found="$build/findings/$t" log="$build/logs/$t.log"
  mkdir -p "$work" "$found" "$(dirname "$log")" "$TMPDIR"
  rm -f "$found"/*
  dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
  echo "fuzz: $t for ${seconds}s" >&2
  set +e
  "$build/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$found/" "${dict[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  rm -rf "$TMPDIR"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)
  findings=$(find "$found" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  # A non-zero exit without a saved input (e.g. the fuzzer could not start) counts as a finding too.
  if [ "$rc" -ne 0 ] && [ "$findings" -eq 0 ]; then findings=1; fi
  total=$((total + findings))
  results+=("$(printf '%-11s %12s executions  %d findings' "$t" "${execs:-?}" "$findings")")
  if [ "$findings" -gt 0 ]; then
    echo "fuzz: $t found something (exit $rc); log: $log" >&2
    { grep -m1 'attn fuzz finding' "$log" || grep -m1 -A12 -E 'ERROR|runtime error' "$log" || tail -20 "$log"; } |
      cut -c1-300 >&2
    ls "$found" >&2
  fi
done

echo "fuzz results (${seconds}s per target):"
printf '  %s\n' "${results[@]}"
if [ "$total" -gt 0 ]; then
  echo "fuzz: $total finding(s); inputs in $build/findings/" >&2
  exit 1
fi
