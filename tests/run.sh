#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit + end-to-end) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash examples/setup.sh
cd "${ATTN_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)"
