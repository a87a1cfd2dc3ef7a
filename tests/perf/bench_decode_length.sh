#!/usr/bin/env bash
# How decoding's cost per output token grows with the output's length: the bench_nmt.sh
# Transformer (d=256, 3+3 layers, 4 heads, ff=1024, 4,000-token BPE) decoding 256 held-out
# sources of examples/data/en-fr.tsv at --max-len 16, 64 and 256, greedy and beam 5, batch 64,
# 2 threads. The model is trained for one update at a learning rate of 1e-7: it has not learned to stop, so (nearly)
# every output runs to the length limit and each length is measured at that length. (Its
# outputs are meaningless; what is measured is the work per output token: the KV caches, the
# cross-attention over the source, the output layer, the search.) Output tokens/s counts the
# tokens of each output (re-tokenized) + <eos>, capped at the limit; the time of loading the
# checkpoint (decoding an empty input) is left out. Each time is the fastest of REPEATS runs (the
# host's speed varies between runs, and a 16-token run is short: half a second, of the size of
# the loading time it subtracts). The goal (issue #10): tokens/s at 16, 64 and 256 within 20 % of
# each other, for greedy and for beam 5; each search ends with the slowest / fastest of its three. Each search runs with the K/V caches in f32 (the default)
# and in f16 (--kv-cache f16: half the bytes for the attention to read at every step).
#
#   bash tests/perf/bench_decode_length.sh [ATTN_BINARY] [SOURCES] [REPEATS]   (defaults: build/attn, 256, 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
attn=$(realpath "${1:-$here/../../build/attn}")
n_src=${2:-256}
repeats=${3:-3}
[ -x "$attn" ] || { echo "bench_decode_length: no $attn (build first)" >&2; exit 2; }
command -v bc >/dev/null || { echo "bench_decode_length: bc missing; install with: apt-get install bc" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
# fastest COMMAND...: the shortest wall time of $repeats runs of COMMAND (its output to out.txt)
fastest() {
  local best="" t0 secs
  for _ in $(seq "$repeats"); do
    t0=$(now)
    "$@" >out.txt 2>/dev/null
    secs=$(since "$t0")
    if [ -z "$best" ] || [ "$(echo "$secs < $best" | bc)" -eq 1 ]; then best=$secs; fi
  done
  echo "$best"
}

awk -F"\t" -v n="$n_src" 'NR % 40 == 0 && ++k <= n { print $1 }' "$here/../../examples/data/en-fr.tsv" >sources.txt
awk -F'\t' 'NR % 40 != 0' "$here/../../examples/data/en-fr.tsv" >train.tsv
"$attn" vocab --type bpe --size 4000 --column all train.tsv -o enfr.vocab 2>/dev/null
"$attn" train --arch transformer --train train.tsv -v enfr.vocab \
  --layers 3 --d-model 256 --heads 4 --ff 1024 --activation relu --norm pre --pos-encoding learned \
  --dropout 0.1 --share-embeddings --tie-output=false --max-len 258 \
  --batch-tokens 2000 --steps 1 --lr 1e-7 --seed 1 --threads 2 -q -o model.ckpt
echo "bench_decode_length: $(date -u '+%Y-%m-%d %H:%M UTC'), $(wc -l <sources.txt) sources, batch 64, 2 threads, fastest of $repeats," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-8s %8s %12s %14s %10s\n' search kv-cache max-len "mean length" "output tok/s" "vs 16"

for beam in 1 5; do
  for kv in f32 f16; do
    base="" lo="" hi=""
    for len in 16 64 256; do
      run=("$attn" decode -m model.ckpt --batch-size 64 --max-len "$len" --beam "$beam" --kv-cache "$kv" --threads 2 -q)
      load=$(fastest "${run[@]}" /dev/null)
      secs=$(fastest "${run[@]}" sources.txt)
      secs=$(echo "$secs - $load" | bc)
      tokens=$("$attn" tokenize -v enfr.vocab out.txt | awk -v m="$len" '{ n = NF + 1; s += n > m ? m : n } END { print s + 0 }')
      tps=$(echo "$tokens / $secs" | bc -l)
      [ -n "$base" ] || base=$tps
      { [ -z "$lo" ] || [ "$(echo "$tps < $lo" | bc)" -eq 1 ]; } && lo=$tps
      { [ -z "$hi" ] || [ "$(echo "$tps > $hi" | bc)" -eq 1 ]; } && hi=$tps
      printf '%-8s %-8s %8d %12.1f %14.0f %9.0f%%\n' "$([ "$beam" -eq 1 ] && echo greedy || echo "beam $beam")" "$kv" "$len" \
        "$(echo "$tokens / $(wc -l <sources.txt)" | bc -l)" "$tps" "$(echo "100 * $tps / $base" | bc -l)"
    done
    printf '%-8s %-8s slowest / fastest of the three lengths: %.2f\n' \
      "$([ "$beam" -eq 1 ] && echo greedy || echo "beam $beam")" "$kv" "$(echo "$lo / $hi" | bc -l)"
  done
done
