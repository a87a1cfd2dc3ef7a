#!/usr/bin/env bash
# LoRA on the rnn family end to end through the real binary: an LSTM translation model trained
# briefly on en-fr.tsv is fine-tuned with --lora-targets '*' (its LSTMs' w_ih/w_hh adapted by
# folding, with the attention and output layers); the adapter is small, decodes, evaluates, merges
# into a plain checkpoint that scores (n-best scores within 1e-4) and decodes like it.
# --lora-dropout: stored, refused with LSTM targets, usage errors (exit 2, one line naming the
# option), and --lora-dropout 0 is the run without the option. Single-threaded.
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
names() {  # names NAME FILE WORD: the one-line error in FILE names WORD
  grep -q -- "$3" "$2" || { echo "FAIL: $1: the error does not name $3: $(cat "$2")"; fail=1; }
}
loss_of() { "$attn" eval -m "$1" --data valid.tsv --threads 1 "${@:2}" | sed -n 's/^loss = \([0-9.]*\).*/\1/p'; }
same() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-4) }'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

head -400 "$data/en-fr.tsv" >base.tsv
sed -n 401,700p "$data/en-fr.tsv" >new.tsv
sed -n 701,760p "$data/en-fr.tsv" >valid.tsv
cut -f1 valid.tsv | head -8 >src.txt
"$attn" train --arch rnn --attention additive --bidirectional --embed 32 --hidden 64 --train base.tsv \
  --vocab-size 300 --max-len 64 --batch-size 16 --lr 3e-3 --steps 30 --dropout 0 --threads 1 -q -o base.ckpt
check "pretrain the rnn base" 0 $?

ft=(-m base.ckpt --train new.tsv --batch-size 16 --lr 3e-3 --dropout 0 --threads 1)
"$attn" finetune "${ft[@]}" --lora 4 --lora-targets '*' --steps 20 -o adapter.ckpt 2>notes.txt
check "finetune --lora 4 --lora-targets '*' (rnn)" 0 $?
grep -q "LoRA: rank 4 adapters on 9 layers (6 of them LSTM weights)" notes.txt ||
  { echo "FAIL: the run does not report the LSTM adapters: $(grep LoRA notes.txt)"; fail=1; }
base_size=$(stat -c %s base.ckpt); adapter_size=$(stat -c %s adapter.ckpt)
echo "rnn base $base_size bytes, '*' adapter $adapter_size bytes"
[ "$adapter_size" -lt $((base_size / 10)) ] ||
  { echo "FAIL: adapter $adapter_size bytes is not under 10% of the base's $base_size"; fail=1; }
"$attn" inspect adapter.ckpt >inspect.txt; check "inspect the adapter" 0 $?
for p in encoder.lstm.fwd.w_ih encoder.lstm.bwd.w_hh decoder.lstm.fwd.w_hh; do
  "$attn" inspect adapter.ckpt --json | grep -q "\"$p.lora_b\"\|$p" ||
    { echo "FAIL: the adapter holds no $p adapter"; fail=1; }
done

# Only the LSTM: explicit patterns naming its input/hidden projections, as attn inspect lists them.
"$attn" finetune "${ft[@]}" --lora 2 --lora-targets '*.w_ih' --lora-targets 'decoder.lstm.fwd.w_hh' --steps 5 \
  -q -o lstm-only.ckpt 2>notes2.txt
check "finetune --lora-targets '*.w_ih' decoder.lstm.fwd.w_hh" 0 $?

base_loss=$(loss_of base.ckpt); adapter_loss=$(loss_of adapter.ckpt)
[ -n "$adapter_loss" ] || { echo "FAIL: eval printed no loss for the adapter"; fail=1; }
# (whether it helps is a training outcome, measured in docs/finetuning.md: here, that it trained)
[ "$adapter_loss" != "$base_loss" ] || { echo "FAIL: the adapter scores exactly as the base: no training"; fail=1; }
"$attn" decode -m adapter.ckpt --beam 3 --n-best 2 --threads 1 <src.txt >adapter-nbest.txt
check "decode with the adapter" 0 $?
"$attn" decode -m adapter.ckpt --threads 1 <src.txt >adapter-out.txt

# Merge: the LSTM adapters are folded into w_ih / w_hh; a plain checkpoint that decodes the same.
"$attn" merge adapter.ckpt -o merged.ckpt 2>merge-err.txt
check "merge" 0 $?
"$attn" inspect merged.ckpt --json | grep -q "lora_a" && { echo "FAIL: the merged checkpoint holds adapters"; fail=1; }
merged_loss=$(loss_of merged.ckpt)
same "$merged_loss" "$adapter_loss" || { echo "FAIL: merged loss $merged_loss != adapter's $adapter_loss"; fail=1; }
"$attn" decode -m merged.ckpt --beam 3 --n-best 2 --threads 1 <src.txt >merged-nbest.txt
"$attn" decode -m merged.ckpt --threads 1 <src.txt >merged-out.txt
cmp -s adapter-out.txt merged-out.txt || { echo "FAIL: merged and adapter decode differently"; fail=1; }
# n-best lines `i ||| hyp ||| score`: same hypotheses, scores within 1e-4
paste -d '\n' adapter-nbest.txt merged-nbest.txt | awk -F ' \\|\\|\\| ' '
  NR % 2 == 1 { i = $1; h = $2; s = $3; next }
  { d = s - $3; if (d < 0) d = -d; if ($1 != i || $2 != h || d > 1e-4) { bad = 1; print "FAIL: n-best differs: " i " " s " vs " $3 } }
  END { exit bad }' || fail=1
[ "$(wc -l <adapter-nbest.txt)" -eq 16 ] || { echo "FAIL: expected 16 n-best lines"; fail=1; }

# --lora-dropout: stored in the adapter's fine-tuning config; linear targets only on an rnn.
"$attn" finetune "${ft[@]}" --lora 4 --lora-targets attention --lora-targets out --lora-dropout 0.1 --steps 5 -q \
  -o dropped.ckpt 2>e.txt
check "--lora-dropout 0.1 on the rnn's linear layers" 0 $?
"$attn" inspect dropped.ckpt >dropped.txt
grep -q "^LoRA adapter: rank 4.*, dropout 0.1$" dropped.txt || { echo "FAIL: inspect shows no dropout"; fail=1; }
grep -q "^  lora-dropout = 0.1$" dropped.txt || { echo "FAIL: train_config lacks lora-dropout = 0.1"; fail=1; }
"$attn" finetune --resume dropped.ckpt --steps 7 -q --threads 1 2>e.txt
check "--resume keeps --lora-dropout" 0 $?
grep -q "^  lora-dropout = 0.1$" <("$attn" inspect dropped.ckpt) || { echo "FAIL: resumed run lost lora-dropout"; fail=1; }
# The masks come from --seed (like A's initialisation): the same seed gives the same adapter, bit for bit
# as far as eval prints; another seed another one.
drop=(--lora 4 --lora-targets attention --lora-targets out --lora-dropout 0.3 --steps 5 -q)
"$attn" finetune "${ft[@]}" "${drop[@]}" -o seed-a.ckpt
"$attn" finetune "${ft[@]}" "${drop[@]}" -o seed-b.ckpt
"$attn" finetune "${ft[@]}" "${drop[@]}" --seed 7 -o seed-7.ckpt
[ "$(loss_of seed-a.ckpt)" = "$(loss_of seed-b.ckpt)" ] || { echo "FAIL: one --seed, two adapters"; fail=1; }
[ "$(loss_of seed-a.ckpt)" != "$(loss_of seed-7.ckpt)" ] || { echo "FAIL: --seed does not change the masks"; fail=1; }
# --lora-dropout 0 is the run without it: the same adapter, the same loss to the last printed digit.
"$attn" finetune "${ft[@]}" --lora 4 --lora-targets attention --steps 5 -q -o p-none.ckpt
"$attn" finetune "${ft[@]}" --lora 4 --lora-targets attention --lora-dropout 0 --steps 5 -q -o p-zero.ckpt
[ "$(loss_of p-none.ckpt)" = "$(loss_of p-zero.ckpt)" ] || { echo "FAIL: --lora-dropout 0 changed the run"; fail=1; }

# Usage errors: exit 2, one line naming the option.
for bad in 1 1.5 -0.1 abc; do
  "$attn" finetune "${ft[@]}" --lora 2 --lora-dropout "$bad" --steps 1 -o x.ckpt 2>e.txt
  check "--lora-dropout $bad" 2 $?; one_line "--lora-dropout $bad" e.txt; names "--lora-dropout $bad" e.txt --lora-dropout
done
"$attn" finetune "${ft[@]}" --lora-dropout 0.1 --steps 1 -o x.ckpt 2>e.txt
check "--lora-dropout without --lora" 2 $?; one_line "--lora-dropout alone" e.txt; names "alone" e.txt --lora-dropout
"$attn" finetune "${ft[@]}" --lora 2 --lora-targets '*' --lora-dropout 0.1 --steps 1 -o x.ckpt 2>e.txt
check "--lora-dropout with LSTM targets" 2 $?; one_line "--lora-dropout with LSTM targets" e.txt
names "LSTM targets" e.txt --lora-dropout; names "LSTM targets" e.txt LSTM
[ -e x.ckpt ] && { echo "FAIL: a refused run wrote x.ckpt"; fail=1; }
exit $fail
