#!/usr/bin/env bash
# How training cost grows with the context: LM-small (d=256, 4 layers, 4 heads, ff=1024,
# vocabulary 4096, learned positions, untied output, no dropout, AdamW, random tokens) at
# context 128, 512 and 1,024 with the same tokens per batch (2,048: batch 16, 4, 2), attn against
# the PyTorch reference ../shared/anchors/torch_lm.py, back to back, 2 threads each. Prints
# training tokens/s (3 warm-up steps, then the mean of STEPS steps, as the reference measures)
# and peak resident memory (`/usr/bin/time -v`) of both, and the ratios attn / PyTorch; the median
# of ROUNDS alternating rounds, with the load average before and after.
#
#   bash tests/perf/bench_context.sh [BUILD_DIR] [ROUNDS] [STEPS] [TOKENS]   (defaults: build, 3, 10, 2048)
#
# attn runs <BUILD_DIR>/tests/perf/attn_bench_context (the same model and steps, built with the
# tests). The reference runs as a copy whose context and batch line is set to T and TOKENS/T and
# whose greedy-generation tail is cut off; its path can be overridden with ATTN_TORCH_LM.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-$here/../../build}")
rounds=${2:-3}
steps=${3:-10}
tokens=${4:-2048}
bench=$build/tests/perf/attn_bench_context
torch_lm=${ATTN_TORCH_LM:-$here/../../../shared/anchors/torch_lm.py}
python=/usr/bin/python3

[ -x /usr/bin/time ] || { echo "bench_context: /usr/bin/time missing; install with: apt-get install time" >&2; exit 2; }
$python -c 'import torch' 2>/dev/null ||
  { echo "bench_context: python3-torch missing; install with: apt-get install python3-torch" >&2; exit 2; }
[ -x "$bench" ] || { echo "bench_context: no $bench (build the target attn_bench_context)" >&2; exit 2; }
[ -f "$torch_lm" ] || { echo "bench_context: no PyTorch reference at $torch_lm (set ATTN_TORCH_LM)" >&2; exit 2; }
[ "$rounds" -ge 1 ] 2>/dev/null || { echo "bench_context: ROUNDS must be a number >= 1" >&2; exit 2; }
[ "$steps" -ge 1 ] 2>/dev/null || { echo "bench_context: STEPS must be a number >= 1" >&2; exit 2; }
grep -q '^V,D,L,H,F,T,B = ' "$torch_lm" ||
  { echo "bench_context: $torch_lm has no 'V,D,L,H,F,T,B = ' line to set the context on" >&2; exit 2; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
peak_mb() { awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "bench_context: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "LM-small, $tokens tokens per batch, 2 threads each, $steps timed steps after 3 warm-up, median of $rounds rounds"
printf '%-8s %-6s %12s %12s %7s %12s %12s %7s %10s\n' context batch "attn tok/s" "torch tok/s" speed \
  "attn peak" "torch peak" memory "attn loss"
for T in 128 512 1024; do
  B=$((tokens / T))
  [ "$B" -ge 1 ] || { echo "bench_context: TOKENS $tokens is less than the context $T" >&2; exit 2; }
  # The reference at this context: its model line set, the timed loop kept, the generation cut.
  sed -e "s/^V,D,L,H,F,T,B = .*/V,D,L,H,F,T,B = 4096,256,4,4,1024,$T,$B/" -e "s/^n=10; /n=$steps; /" \
    -e '/^# inference/,$d' "$torch_lm" >"$tmp/torch_lm_$T.py"
  : >"$tmp/attn_tps" && : >"$tmp/torch_tps" && : >"$tmp/attn_mb" && : >"$tmp/torch_mb"
  for _ in $(seq "$rounds"); do
    /usr/bin/time -v "$bench" "$T" "$B" "$steps" 2 >"$tmp/attn.out" 2>"$tmp/attn.time" ||
      { echo "bench_context: attn_bench_context failed at context $T:" >&2; cat "$tmp/attn.time" >&2; exit 1; }
    sed -n 's/.*tokens\/s \([0-9.]*\).*/\1/p' "$tmp/attn.out" >>"$tmp/attn_tps"
    sed -n 's/.* loss \([0-9.]*\).*/\1/p' "$tmp/attn.out" >"$tmp/attn_loss"
    peak_mb "$tmp/attn.time" >>"$tmp/attn_mb" && echo >>"$tmp/attn_mb"
    /usr/bin/time -v $python "$tmp/torch_lm_$T.py" >"$tmp/torch.out" 2>"$tmp/torch.time" ||
      { echo "bench_context: the PyTorch reference failed at context $T:" >&2; cat "$tmp/torch.time" >&2; exit 1; }
    sed -n 's/.*tokens\/s=\([0-9.]*\).*/\1/p' "$tmp/torch.out" >>"$tmp/torch_tps"
    peak_mb "$tmp/torch.time" >>"$tmp/torch_mb" && echo >>"$tmp/torch_mb"
  done
  for f in attn_tps torch_tps; do
    [ -s "$tmp/$f" ] || { echo "bench_context: no tokens/s in the output at context $T ($f)" >&2; exit 1; }
  done
  a_tps=$(median <"$tmp/attn_tps"); t_tps=$(median <"$tmp/torch_tps")
  a_mb=$(median <"$tmp/attn_mb"); t_mb=$(median <"$tmp/torch_mb")
  awk -v T="$T" -v B="$B" -v at="$a_tps" -v tt="$t_tps" -v am="$a_mb" -v tm="$t_mb" -v loss="$(cat "$tmp/attn_loss")" \
    'BEGIN { printf "%-8s %-6s %12.0f %12.0f %6.2fx %9.0f MB %9.0f MB %6.2fx %10s\n", T, B, at, tt, at / tt, am, tm, am / tm, loss }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "goal at context 1024: speed >= 2x, memory <= 0.5x"
