#!/usr/bin/env bash
# The main job on the bundled example data: installs and builds if needed, then
#   1. builds a byte-level BPE vocabulary from the English-French pairs and round-trips a sample,
#   2. trains a small Transformer to reverse digit sequences (about a minute on 2 cores),
#   3. decodes the held-out sequences with it and scores exact matches,
#   4. dumps its attention while it translates (CSV) and prints one alignment.
# Outputs go to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash examples/setup.sh
attn=./build/attn
data=examples/data
mkdir -p out

echo "== 1. vocabulary: byte-level BPE, 4000 entries, from $data/en-fr.tsv (both columns)" >&2
$attn vocab --type bpe --size 4000 --column all -o out/en-fr.vocab $data/en-fr.tsv
head -5 $data/kjv-genesis.txt > out/sample.txt
$attn tokenize -v out/en-fr.vocab --pieces < out/sample.txt | sed -n 1,2p   # sed reads to the end: no SIGPIPE under pipefail
$attn tokenize -v out/en-fr.vocab < out/sample.txt | $attn tokenize -v out/en-fr.vocab --decode > out/sample.roundtrip.txt
cmp out/sample.txt out/sample.roundtrip.txt && echo "tokenize round trip exact: out/sample.roundtrip.txt" >&2

echo "== 2. train a Transformer to reverse digit sequences ($data/reverse-train.tsv)" >&2
$attn vocab -q --type word --size 30 --column all -o out/digits.vocab $data/reverse-train.tsv
$attn train --arch transformer --train $data/reverse-train.tsv --valid $data/reverse-valid.tsv \
  -v out/digits.vocab --layers 2 --d-model 64 --heads 4 --ff 256 --dropout 0 --batch-size 64 \
  --steps 1000 --valid-every 250 --lr 0.003 --schedule cosine --warmup 50 --max-len 32 \
  --log out/reverse.log.csv -o out/reverse.ckpt
$attn inspect -m out/reverse.ckpt | sed -n 1,4p

echo "== 3. decode the held-out sources" >&2
cut -f1 $data/reverse-valid.tsv | $attn decode -m out/reverse.ckpt > out/reverse.hyp.txt
paste <(cut -f1,2 $data/reverse-valid.tsv) out/reverse.hyp.txt | sed -n 1,3p
paste <(cut -f2 $data/reverse-valid.tsv) out/reverse.hyp.txt |
  awk -F'\t' '$1==$2{c++} END{printf "exact match: %d/%d held-out sequences\n", c, NR}' >&2

echo "== 4. attention while translating the held-out sources: out/reverse.attn.csv" >&2
cut -f1 $data/reverse-valid.tsv | $attn attention -m out/reverse.ckpt --layer 1 --head mean > out/reverse.attn.csv
# the first sentence (index 0): for each output token, the source token it attends to most (the reversal's mirror)
awk -F, 'BEGIN { q = -1 } $1 == 0 && ($6 != q || $10 > w) { if ($6 != q) n++; q = $6; w = $10; out[n] = $7 " <- " $9 " (" $10 ")" }
  END { print "first sentence, last decoder layer, mean over heads: output <- most-attended source"
        for (i = 1; i <= n; i++) print "  " out[i] }' out/reverse.attn.csv
