#!/usr/bin/env bash
# Installs what is missing (Debian packages), then configures and builds attn in ./build.
# Used by both README commands: examples/quickstart.sh and tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ make cmake libxtensor-dev libxtensor-blas-dev libxsimd-dev libopenblas-dev
          libboost-program-options-dev libboost-serialization-dev doctest-dev nlohmann-json3-dev
          openmpi-bin libopenmpi-dev chromium time)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >&2
fi

build_dir=${ATTN_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)" 2>&1 | grep -E "error|warning|Error" >&2 || true
cmake --build "$build_dir" -j"$(nproc)" >/dev/null   # fails loudly if the build is broken
