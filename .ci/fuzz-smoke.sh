#!/usr/bin/env bash
# CI: a short libFuzzer smoke run, 10 s per target after the clang build (tests/fuzz/README.md).
# A finding (crash, leak, timeout, out-of-memory) fails CI; the input is in build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/fuzz/run.sh "${ATTN_FUZZ_SECONDS:-10}"
