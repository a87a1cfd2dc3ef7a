#!/usr/bin/env bash
# The main job on the bundled example data: installs and builds if needed, then
#   1. builds a byte-level BPE vocabulary from both sides of the English-French pairs,
#   2. tokenizes a few sentences and turns the ids back into text.
# Outputs go to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash examples/setup.sh
attn=./build/attn
mkdir -p out

echo "== vocabulary: byte-level BPE, 4000 entries, from examples/data/en-fr.tsv (both columns)" >&2
$attn vocab --type bpe --size 4000 --column all -o out/en-fr.vocab examples/data/en-fr.tsv

echo "== tokenize 5 sentences (pieces, then ids)" >&2
head -5 examples/data/kjv-genesis.txt > out/sample.txt
$attn tokenize -v out/en-fr.vocab --pieces < out/sample.txt
$attn tokenize -v out/en-fr.vocab --ids < out/sample.txt > out/sample.ids

echo "== decode the ids back to text and compare byte for byte" >&2
$attn tokenize -v out/en-fr.vocab --decode < out/sample.ids > out/sample.roundtrip.txt
cmp out/sample.txt out/sample.roundtrip.txt && echo "round trip exact: out/sample.roundtrip.txt" >&2
