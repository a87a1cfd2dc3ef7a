#!/usr/bin/env bash
# A GPT-style language model of the Book of Genesis (examples/data/kjv-genesis.txt).
#   examples/language-model/run.sh [ATTN [OUT_DIR]]   (defaults: build/attn and out/language-model/ in the repo)
#   ATTN_QUICK=1 examples/language-model/run.sh ...   a smoke run (a few steps; tests/e2e/test_examples.sh)
# Steps: hold out every 20th verse, build a BPE vocabulary, train (with a CSV log), score bits per
# byte on the held-out verses, continue two prompts (greedy and sampled), draw the self-attention
# of one verse (SVG + HTML viewer) and the training curves. Everything is written under OUT_DIR.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
attn=${1:-$repo/build/attn}
out=${2:-$repo/out/language-model}
data=$repo/examples/data
[ -x "$attn" ] || { echo "run.sh: no attn binary at $attn (build it, or pass its path)" >&2; exit 2; }
if [ "${ATTN_QUICK:-0}" = 1 ]; then steps=4 every=2 vsize=300; else steps=500 every=100 vsize=1000; fi
mkdir -p "$out"
start=$(date +%s)

echo "== 1. split $data/kjv-genesis.txt: every 20th verse held out" >&2
awk -v out="$out" 'NR % 20 == 0 { print > (out "/valid.txt"); next } { print > (out "/train.txt") }' "$data/kjv-genesis.txt"
wc -l "$out/train.txt" "$out/valid.txt" >&2

echo "== 2. a byte-level BPE vocabulary of $vsize tokens" >&2
"$attn" vocab -q --type bpe --size "$vsize" -o "$out/genesis.vocab" "$out/train.txt"

echo "== 3. train a 4-layer decoder-only Transformer (d 128, 4 heads, windows of 128 tokens) for $steps steps" >&2
rm -f "$out/train.log.csv"   # --log appends
"$attn" train --arch lm --train "$out/train.txt" --valid "$out/valid.txt" -v "$out/genesis.vocab" \
  --layers 4 --d-model 128 --heads 4 --ff 512 --dropout 0.1 --max-len 128 --batch-size 16 \
  --lr 0.002 --schedule cosine --warmup 100 \
  --steps "$steps" --valid-every "$every" --log-every "$every" --log "$out/train.log.csv" -o "$out/model.ckpt"
trained=$(date +%s)

echo "== 4. bits per byte on the held-out verses" >&2
"$attn" eval -m "$out/model.ckpt" "$out/valid.txt" | tee "$out/scores.txt"

echo "== 5. continue two prompts: greedy, then sampled (temperature 0.8, top-k 40, seed 1)" >&2
printf 'And God said\nAnd Joseph\n' > "$out/prompts.txt"
"$attn" decode -m "$out/model.ckpt" --max-len 40 "$out/prompts.txt" | tee "$out/greedy.txt"
"$attn" decode -m "$out/model.ckpt" --max-len 40 --sample --temperature 0.8 --top-k 40 --seed 1 "$out/prompts.txt" |
  tee "$out/sampled.txt"

echo "== 6. pictures: self-attention of one verse (last layer, every head), the viewer, training curves" >&2
echo "In the beginning God created the heaven and the earth." > "$out/verse.txt"
"$attn" attention -m "$out/model.ckpt" --layer 3 --format svg -o "$out/attention.svg" "$out/verse.txt"
"$attn" attention -m "$out/model.ckpt" --format html -o "$out/attention.html" "$out/verse.txt"
"$attn" plot "$out/train.log.csv" -o "$out/curves.svg"
end=$(date +%s)
echo "training $((trained - start)) s, total $((end - start)) s; load: $(uptime | sed 's/.*load average: //')" | tee "$out/time.txt"
ls "$out" >&2
