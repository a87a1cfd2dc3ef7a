#!/usr/bin/env bash
# English -> French user-interface strings with a small Transformer, on examples/data/en-fr.tsv.
#   examples/translation/run.sh [ATTN [OUT_DIR]]     (defaults: build/attn and out/translation/ in the repo)
#   ATTN_QUICK=1 examples/translation/run.sh ...     a smoke run (a few steps; tests/e2e/test_examples.sh)
# Steps: split the pairs, build a BPE vocabulary, train (with a CSV log), decode the test sources
# greedily and with beam search, score BLEU/chrF, draw the attention (SVG + HTML viewer), word
# alignments, and the training curves. Everything is written under OUT_DIR.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
attn=${1:-$repo/build/attn}
out=${2:-$repo/out/translation}
data=$repo/examples/data
[ -x "$attn" ] || { echo "run.sh: no attn binary at $attn (build it, or pass its path)" >&2; exit 2; }
if [ "${ATTN_QUICK:-0}" = 1 ]; then steps=4 every=2 vsize=300 nval=20; else steps=1200 every=200 vsize=2000 nval=200; fi
mkdir -p "$out"
start=$(date +%s)

echo "== 1. split $data/en-fr.tsv: every 50th pair held out (valid / test), the rest for training" >&2
awk -F'\t' -v out="$out" 'NR % 100 == 0 { print > (out "/valid.tsv"); next }
                          NR % 100 == 50 { print > (out "/test.tsv"); next }
                          { print > (out "/train.tsv") }' "$data/en-fr.tsv"
head -n "$nval" "$out/test.tsv" > "$out/test.small.tsv"
cut -f1 "$out/test.small.tsv" > "$out/test.en"
cut -f2 "$out/test.small.tsv" > "$out/test.fr"
wc -l "$out/train.tsv" "$out/valid.tsv" "$out/test.small.tsv" >&2

echo "== 2. a shared byte-level BPE vocabulary of $vsize tokens" >&2
"$attn" vocab -q --type bpe --size "$vsize" --column all -o "$out/en-fr.vocab" "$out/train.tsv"

echo "== 3. train a 2-layer Transformer (d 128, 4 heads) for $steps steps" >&2
rm -f "$out/train.log.csv"   # --log appends
"$attn" train --arch transformer --train "$out/train.tsv" --valid "$out/valid.tsv" -v "$out/en-fr.vocab" \
  --layers 2 --d-model 128 --heads 4 --ff 512 --dropout 0.1 --label-smoothing 0.1 \
  --batch-tokens 3000 --max-len 64 --lr 0.002 --schedule cosine --warmup 100 \
  --steps "$steps" --valid-every "$every" --log-every "$every" --log "$out/train.log.csv" -o "$out/model.ckpt"
trained=$(date +%s)

echo "== 4. decode the test sources: greedy, then beam 5" >&2
"$attn" decode -m "$out/model.ckpt" "$out/test.en" > "$out/hyp.greedy.fr"
"$attn" decode -m "$out/model.ckpt" --beam 5 "$out/test.en" > "$out/hyp.beam5.fr"
for h in greedy beam5; do
  printf '%-7s ' "$h"; "$attn" eval --ref "$out/test.fr" --metric bleu,chrf "$out/hyp.$h.fr" | tr '\n' ' '; echo
done | tee "$out/scores.txt"
paste "$out/test.en" "$out/test.fr" "$out/hyp.beam5.fr" | sed -n 1,5p | awk -F'\t' '{ print "  en:  " $1 "\n  ref: " $2 "\n  hyp: " $3 }'

echo "== 5. pictures: cross-attention of two short sentences, the viewer, alignments, training curves" >&2
printf 'Open file\nCopying files\n' > "$out/short.en"
"$attn" attention -m "$out/model.ckpt" --layer 1 --head mean --format svg -o "$out/attention.svg" "$out/short.en"
"$attn" attention -m "$out/model.ckpt" --kind all --format html -o "$out/attention.html" "$out/short.en"
"$attn" decode -m "$out/model.ckpt" --alignment hard "$out/short.en" | tee "$out/alignment.txt"
"$attn" plot "$out/train.log.csv" -o "$out/curves.svg"
end=$(date +%s)
echo "training $((trained - start)) s, total $((end - start)) s; load: $(uptime | sed 's/.*load average: //')" | tee "$out/time.txt"
ls "$out" >&2
