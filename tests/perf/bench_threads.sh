#!/usr/bin/env bash
# From one thread to two: training tokens/s of `attn train` at --threads 1 and --threads 2 and the
# efficiency (tok/s at 2 / (2 x tok/s at 1)), for LM-small on examples/data/kjv-genesis.txt
# (d=256, 4 layers, 4 heads, ff=1024, BPE 4096, context 128, batch 16), the bench_nmt.sh
# Transformer on examples/data/en-fr.tsv (d=256, 3+3 layers, ff=1024, dropout 0.1, BPE 4000,
# ~2,000 padded target tokens per batch) and an LSTM seq2seq on the same pairs (embedding 256,
# hidden 512, additive attention), the Keras seq2seq layout of bench_s2s.sh, and greedy decoding
# of the 560 held-out sources with the Transformer just trained (output tokens/s, batches of 64,
# outputs of up to 64 tokens; the checkpoint's loading time subtracted; each the fastest of three
# runs). Training tokens/s in steady state: from the end of the third update to the last, from
# the run's --log (cumulative tokens / tokens_per_s at each step). The results must not depend on
# the thread count beyond rounding: the script prints both runs' last loss (for decoding, a hash
# of the output).
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
awk -F'\t' 'NR % 40 == 0 { print $1 }' "$data/en-fr.tsv" >sources.txt  # held out, for decoding
# the generated pairs of bench_s2s.sh, enough for its run
bash "$here/s2s_pairs.sh" $((128 * steps)) >s2s.tsv
"$attn" vocab --type word --size 10000 --column all -q -o s2s.vocab s2s.tsv
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
# pairs NAME RUN: ROUNDS pairs of `RUN n` (n = 1, 2 threads), each printing "tokens/s result";
# one line: the first pair's figures, its results, each pair's efficiency and their median.
pairs() {
  local name=$1 run=$2
  local r n t1 t2 l1 l2 effs=() first="" out
  for ((r = 0; r < rounds; r++)); do
    local order="1 2"
    [ $((r % 2)) -eq 1 ] && order="2 1"
    for n in $order; do
      out=$("$run" "$n")
      if [ "$n" = 1 ]; then read -r t1 l1 <<<"$out"; else read -r t2 l2 <<<"$out"; fi
    done
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
# train_at n: `attn train` with the current model's arguments (args) for run_steps steps.
train_at() {
  "$attn" train "${args[@]}" --steps "$run_steps" --threads "$1" -q -o "$model.ckpt" --log "$model-$1.csv" --log-every 1
  steady "$model-$1.csv"
}
bench() {
  model=$1; shift
  args=("$@")
  pairs "$model" train_at
}
# fastest3 COMMAND...: the shortest wall time of three runs of COMMAND.
fastest3() {
  local best="" t0 secs
  for _ in 1 2 3; do
    t0=$(date +%s.%N)
    "$@"
    secs=$(echo "$(date +%s.%N) - $t0" | bc)
    if [ -z "$best" ] || [ "$(echo "$secs < $best" | bc)" -eq 1 ]; then best=$secs; fi
  done
  echo "$best"
}
# decode_at n: greedy decoding of the held-out sources with the Transformer's checkpoint; output
# tokens (each line's tokens + <eos>) per second, less the time to load the checkpoint. Each time
# is the fastest of three runs: loading alone took 0.20-0.58 s from one run to the next (the
# host's first touch of fresh memory), against 1.7 s of decoding on two threads.
decode_at() {
  local load all tokens
  load=$(fastest3 "$attn" decode -m transformer.ckpt --max-len 64 --threads "$1" -q /dev/null)
  all=$(fastest3 "$attn" decode -m transformer.ckpt --batch-size 64 --max-len 64 --threads "$1" -q -o "greedy-$1.txt" \
    sources.txt)
  tokens=$("$attn" tokenize -v enfr.vocab "greedy-$1.txt" | awk '{ n = NF + 1; s += n > 64 ? 64 : n } END { print s + 0 }')
  echo "$(echo "$tokens / ($all - $load)" | bc -l | xargs printf '%.0f') $(md5sum <"greedy-$1.txt" | cut -c1-8)"
}

run_steps=$steps
bench lm-small --arch lm --train "$data/kjv-genesis.txt" -v gen.vocab --layers 4 --d-model 256 --heads 4 --ff 1024 \
  --max-len 128 --batch-size 16
bench transformer --arch transformer --train pairs.tsv -v enfr.vocab --layers 3 --d-model 256 --heads 4 --ff 1024 \
  --activation relu --norm pre --pos-encoding learned --dropout 0.1 --share-embeddings --tie-output=false \
  --max-len 66 --batch-tokens 2000
pairs greedy decode_at
bench rnn --arch rnn --train pairs.tsv -v enfr.vocab --embed 256 --hidden 512 --attention additive --batch-tokens 2000 --max-len 66
# The Keras seq2seq layout of bench_s2s.sh (embedding 64, LSTM 128, Luong dot, 10,000 words,
# RMSprop, batch 32, length 20): its steps are small, so four times as many.
run_steps=$((4 * steps))
bench keras-s2s --arch rnn --train s2s.tsv -v s2s.vocab --embed 64 --hidden 128 --attention dot --dropout 0 \
  --optimizer rmsprop --lr 1e-3 --weight-decay 0 --clip 0 --batch-size 32 --seed 1
