#!/usr/bin/env bash
# From one thread to two: training tokens/s of `attn train` at --threads 1 and --threads 2 and the
# efficiency (tok/s at 2 / (2 x tok/s at 1)), for LM-small on examples/data/kjv-genesis.txt
# (d=256, 4 layers, 4 heads, ff=1024, BPE 4096, context 128, batch 16), the bench_nmt.sh
# Transformer on examples/data/en-fr.tsv (d=256, 3+3 layers, ff=1024, dropout 0.1, BPE 4000,
# ~2,000 padded target tokens per batch) and an LSTM seq2seq on the same pairs (embedding 256,
# hidden 512, additive attention). Tokens/s in steady state: from the end of the third update
# to the last, from the run's --log (cumulative tokens / tokens_per_s at each step). The losses
# must not depend on the thread count; the script prints both runs' last loss.
# This virtual machine's speed drifts by 5-10 % between runs seconds apart (the host's other
# load), as much as the effect measured: with ROUNDS > 1 each model runs ROUNDS pairs, the
# order alternating (1 then 2 threads, then 2 then 1, ...), and the line gives each pair's
# efficiency and their median (tokens/s as in the first pair).
#
#   bash tests/perf/bench_threads.sh [ATTN_BINARY] [STEPS] [ROUNDS]   (defaults: build/attn, 30, 1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
attn=$(realpath "${1:-$here/../../build/attn}")
steps=${2:-30}
rounds=${3:-1}
data=$here/../../examples/data
[ -x "$attn" ] || { echo "bench_threads: no $attn (build first)" >&2; exit 2; }
[ "$steps" -ge 5 ] 2>/dev/null || { echo "bench_threads: STEPS must be a number >= 5" >&2; exit 2; }
[ "$rounds" -ge 1 ] 2>/dev/null || { echo "bench_threads: ROUNDS must be a number >= 1" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
awk -F'\t' 'NR % 40 != 0' "$data/en-fr.tsv" >pairs.tsv
"$attn" vocab --type bpe --size 4096 "$data/kjv-genesis.txt" -o gen.vocab 2>/dev/null
"$attn" vocab --type bpe --size 4000 --column all pairs.tsv -o enfr.vocab 2>/dev/null
echo "bench_threads: $(date -u '+%Y-%m-%d %H:%M UTC'), $steps steps, $rounds round(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %12s %12s %11s   %s\n' model "1 thread" "2 threads" efficiency "last loss (1 | 2 threads)"

# steady LOG: tokens/s from the end of the third update to the last
steady() {
  python3 - "$1" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r.get("split", "train") in ("", "train") and r["tokens_per_s"]]
seen, times, toks = 0, [], []
for r in rows:
    seen += float(r["tokens"]); toks.append(seen); times.append(seen / float(r["tokens_per_s"]))
print(f"{(toks[-1] - toks[2]) / (times[-1] - times[2]):.0f} {rows[-1]['loss']}")
PY
}
bench() {
  local name=$1; shift
  local r t1 t2 l1 l2 effs=() first=""
  for ((r = 0; r < rounds; r++)); do
    local order="1 2"
    [ $((r % 2)) -eq 1 ] && order="2 1"
    for n in $order; do
      "$attn" train "$@" --steps "$steps" --threads "$n" -q -o "$name.ckpt" --log "$name-$n.csv" --log-every 1
    done
    read -r t1 l1 <<<"$(steady "$name-1.csv")"
    read -r t2 l2 <<<"$(steady "$name-2.csv")"
    effs+=("$(echo "50 * $t2 / $t1" | bc -l)")
    [ -n "$first" ] || first="$t1 $t2 $l1 $l2"
  done
  read -r t1 t2 l1 l2 <<<"$first"
  if [ "$rounds" -eq 1 ]; then
    printf '%-12s %12s %12s %10.0f%%   %s | %s\n' "$name" "$t1" "$t2" "${effs[0]}" "$l1" "$l2"
  else
    local sorted median list
    sorted=$(printf '%s\n' "${effs[@]}" | sort -g)
    median=$(echo "$sorted" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
    list=$(printf '%.0f ' "${effs[@]}")
    printf '%-12s %12s %12s %10.0f%%   %s | %s   (median of %s pairs: %s%%)\n' "$name" "$t1" "$t2" "$median" "$l1" "$l2" \
      "$rounds" "${list% }"
  fi
}
bench lm-small --arch lm --train "$data/kjv-genesis.txt" -v gen.vocab --layers 4 --d-model 256 --heads 4 --ff 1024 \
  --max-len 128 --batch-size 16
bench transformer --arch transformer --train pairs.tsv -v enfr.vocab --layers 3 --d-model 256 --heads 4 --ff 1024 \
  --activation relu --norm pre --pos-encoding learned --dropout 0.1 --share-embeddings --tie-output=false \
  --max-len 66 --batch-tokens 2000
bench rnn --arch rnn --train pairs.tsv -v enfr.vocab --embed 256 --hidden 512 --attention additive --batch-tokens 2000 --max-len 66
