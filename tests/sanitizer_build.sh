#!/usr/bin/env bash
# Configures and builds the sanitizer build that .ci/sanitize.sh (the unit tests under ASan + UBSan)
# and tests/fuzz/run.sh (the libFuzzer targets) share: clang at -O1 with line tables (OSS-Fuzz's
# flags: quick to build, readable stacks), assertions on, ASan + UBSan, and libFuzzer's coverage
# instrumentation. One compile of lib/ serves both, which matters for CI's 30 minutes on 2 cores.
# Installs clang and libFuzzer's runtime (apt-get) when they are missing.
#
#   tests/sanitizer_build.sh                 everything: the unit tests, attn, the fuzz targets
#   tests/sanitizer_build.sh test_io attn    only these targets
#
# Environment: ATTN_SANITIZE_DIR (default build-sanitize), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ATTN_SANITIZE_DIR:-build-sanitize}
jobs=${JOBS:-2}

# clang with libFuzzer's runtime (Debian: clang + libclang-rt-dev, which provides -fsanitize=fuzzer).
have_fuzzer() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local dir
  dir=$(mktemp -d)
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$dir/t.cpp"
  clang++ -fsanitize=fuzzer,address,undefined "$dir/t.cpp" -o "$dir/t" >/dev/null 2>&1
  local ok=$?
  rm -rf "$dir"
  return $ok
}
if ! have_fuzzer; then
  echo "sanitizer build: installing clang and libFuzzer (apt-get)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang libclang-rt-dev >/dev/null
  have_fuzzer || { echo "sanitizer build: clang++ -fsanitize=fuzzer still does not link" >&2; exit 1; }
fi

# A build directory that an older attn configured with g++ (the sanitizer build was g++ before it
# became clang): cmake cannot change the compiler of a configured tree, so that tree starts over.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang' "$build/CMakeCache.txt"; then
  echo "sanitizer build: $build was configured with another compiler; configuring it anew with clang++" >&2
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" -DATTN_SANITIZE=ON -DATTN_FUZZ=ON \
  -DATTN_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build "$build" -j"$jobs" --target "$@"
else
  cmake --build "$build" -j"$jobs"
fi
