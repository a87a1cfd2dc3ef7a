#!/usr/bin/env bash
# Convergence (CTest label `convergence`): an lm trained on synthetic sentences, fine-tuned for 40
# steps on Genesis, predicts held-out Genesis better than the base (single-threaded). Measured:
# loss 6.31 for the base, 3.60 fine-tuned (bound: any fall).
set -u
attn=$1
data=$2/examples/data
fail=0
loss_of() { "$attn" eval -m "$1" --data "$2" --threads 1 | sed -n 's/^loss = \([0-9.]*\).*/\1/p'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

for i in $(seq 1 60); do
  echo "the cat sat on the mat number $i and the dog ran far away"
  echo "a bird flew over the house while $i fish swam in the sea"
done >a.txt
head -300 "$data/kjv-genesis.txt" >b-train.txt
sed -n 301,360p "$data/kjv-genesis.txt" >b-valid.txt
"$attn" train --arch lm --train a.txt --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 32 --vocab-size 300 \
  --batch-size 16 --lr 3e-3 --steps 40 --threads 1 -q -o base.ckpt || { echo "FAIL: train the base"; fail=1; }
"$attn" finetune -m base.ckpt --train b-train.txt --valid b-valid.txt --batch-size 16 --lr 3e-3 --dropout 0 \
  --threads 1 -q --steps 40 -o ft.ckpt || { echo "FAIL: finetune"; fail=1; }
base_loss=$(loss_of base.ckpt b-valid.txt); ft_loss=$(loss_of ft.ckpt b-valid.txt)
echo "loss on the new data: base $base_loss, fine-tuned $ft_loss (need lower)"
awk -v a="$base_loss" -v b="$ft_loss" 'BEGIN { exit !(b != "" && a != "" && b < a) }' \
  || { echo "FAIL: fine-tuning did not lower the loss on the new data ($base_loss -> $ft_loss)"; fail=1; }
exit $fail
