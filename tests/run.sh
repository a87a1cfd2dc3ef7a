#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit + end-to-end) with CTest.
# Arguments go to ctest: `bash tests/run.sh -LE convergence` skips the checks whose outcome depends
# on training (`-L convergence` runs only those).
set -euo pipefail
cd "$(dirname "$0")/.."
bash examples/setup.sh
cd "${ATTN_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" "$@"
