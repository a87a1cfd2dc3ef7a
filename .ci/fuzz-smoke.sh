#!/usr/bin/env bash
# CI: a short libFuzzer smoke run, 10 s per target after the clang build (tests/fuzz/README.md).
# A finding (crash, leak, timeout, out-of-memory) fails CI; the input is in build-sanitize/findings/.
# It reuses the sanitizer build of .ci/sanitize.sh (tests/sanitizer_build.sh), so it compiles nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/fuzz/run.sh "${ATTN_FUZZ_SECONDS:-10}"
