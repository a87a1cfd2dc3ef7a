#!/usr/bin/env bash
# attn finetune, end to end: an lm trained on one text is fine-tuned on another, --freeze '*'
# changes nothing (bit-identical: the same eval loss), lineage and frozen counts are recorded,
# --resume continues exactly, the result decodes, a classifier rejects labels its base does not
# know, and the error cases are one line. (That fine-tuning lowers the loss on the new data is
# tests/e2e/test_finetune_convergence.sh.) Every run is single-threaded.
set -u
attn=$1
data=$2/examples/data
fail=0
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fail=1; fi
}
one_line() {  # one_line NAME FILE
  [ "$(wc -l <"$2")" -eq 1 ] || { echo "FAIL: $1: expected a one-line error, got: $(cat "$2")"; fail=1; }
}
loss_of() { "$attn" eval -m "$1" --data "$2" --threads 1 | sed -n 's/^loss = \([0-9.]*\).*/\1/p'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# Base: a small lm on synthetic sentences. New data: Genesis.
for i in $(seq 1 60); do
  echo "the cat sat on the mat number $i and the dog ran far away"
  echo "a bird flew over the house while $i fish swam in the sea"
done >a.txt
head -300 "$data/kjv-genesis.txt" >b-train.txt
sed -n 301,360p "$data/kjv-genesis.txt" >b-valid.txt
"$attn" train --arch lm --train a.txt --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 32 --vocab-size 300 \
  --batch-size 16 --lr 3e-3 --steps 40 --threads 1 -q -o base.ckpt
check "train the base" 0 $?

ft=(--train b-train.txt --valid b-valid.txt --batch-size 16 --lr 3e-3 --dropout 0 --threads 1)
"$attn" finetune -m base.ckpt "${ft[@]}" -q --steps 40 -o ft.ckpt 2>err.txt
check "finetune" 0 $?
base_loss=$(loss_of base.ckpt b-valid.txt)
[ -n "$base_loss" ] || { echo "FAIL: attn eval printed no loss for the base"; fail=1; }
"$attn" inspect ft.ckpt >inspect.txt; check "inspect the fine-tuned checkpoint" 0 $?
grep -q "^  step = 40$" inspect.txt || { echo "FAIL: the fine-tuning run's step counter is not 40"; fail=1; }
grep -q "^  dropout = 0$" inspect.txt || { echo "FAIL: --dropout 0 not in the model config"; fail=1; }
grep -q "^  lr = 3e-3$" inspect.txt || { echo "FAIL: the training config lacks lr = 3e-3"; fail=1; }
"$attn" inspect ft.ckpt | grep -q "^finetuned_from: .*base.ckpt" || { echo "FAIL: inspect shows no lineage"; fail=1; }
printf 'And God said\nIn the\n' | "$attn" decode -m ft.ckpt --max-len 8 >hyp.txt; check "decode" 0 $?
[ "$(wc -l <hyp.txt)" -eq 2 ] || { echo "FAIL: decode wrote $(wc -l <hyp.txt) lines for 2 prompts"; fail=1; }

# Everything frozen: training runs but changes no value, so the loss is exactly the base's.
"$attn" finetune -m base.ckpt "${ft[@]}" -q --steps 5 --freeze '*' -o frozen.ckpt 2>err.txt
check "finetune, all frozen" 0 $?
[ "$(loss_of frozen.ckpt b-valid.txt)" = "$base_loss" ] || { echo "FAIL: --freeze '*' changed the model"; fail=1; }
# Part frozen: the counts are reported and stored.
"$attn" finetune -m base.ckpt "${ft[@]}" --steps 5 --freeze embed --freeze 'layers.0.attn*' \
  -o part.ckpt 2>err.txt
check "finetune, part frozen" 0 $?
grep -q "^attn finetune: frozen: [0-9]* of [0-9]* parameter tensors" err.txt \
  || { echo "FAIL: no frozen count: $(cat err.txt)"; fail=1; }
trains=$(sed -n 's/.* values); \([0-9]*\) values train$/\1/p' err.txt)
"$attn" inspect part.ckpt | tr -d , | grep -q "^parameters: [0-9]* (${trains:-x} trainable)" \
  || { echo "FAIL: inspect's trainable count differs from the ${trains:-?} values reported"; fail=1; }

# --resume continues a fine-tuning run exactly: the same losses as a straight run.
"$attn" finetune -m base.ckpt "${ft[@]}" -q --freeze embed --steps 12 -o s.ckpt --log s.csv; check "straight" 0 $?
"$attn" finetune -m base.ckpt "${ft[@]}" -q --freeze embed --steps 5 -o r.ckpt --log r.csv; check "first part" 0 $?
"$attn" finetune --resume r.ckpt --steps 12 --log r.csv -q --threads 1; check "finetune --resume" 0 $?
diff <(grep ',train$' s.csv | cut -d, -f1-5) <(grep ',train$' r.csv | cut -d, -f1-5) >/dev/null \
  || { echo "FAIL: resumed fine-tuning losses differ from the straight run"; fail=1; }
"$attn" train --resume r.ckpt --steps 20 2>err.txt; check "train --resume of a fine-tuning run" 2 $?
one_line "train --resume of a fine-tuning run" err.txt
grep -q "attn finetune --resume" err.txt || { echo "FAIL: no hint: $(cat err.txt)"; fail=1; }

# --keep-optimizer carries the base's Adam moments; another optimizer cannot take them.
"$attn" finetune -m base.ckpt "${ft[@]}" -q --steps 3 --keep-optimizer -o k.ckpt; check "--keep-optimizer" 0 $?
"$attn" finetune -m base.ckpt "${ft[@]}" -q --steps 3 --keep-optimizer --optimizer sgd -o k.ckpt 2>err.txt
check "--keep-optimizer with another optimizer" 2 $?
one_line "--keep-optimizer with another optimizer" err.txt

# A classifier: a label the base does not know makes a malformed line, reported and skipped.
head -200 "$data/sentiment-train.tsv" >c.tsv
"$attn" train --arch classifier --train c.tsv --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 32 \
  --vocab-size 300 --batch-size 32 --steps 3 --threads 1 -q -o c.ckpt; check "train a classifier" 0 $?
{ head -20 c.tsv; printf 'neutral\tthis day was a day\n'; } >c2.tsv
"$attn" finetune -m c.ckpt --train c2.tsv --steps 2 --threads 1 -q -o c2.ckpt 2>err.txt
check "finetune the classifier" 0 $?
grep -q "1 malformed line of 21 in c2.tsv" err.txt && grep -q "c2.tsv:21" err.txt \
  || { echo "FAIL: the unknown label was not reported: $(cat err.txt)"; fail=1; }
# Plain text where label<TAB>text is read: no line usable, so one error line (no skip summary).
"$attn" finetune -m c.ckpt --train b-train.txt --steps 2 --threads 1 -q -o c3.ckpt 2>err.txt
check "finetune a classifier on plain text" 1 $?
one_line "finetune a classifier on plain text" err.txt
grep -qF "'b-train.txt' holds no usable examples: none of its 300 lines is usable label<TAB>text; line 1:" err.txt \
  || { echo "FAIL: plain text to a classifier: $(cat err.txt)"; fail=1; }

# Errors: one line, exit 2 (usage) or 1 (runtime).
"$attn" finetune -m missing.ckpt --train b-train.txt -o x.ckpt 2>err.txt; check "missing base" 1 $?
one_line "missing base" err.txt
"$attn" finetune -m a.txt --train b-train.txt -o x.ckpt 2>err.txt; check "not a checkpoint" 1 $?
one_line "not a checkpoint" err.txt
head -c 1000 base.ckpt >cut.ckpt
"$attn" finetune -m cut.ckpt --train b-train.txt -o x.ckpt 2>err.txt; check "truncated base" 1 $?
one_line "truncated base" err.txt
"$attn" finetune -m base.ckpt --train b-train.txt --heads 4 -o x.ckpt 2>err.txt; check "architecture flag" 2 $?
one_line "architecture flag" err.txt
"$attn" finetune -m base.ckpt --train b-train.txt --freeze decoder -q -o x.ckpt 2>err.txt
check "--freeze matching nothing" 2 $?
one_line "--freeze matching nothing" err.txt
grep -q "decoder" err.txt || { echo "FAIL: the unmatched pattern is not named: $(cat err.txt)"; fail=1; }
: >empty.txt
"$attn" finetune -m base.ckpt --train empty.txt -q -o x.ckpt 2>err.txt; check "no usable examples" 1 $?
one_line "no usable examples" err.txt
"$attn" finetune -m base.ckpt --train b-train.txt --max-len 64 -q -o x.ckpt 2>err.txt; check "--max-len too long" 2 $?
one_line "--max-len too long" err.txt
[ ! -e x.ckpt ] || { echo "FAIL: a failed run wrote x.ckpt"; fail=1; }
exit $fail
