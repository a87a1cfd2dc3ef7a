#!/usr/bin/env bash
# A new vocabulary for fine-tuning, end to end through the real binary: an lm pretrained (200 steps) on Genesis
# with its own BPE vocabulary is fine-tuned on the English side of en-fr.tsv with a BPE vocabulary
# built on that English text (attn vocab), fully and with --lora. The kept / new / dropped counts
# printed agree with the two vocabulary files; the checkpoints store the new vocabulary and the
# lineage; decode, eval, attention, inspect, merge and --resume work on the results. A transformer
# and an rnn take --src-vocab / --tgt-vocab, a classifier --vocab. Misuse: one line, exit 2 (usage)
# or 1 (a file that cannot be read). Single-threaded. Outcomes of training: test_vocab_remap_convergence.sh.
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
same() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-4) }'; }
# The escaped token texts of a vocabulary file, one a line (ids and counts cut, merges left out).
tokens_of() { LC_ALL=C awk -F'\t' '/^# merges/ { exit } /^#/ || NR == 1 { next } { print $2 }' "$1" | LC_ALL=C sort; }
# expect_counts NAME STDERR_FILE ROLE BASE_VOCAB NEW_VOCAB: the counts printed for ROLE match the files.
expect_counts() {
  tokens_of "$4" >base.tok; tokens_of "$5" >new.tok
  local kept new dropped line
  kept=$(LC_ALL=C comm -12 base.tok new.tok | wc -l); new=$(LC_ALL=C comm -13 base.tok new.tok | wc -l)
  dropped=$(LC_ALL=C comm -23 base.tok new.tok | wc -l)
  line=$(grep "vocabulary remapped by token string" "$2")
  echo "$line" | grep -q "$3: $kept kept, $new new\( ([0-9]* from <unk>)\)\?, $dropped dropped" ||
    { echo "FAIL: $1: expected '$3: $kept kept, $new new, $dropped dropped', got: $line"; fail=1; }
}
header_tokens() { sed -n '1s/.* tokens=\([0-9]*\).*/\1/p' "$1"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

head -400 "$data/kjv-genesis.txt" >gen.txt
cut -f1 "$data/en-fr.tsv" | head -300 >en-train.txt
cut -f1 "$data/en-fr.tsv" | sed -n 301,360p >en-valid.txt
"$attn" vocab -t bpe -s 300 -q gen.txt -o gen.vocab; check "vocab on Genesis" 0 $?
"$attn" vocab -t bpe -s 320 -q en-train.txt -o en.vocab; check "vocab on the English text" 0 $?
"$attn" train --arch lm --train gen.txt -v gen.vocab --layers 2 --d-model 32 --heads 2 --ff 64 --max-len 48 \
  --batch-size 16 --lr 3e-3 --steps 200 --threads 1 -q -o base.ckpt
check "pretrain the base" 0 $?
cp base.ckpt base-copy.ckpt

ft=(-m base.ckpt --train en-train.txt --batch-size 16 --lr 3e-3 --dropout 0 --threads 1)
# Full fine-tuning with the new vocabulary.
"$attn" finetune "${ft[@]}" --vocab en.vocab --steps 10 --log-every 100 -o remap.ckpt 2>err.txt
check "finetune --vocab" 0 $?
expect_counts "finetune --vocab" err.txt shared gen.vocab en.vocab
"$attn" finetune "${ft[@]}" --vocab en.vocab --steps 1 -q -o quiet.ckpt 2>q.txt
check "finetune --vocab -q" 0 $?
grep -q "remapped" q.txt && { echo "FAIL: -q still prints the counts"; fail=1; }
"$attn" inspect remap.ckpt >inspect.txt; check "inspect the remapped checkpoint" 0 $?
grep -q "^  shared: bpe, $(header_tokens en.vocab) tokens" inspect.txt ||
  { echo "FAIL: the checkpoint does not hold the new vocabulary: $(grep -A2 vocabularies inspect.txt)"; fail=1; }
grep -q "^  src_vocab = $(header_tokens en.vocab)$" inspect.txt || { echo "FAIL: src_vocab is not the new size"; fail=1; }
grep -q "^vocab_remapped: shared: [0-9]* kept" inspect.txt || { echo "FAIL: no vocab_remapped lineage"; fail=1; }
grep -q "^finetuned_from: base.ckpt" inspect.txt || { echo "FAIL: no finetuned_from lineage"; fail=1; }
grep -q "^  vocab = en.vocab$" inspect.txt || { echo "FAIL: the training config does not name --vocab"; fail=1; }
[ -n "$(loss_of remap.ckpt en-valid.txt)" ] || { echo "FAIL: eval of the remapped model"; fail=1; }
echo "And God" | "$attn" decode -m remap.ckpt --max-len 12 --threads 1 >/dev/null; check "decode remapped" 0 $?
echo "And God" | "$attn" attention -m remap.ckpt --threads 1 >/dev/null; check "attention remapped" 0 $?
# A further fine-tuning of the remapped model (its own vocabulary now) carries no remap lineage.
"$attn" finetune -m remap.ckpt --train en-train.txt --batch-size 16 --steps 1 --threads 1 -q -o again.ckpt
check "finetune the remapped model" 0 $?
"$attn" inspect again.ckpt | grep -q "^vocab_remapped" && { echo "FAIL: lineage inherited"; fail=1; }
# Resume keeps the remapped model and vocabulary; a vocabulary flag with --resume is refused.
"$attn" finetune --resume remap.ckpt --steps 12 -q --threads 1; check "resume the remapped run" 0 $?
"$attn" inspect remap.ckpt | grep -q "^  step = 12$" || { echo "FAIL: resumed run not at step 12"; fail=1; }
"$attn" finetune --resume remap.ckpt --vocab en.vocab --steps 13 2>e.txt; check "--resume --vocab" 2 $?
one_line "--resume --vocab" e.txt

# LoRA with the new vocabulary: the adapter carries the new embedding and vocabulary.
"$attn" finetune "${ft[@]}" --vocab en.vocab --lora 4 --steps 10 --log-every 100 -o adapter.ckpt 2>err.txt
check "finetune --lora --vocab" 0 $?
expect_counts "finetune --lora --vocab" err.txt shared gen.vocab en.vocab
cmp -s base.ckpt base-copy.ckpt || { echo "FAIL: the base checkpoint changed"; fail=1; }
"$attn" inspect adapter.ckpt >inspect.txt; check "inspect the adapter" 0 $?
grep -q "^LoRA adapter: rank 4" inspect.txt || { echo "FAIL: not an adapter"; fail=1; }
grep -q "^  shared: bpe, $(header_tokens en.vocab) tokens" inspect.txt || { echo "FAIL: adapter vocabulary"; fail=1; }
grep -q "^  embed.weight" inspect.txt || grep -q "^  embed " inspect.txt ||
  { echo "FAIL: the adapter does not carry the embedding: $(cat inspect.txt)"; fail=1; }
adapter_loss=$(loss_of adapter.ckpt en-valid.txt)
[ -n "$adapter_loss" ] || { echo "FAIL: eval of the adapter"; fail=1; }
echo "And God" | "$attn" decode -m adapter.ckpt --max-len 12 --threads 1 >adapter-out.txt
check "decode with the adapter" 0 $?
"$attn" merge adapter.ckpt -o merged.ckpt 2>/dev/null; check "merge the adapter" 0 $?
same "$(loss_of merged.ckpt en-valid.txt)" "$adapter_loss" || { echo "FAIL: merged loss differs"; fail=1; }
echo "And God" | "$attn" decode -m merged.ckpt --max-len 12 --threads 1 >merged-out.txt
cmp -s adapter-out.txt merged-out.txt || { echo "FAIL: merged and adapter decode differently"; fail=1; }
"$attn" inspect merged.ckpt | grep -q "^  shared: bpe, $(header_tokens en.vocab) tokens" ||
  { echo "FAIL: the merged checkpoint lost the new vocabulary"; fail=1; }
"$attn" finetune --resume adapter.ckpt --steps 12 -q --threads 1; check "resume the adapter" 0 $?
"$attn" inspect adapter.ckpt | grep -q "^  step = 12$" || { echo "FAIL: resumed adapter not at step 12"; fail=1; }
[ -n "$(loss_of adapter.ckpt en-valid.txt)" ] || { echo "FAIL: eval of the resumed adapter"; fail=1; }

# Translation families: --src-vocab / --tgt-vocab by role; an rnn (LSTM) with a new target side.
head -200 "$data/en-fr.tsv" >pairs.txt
"$attn" vocab -t bpe -s 300 -q --column 1 pairs.txt -o src.vocab
"$attn" vocab -t bpe -s 300 -q --column 2 pairs.txt -o tgt.vocab
"$attn" vocab -t char -s 100 -q --column 2 pairs.txt -o tgt-char.vocab
declare -A shape=([transformer]="--layers 1 --d-model 32 --heads 2 --ff 64" [rnn]="--embed 16 --hidden 32 --attention additive")
for arch in transformer rnn; do
  # shellcheck disable=SC2086
  "$attn" train --arch $arch --train pairs.txt --src-vocab src.vocab --tgt-vocab tgt.vocab ${shape[$arch]} \
    --max-len 64 --batch-size 16 --steps 3 --threads 1 -q -o $arch.ckpt
  check "train a $arch" 0 $?
  "$attn" finetune -m $arch.ckpt --train pairs.txt --tgt-vocab tgt-char.vocab --steps 2 --threads 1 \
    -o $arch-remap.ckpt 2>err.txt
  check "$arch --tgt-vocab" 0 $?
  expect_counts "$arch --tgt-vocab" err.txt tgt tgt.vocab tgt-char.vocab
  expect_counts "$arch --tgt-vocab (source unchanged)" err.txt src src.vocab src.vocab
  echo "the cat" | "$attn" decode -m $arch-remap.ckpt --max-len 10 --threads 1 >/dev/null
  check "decode the remapped $arch" 0 $?
  "$attn" finetune -m $arch.ckpt --train pairs.txt --vocab src.vocab --steps 1 -o x.ckpt 2>e.txt
  check "$arch --vocab with separate vocabularies" 2 $?; one_line "$arch --vocab" e.txt
done
"$attn" finetune -m rnn.ckpt --train pairs.txt --src-vocab tgt-char.vocab --lora 2 --lora-targets 'attention.*' \
  --steps 2 --threads 1 -q -o rnn-adapter.ckpt
check "rnn --src-vocab --lora" 0 $?
echo "the cat" | "$attn" decode -m rnn-adapter.ckpt --max-len 10 --threads 1 >/dev/null; check "decode rnn adapter" 0 $?

# A classifier: --vocab remaps the text side; the labels stay.
"$attn" vocab -t word -s 200 -q --column 2 "$data/sentiment-train.tsv" -o words.vocab
"$attn" train --arch classifier --train "$data/sentiment-train.tsv" --layers 1 --d-model 32 --heads 2 --ff 64 \
  --vocab-size 300 --batch-size 16 --steps 3 --threads 1 -q -o cls.ckpt
"$attn" finetune -m cls.ckpt --train "$data/sentiment-train.tsv" --vocab words.vocab --steps 2 --threads 1 -q \
  -o cls-remap.ckpt
check "classifier --vocab" 0 $?
"$attn" eval -m cls-remap.ckpt --data "$data/sentiment-valid.tsv" --threads 1 | grep -q "accuracy" ||
  { echo "FAIL: eval of the remapped classifier"; fail=1; }

# Misuse: one line; exit 2 for usage, 1 for a vocabulary file that cannot be read.
"$attn" finetune "${ft[@]}" --src-vocab en.vocab --steps 1 -o x.ckpt 2>e.txt
check "--src-vocab on an lm" 2 $?; one_line "--src-vocab on an lm" e.txt
grep -q -- "--src-vocab" e.txt || { echo "FAIL: the message does not name --src-vocab: $(cat e.txt)"; fail=1; }
"$attn" finetune "${ft[@]}" --vocab en.vocab --tgt-vocab en.vocab --steps 1 -o x.ckpt 2>e.txt
check "--vocab with --tgt-vocab" 2 $?; one_line "--vocab with --tgt-vocab" e.txt
"$attn" finetune "${ft[@]}" --vocab en.vocab --keep-optimizer --steps 1 -o x.ckpt 2>e.txt
check "--vocab --keep-optimizer" 2 $?; one_line "--vocab --keep-optimizer" e.txt
"$attn" finetune "${ft[@]}" --vocab-size 500 --steps 1 -o x.ckpt 2>e.txt
check "--vocab-size" 2 $?; one_line "--vocab-size" e.txt
"$attn" finetune "${ft[@]}" --vocab missing.vocab --steps 1 -o x.ckpt 2>e.txt
check "a missing vocabulary" 1 $?; one_line "a missing vocabulary" e.txt
grep -q "missing.vocab" e.txt || { echo "FAIL: the message does not name the file: $(cat e.txt)"; fail=1; }
echo "not a vocabulary" >bad.vocab
"$attn" finetune "${ft[@]}" --vocab bad.vocab --steps 1 -o x.ckpt 2>e.txt
check "a vocabulary that does not parse" 1 $?; one_line "a bad vocabulary" e.txt
grep -q "bad.vocab" e.txt || { echo "FAIL: the message does not name the file: $(cat e.txt)"; fail=1; }
[ -e x.ckpt ] && { echo "FAIL: a refused run wrote x.ckpt"; fail=1; }
exit $fail
