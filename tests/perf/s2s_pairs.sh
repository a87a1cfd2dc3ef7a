#!/usr/bin/env bash
# N generated sentence pairs for the Keras seq2seq layout (bench_s2s.sh, bench_threads.sh): each
# side 19 words drawn from w0 .. w9995 with awk's srand(1), tab-separated, on stdout.
#   bash tests/perf/s2s_pairs.sh N
set -euo pipefail
[ "${1:-}" -ge 1 ] 2>/dev/null || { echo "s2s_pairs: N must be a number >= 1" >&2; exit 2; }
awk -v n="$1" -v len=19 -v words=9996 'BEGIN {
  srand(1)
  for (i = 0; i < n; i++) {
    line = ""
    for (side = 0; side < 2; side++) {
      if (side) line = line "\t"
      for (j = 0; j < len; j++) line = line (j ? " " : "") "w" int(rand() * words)
    }
    print line
  } }'
