#!/usr/bin/env bash
# Sentence classification with a Transformer encoder, on two labelled sets:
#   sentiment   the bundled examples/data/sentiment-{train,valid}.tsv (positive/negative, label<TAB>text);
#   language    language identification, en vs fr, derived here from examples/data/en-fr.tsv (each pair
#               gives one English or one French line, alternately; 1 line in 20 held out, half of each).
#   examples/classifier/run.sh [ATTN [OUT_DIR]]     (defaults: build/attn and out/classifier/ in the repo)
#   ATTN_QUICK=1 examples/classifier/run.sh ...     a smoke run (a few steps; tests/e2e/test_examples.sh)
# Steps: build a word vocabulary, train (with a CSV log), predict the held-out labels with
# attn decode and score them with attn eval, score the model itself, draw the self-attention of two
# sentences (SVG + HTML viewer) and the training curves. Everything is written under OUT_DIR.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
attn=${1:-$repo/build/attn}
out=${2:-$repo/out/classifier}
data=$repo/examples/data
[ -x "$attn" ] || { echo "run.sh: no attn binary at $attn (build it, or pass its path)" >&2; exit 2; }
if [ "${ATTN_QUICK:-0}" = 1 ]; then steps=4 every=2 lvsize=300; else steps=400 every=50 lvsize=1000; fi
mkdir -p "$out"
start=$(date +%s)

echo "== 1. a word vocabulary from the texts of $data/sentiment-train.tsv" >&2
"$attn" vocab -q --type word --size 100 --column 2 -o "$out/words.vocab" "$data/sentiment-train.tsv"

echo "== 2. train a 2-layer Transformer encoder (d 64, 4 heads, mean pooling) for $steps steps" >&2
rm -f "$out/sentiment.log.csv"   # --log appends
"$attn" train --arch classifier --train "$data/sentiment-train.tsv" --valid "$data/sentiment-valid.tsv" \
  -v "$out/words.vocab" --layers 2 --d-model 64 --heads 4 --ff 256 --dropout 0.1 --batch-size 32 \
  --lr 0.002 --schedule cosine --warmup 50 \
  --steps "$steps" --valid-every "$every" --log-every "$every" --log "$out/sentiment.log.csv" -o "$out/model.ckpt"
trained=$(date +%s)

echo "== 3. predict the held-out labels and score them" >&2
cut -f2 "$data/sentiment-valid.tsv" > "$out/valid.text"
cut -f1 "$data/sentiment-valid.tsv" > "$out/valid.labels"
"$attn" decode -m "$out/model.ckpt" "$out/valid.text" > "$out/predicted.labels"
"$attn" eval --ref "$out/valid.labels" --metric accuracy "$out/predicted.labels" | tee "$out/scores.txt"
"$attn" eval -m "$out/model.ckpt" "$data/sentiment-valid.tsv" | tee -a "$out/scores.txt"
paste "$out/predicted.labels" "$out/valid.text" | sed -n 1,4p

echo "== 4. pictures: self-attention of two sentences (last layer, mean over heads), the viewer, training curves" >&2
printf 'the film was very good\nthis was a sad day\n' > "$out/short.txt"
"$attn" attention -m "$out/model.ckpt" --layer 1 --head mean --format svg -o "$out/attention.svg" "$out/short.txt"
"$attn" attention -m "$out/model.ckpt" --format html -o "$out/attention.html" "$out/short.txt"

lang_start=$(date +%s)
echo "== 5. language identification: en vs fr lines derived from $data/en-fr.tsv (BPE vocabulary built by train)" >&2
awk -F'\t' -v out="$out" '{ line = (NR % 2 ? "en\t" $1 : "fr\t" $2) }
  NR % 40 == 0 || NR % 40 == 21 { print line > (out "/lang-valid.tsv"); next } { print line > (out "/lang-train.tsv") }' "$data/en-fr.tsv"
rm -f "$out/lang.log.csv"
"$attn" train --arch classifier --train "$out/lang-train.tsv" --valid "$out/lang-valid.tsv" --vocab-size "$lvsize" \
  --layers 2 --d-model 64 --heads 4 --ff 256 --dropout 0.1 --batch-size 32 --max-len 64 \
  --lr 0.002 --schedule cosine --warmup 50 \
  --steps "$steps" --valid-every "$every" --log-every "$every" --log "$out/lang.log.csv" -o "$out/lang.ckpt"
lang_trained=$(date +%s)
cut -f2 "$out/lang-valid.tsv" > "$out/lang-valid.text"
cut -f1 "$out/lang-valid.tsv" > "$out/lang-valid.labels"
"$attn" decode -m "$out/lang.ckpt" "$out/lang-valid.text" > "$out/lang-predicted.labels"
"$attn" eval --ref "$out/lang-valid.labels" --metric accuracy "$out/lang-predicted.labels" | sed 's/^/language: /' |
  tee -a "$out/scores.txt"
paste "$out/lang-valid.labels" "$out/lang-predicted.labels" "$out/lang-valid.text" | awk -F'\t' '$1 != $2' | sed -n 1,5p
printf 'Open the file\nOuvrir le fichier\n' > "$out/lang-short.txt"
"$attn" attention -m "$out/lang.ckpt" --layer 1 --head mean --format svg -o "$out/lang-attention.svg" "$out/lang-short.txt"
"$attn" plot "$out/sentiment.log.csv" "$out/lang.log.csv" -o "$out/curves.svg"
end=$(date +%s)
echo "sentiment training $((trained - start)) s, language training $((lang_trained - lang_start)) s, total $((end - start)) s; load: $(uptime | sed 's/.*load average: //')" | tee "$out/time.txt"
ls "$out" >&2
