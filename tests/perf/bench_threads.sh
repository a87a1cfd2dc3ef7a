#!/usr/bin/env bash
# From one thread to two: training tokens/s of `attn train` at --threads 1 and --threads 2 and the
# efficiency (tok/s at 2 / (2 x tok/s at 1)), for LM-small on examples/data/kjv-genesis.txt
# (d=256, 4 layers, 4 heads, ff=1024, BPE 4096, context 128, batch 16), the bench_nmt.sh
# Transformer on examples/data/en-fr.tsv (d=256, 3+3 layers, ff=1024, dropout 0.1, BPE 4000,
# ~2,000 padded target tokens per batch) and an LSTM seq2seq on the same pairs (embedding 256,
# hidden 512, additive attention). Tokens/s in steady state: from the end of the third update
# to the last, from the run's --log (cumulative tokens / tokens_per_s at each step). The losses
# must not depend on the thread count; the script prints both runs' last loss.
#
#   bash tests/perf/bench_threads.sh [ATTN_BINARY] [STEPS]   (defaults: build/attn, 30)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
attn=$(realpath "${1:-$here/../../build/attn}")
steps=${2:-30}
data=$here/../../examples/data
[ -x "$attn" ] || { echo "bench_threads: no $attn (build first)" >&2; exit 2; }
[ "$steps" -ge 5 ] 2>/dev/null || { echo "bench_threads: STEPS must be a number >= 5" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
awk -F'\t' 'NR % 40 != 0' "$data/en-fr.tsv" >pairs.tsv
"$attn" vocab --type bpe --size 4096 "$data/kjv-genesis.txt" -o gen.vocab 2>/dev/null
"$attn" vocab --type bpe --size 4000 --column all pairs.tsv -o enfr.vocab 2>/dev/null
echo "bench_threads: $(date -u '+%Y-%m-%d %H:%M UTC'), $steps steps, load average $(cut -d' ' -f1-3 /proc/loadavg)"
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
  local r1 r2
  "$attn" train "$@" --steps "$steps" --threads 1 -q -o "$name.ckpt" --log "$name-1.csv" --log-every 1
  "$attn" train "$@" --steps "$steps" --threads 2 -q -o "$name.ckpt" --log "$name-2.csv" --log-every 1
  read -r t1 l1 <<<"$(steady "$name-1.csv")"
  read -r t2 l2 <<<"$(steady "$name-2.csv")"
  printf '%-12s %12s %12s %10.0f%%   %s | %s\n' "$name" "$t1" "$t2" "$(echo "50 * $t2 / $t1" | bc -l)" "$l1" "$l2"
}
bench lm-small --arch lm --train "$data/kjv-genesis.txt" -v gen.vocab --layers 4 --d-model 256 --heads 4 --ff 1024 \
  --max-len 128 --batch-size 16
bench transformer --arch transformer --train pairs.tsv -v enfr.vocab --layers 3 --d-model 256 --heads 4 --ff 1024 \
  --activation relu --norm pre --pos-encoding learned --dropout 0.1 --share-embeddings --tie-output=false \
  --max-len 66 --batch-tokens 2000
bench rnn --arch rnn --train pairs.tsv -v enfr.vocab --embed 256 --hidden 512 --attention additive --batch-tokens 2000 --max-len 66
