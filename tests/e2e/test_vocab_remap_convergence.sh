#!/usr/bin/env bash
# Convergence (CTest label `convergence`): an lm pretrained for 300 steps on Genesis with its own
# BPE vocabulary, fine-tuned for 100 steps on the English side of en-fr.tsv with a BPE vocabulary
# built on that English text (finetune --vocab), fully and with --lora, predicts held-out English
# better than the base, in bits per byte (comparable across vocabularies). Single-threaded.
# Measured (docs/finetuning.md#new-vocabulary): base 5.07, remapped full 2.92, remapped LoRA 3.04.
# Bounds: the remapped full fine-tuning at least 0.5 bits per byte under the base, the remapped
# LoRA run at least 0.2 under it.
set -u
attn=$1
data=$2/examples/data
fail=0
bpb_of() { "$attn" eval -m "$1" --data en-valid.txt --threads 1 | sed -n 's/.*bits\/byte = \([0-9.]*\).*/\1/p'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

cut -f1 "$data/en-fr.tsv" | head -2000 >en-train.txt
cut -f1 "$data/en-fr.tsv" | sed -n 2001,2200p >en-valid.txt
"$attn" vocab -t bpe -s 500 -q "$data/kjv-genesis.txt" -o gen.vocab || { echo "FAIL: vocab"; fail=1; }
"$attn" vocab -t bpe -s 500 -q en-train.txt -o en.vocab || { echo "FAIL: vocab"; fail=1; }
"$attn" train --arch lm --train "$data/kjv-genesis.txt" -v gen.vocab --layers 2 --d-model 64 --heads 4 --ff 128 \
  --max-len 64 --batch-size 16 --lr 3e-3 --steps 300 --threads 1 -q -o base.ckpt || { echo "FAIL: train"; fail=1; }
ft=(-m base.ckpt --train en-train.txt --batch-size 16 --lr 3e-3 --dropout 0 --steps 100 --threads 1 -q --vocab en.vocab)
"$attn" finetune "${ft[@]}" -o full.ckpt || { echo "FAIL: finetune --vocab"; fail=1; }
"$attn" finetune "${ft[@]}" --lora 8 -o lora.ckpt || { echo "FAIL: finetune --vocab --lora"; fail=1; }
base=$(bpb_of base.ckpt); full=$(bpb_of full.ckpt); lora=$(bpb_of lora.ckpt)
echo "held-out English, bits per byte: base $base, remapped full $full, remapped LoRA $lora"
awk -v b="$base" -v x="$full" 'BEGIN { exit !(b != "" && x != "" && x < b - 0.5) }' ||
  { echo "FAIL: the remapped full fine-tuning ($full) is not 0.5 bits per byte under the base ($base)"; fail=1; }
awk -v b="$base" -v x="$lora" 'BEGIN { exit !(b != "" && x != "" && x < b - 0.2) }' ||
  { echo "FAIL: the remapped LoRA run ($lora) is not 0.2 bits per byte under the base ($base)"; fail=1; }
exit $fail
