#!/usr/bin/env bash
# LoRA end to end through the real binary: an lm pretrained briefly on Genesis is fine-tuned with
# --lora on the English side of en-fr.tsv; the adapter checkpoint is small, decodes, evaluates,
# is inspected as an adapter, resumes, merges into a plain checkpoint that scores the same, a
# wrong base is refused, and a stored base path that does not resolve from here is looked for next
# to the adapter, else named as the adapter's with --base as the way out. Errors are one line with exit 2 (usage) or 1 (runtime). Single-threaded.
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
loss_of() { "$attn" eval -m "$1" --data en-valid.txt --threads 1 "${@:2}" | sed -n 's/^loss = \([0-9.]*\).*/\1/p'; }
same() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-4) }'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

head -400 "$data/kjv-genesis.txt" >gen.txt
cut -f1 "$data/en-fr.tsv" | head -300 >en-train.txt
cut -f1 "$data/en-fr.tsv" | sed -n 301,360p >en-valid.txt
"$attn" train --arch lm --train gen.txt --layers 2 --d-model 32 --heads 2 --ff 64 --max-len 48 --vocab-size 300 \
  --batch-size 16 --lr 3e-3 --steps 30 --threads 1 -q -o base.ckpt
check "pretrain the base" 0 $?
cp base.ckpt base-copy.ckpt

ft=(-m base.ckpt --train en-train.txt --batch-size 16 --lr 3e-3 --dropout 0 --threads 1 -q)
"$attn" finetune "${ft[@]}" --lora 4 --steps 20 -o adapter.ckpt 2>err.txt
check "finetune --lora" 0 $?
cmp -s base.ckpt base-copy.ckpt || { echo "FAIL: the base checkpoint changed"; fail=1; }
# A rank above an adapted weight's smaller side (d-model 32) adds only parameters: refused before
# any adapter is allocated (a rank of 10^6 was once allocated until the machine ran out of memory).
for r in 33 1000000; do
  "$attn" finetune "${ft[@]}" --lora $r --steps 1 -o big-rank.ckpt 2>err.txt
  check "finetune --lora $r" 2 $?
  one_line "finetune --lora $r" err.txt
  grep -q -- "--lora $r is above the rank .* (A·B has rank at most its smaller side, 32)" err.txt ||
    { echo "FAIL: finetune --lora $r: $(cat err.txt)"; fail=1; }
  [ -e big-rank.ckpt ] && { echo "FAIL: finetune --lora $r wrote a checkpoint"; fail=1; }
done
base_size=$(stat -c %s base.ckpt); adapter_size=$(stat -c %s adapter.ckpt)
[ "$adapter_size" -lt $((base_size / 10)) ] ||
  { echo "FAIL: adapter $adapter_size bytes is not under 10% of the base's $base_size"; fail=1; }

"$attn" inspect adapter.ckpt >inspect.txt; check "inspect the adapter" 0 $?
grep -q "^LoRA adapter: rank 4, alpha 4" inspect.txt || { echo "FAIL: inspect does not show the adapter"; fail=1; }
grep -q "^  base: base.ckpt (parameter hash [0-9a-f]\{16\})" inspect.txt || { echo "FAIL: inspect: no base"; fail=1; }
grep -q "^  lora = 4$" inspect.txt || { echo "FAIL: train_config lacks lora = 4"; fail=1; }
"$attn" inspect adapter.ckpt --base base.ckpt --json | grep -q '"base_checked": true' ||
  { echo "FAIL: inspect --base --json"; fail=1; }

base_loss=$(loss_of base.ckpt); adapter_loss=$(loss_of adapter.ckpt)
[ -n "$adapter_loss" ] || { echo "FAIL: eval printed no loss for the adapter"; fail=1; }
awk -v a="$adapter_loss" -v b="$base_loss" 'BEGIN { exit !(a < b) }' ||
  { echo "FAIL: the adapter ($adapter_loss) does not lower the base's loss ($base_loss) on the new data"; fail=1; }
echo "And God" | "$attn" decode -m adapter.ckpt --max-len 12 --threads 1 >adapter-out.txt
check "decode with the adapter" 0 $?
echo "And God" | "$attn" attention -m adapter.ckpt --threads 1 >attn.csv
check "attention with the adapter" 0 $?

# Merge: a plain checkpoint that scores and decodes like the adapter.
"$attn" merge adapter.ckpt -o merged.ckpt 2>merge-err.txt
check "merge" 0 $?
"$attn" inspect merged.ckpt >merged.txt
grep -q "^LoRA" merged.txt && { echo "FAIL: the merged checkpoint is still an adapter"; fail=1; }
grep -q "merged_from.*adapter.ckpt" <("$attn" inspect merged.ckpt --json) || { echo "FAIL: no lineage"; fail=1; }
grep -q "^merged_from: adapter.ckpt$" merged.txt && grep -q "^merged_base: base.ckpt$" merged.txt ||
  { echo "FAIL: the text inspect of the merged checkpoint lacks its lineage"; fail=1; }
merged_loss=$(loss_of merged.ckpt)
same "$merged_loss" "$adapter_loss" || { echo "FAIL: merged loss $merged_loss != adapter's $adapter_loss"; fail=1; }
echo "And God" | "$attn" decode -m merged.ckpt --max-len 12 --threads 1 >merged-out.txt
cmp -s adapter-out.txt merged-out.txt || { echo "FAIL: merged and adapter decode differently"; fail=1; }

# The base from elsewhere (--base), and a wrong base refused in one line.
mkdir moved && cp base.ckpt moved/b.ckpt
same "$(loss_of adapter.ckpt --base moved/b.ckpt)" "$adapter_loss" || { echo "FAIL: eval --base"; fail=1; }
"$attn" train --arch lm --train gen.txt --layers 2 --d-model 32 --heads 2 --ff 64 --max-len 48 --vocab-size 300 \
  --batch-size 16 --lr 3e-3 --steps 31 --threads 1 -q -o other.ckpt
"$attn" eval -m adapter.ckpt --base other.ckpt --data en-valid.txt 2>e.txt >/dev/null
check "wrong base refused" 1 $?; one_line "wrong base" e.txt
grep -q "is not the base of adapter" e.txt || { echo "FAIL: wrong base message: $(cat e.txt)"; fail=1; }
"$attn" merge adapter.ckpt --base other.ckpt -o m2.ckpt 2>e.txt
check "merge onto a wrong base" 1 $?; one_line "merge onto a wrong base" e.txt
[ -e m2.ckpt ] && { echo "FAIL: merge wrote onto a wrong base"; fail=1; }
mv base.ckpt gone.ckpt
"$attn" decode -m adapter.ckpt </dev/null 2>e.txt >/dev/null
check "missing base" 1 $?; one_line "missing base" e.txt
grep -qF "adapter 'adapter.ckpt': its base 'base.ckpt' (the path given to finetune -m) cannot be opened: No such file or directory; give the base with --base" e.txt \
  || { echo "FAIL: missing base message: $(cat e.txt)"; fail=1; }
mv gone.ckpt base.ckpt

# An adapter made in another directory (finetune -m base.ckpt run in sub/) stores base.ckpt
# relative to sub/: used from here, its base is found next to it. Gone from there too, every
# command that reads it says the path came from the adapter and to give --base, in one line.
mkdir sub && cp base.ckpt sub/base.ckpt
(cd sub && "$attn" finetune -m base.ckpt --train ../en-train.txt --lora 2 --steps 2 --threads 1 -q -o ad.ckpt)
check "finetune --lora in sub/" 0 $?
rm -f base.ckpt.away && mv base.ckpt base.ckpt.away  # nothing named base.ckpt here
echo "And God" | "$attn" decode -m sub/ad.ckpt --max-len 4 --threads 1 >/dev/null 2>e.txt
check "decode sub/ad.ckpt: base next to it" 0 $?
"$attn" merge sub/ad.ckpt -o sub-merged.ckpt -q 2>e.txt; check "merge sub/ad.ckpt: base next to it" 0 $?
"$attn" merge sub/ad.ckpt -o sub/base.ckpt 2>e.txt; check "merge over the base found next to it" 2 $?
"$attn" finetune --resume sub/ad.ckpt --train en-train.txt --steps 3 --threads 1 -q -o sub/base.ckpt 2>e.txt
check "finetune --resume over the base found next to it" 2 $?
cmp -s sub/base.ckpt base-copy.ckpt || { echo "FAIL: sub/base.ckpt was written over"; fail=1; }
mv sub/base.ckpt sub/moved.ckpt
for c in "decode -m sub/ad.ckpt src0.txt" "eval -m sub/ad.ckpt en-valid.txt" "attention -m sub/ad.ckpt src0.txt" \
         "merge sub/ad.ckpt -o sub-m2.ckpt" "finetune --resume sub/ad.ckpt --train en-train.txt --steps 3 --threads 1 -q -o sub/ad.ckpt"; do
  echo "And God" >src0.txt
  # shellcheck disable=SC2086
  "$attn" $c 2>e.txt >/dev/null; check "$c, its base nowhere" 1 $?; one_line "$c, its base nowhere" e.txt
  grep -qF "adapter 'sub/ad.ckpt': its base 'base.ckpt' (the path given to finetune -m) cannot be opened from the current directory or next to the adapter: No such file or directory; give the base with --base" e.txt \
    || { echo "FAIL: $c, its base nowhere: $(cat e.txt)"; fail=1; }
done
echo "And God" | "$attn" decode -m sub/ad.ckpt --base sub/moved.ckpt --max-len 4 --threads 1 >/dev/null 2>e.txt
check "decode sub/ad.ckpt --base" 0 $?
mv base.ckpt.away base.ckpt

# --resume continues the adapter run; the result is still an adapter.
"$attn" finetune --resume adapter.ckpt --steps 25 -q --threads 1 2>e.txt
check "finetune --resume an adapter" 0 $?
"$attn" inspect adapter.ckpt | grep -q "^  step = 25$" || { echo "FAIL: resumed adapter is not at step 25"; fail=1; }
[ "$(stat -c %s adapter.ckpt)" -lt $((base_size / 10)) ] || { echo "FAIL: the resumed adapter grew"; fail=1; }

# The adapter's base is one of its inputs: no command writes over it (the path the adapter stores
# or --base), exit 2, one line, the base untouched; merge -o - is refused, merge -q says nothing.
cp base.ckpt base.orig
echo "And God" >src.txt
for c in "merge adapter.ckpt -o base.ckpt" "merge adapter.ckpt --base base.ckpt -o base.ckpt" \
         "finetune --resume adapter.ckpt --steps 26 --threads 1 -q -o base.ckpt" \
         "finetune --resume adapter.ckpt --base base.ckpt --steps 26 --threads 1 -q -o base.ckpt" \
         "finetune --resume adapter.ckpt --steps 26 --threads 1 -q --log base.ckpt" \
         "decode -m adapter.ckpt -o base.ckpt src.txt" "decode -m adapter.ckpt --base base.ckpt -o base.ckpt src.txt" \
         "attention -m adapter.ckpt -o base.ckpt src.txt" "merge adapter.ckpt -o -"; do
  # shellcheck disable=SC2086
  "$attn" $c 2>e.txt >/dev/null; check "$c" 2 $?; one_line "$c" e.txt
  cmp -s base.ckpt base.orig || { echo "FAIL: $c wrote over the base"; cp base.orig base.ckpt; fail=1; }
done
"$attn" eval -m adapter.ckpt --data en-valid.txt 2>e.txt >>base.ckpt; check "eval -m ADAPTER >> BASE" 2 $?
cmp -s base.ckpt base.orig || { echo "FAIL: eval appended to the base"; cp base.orig base.ckpt; fail=1; }
"$attn" merge adapter.ckpt -o quiet.ckpt -q 2>e.txt; check "merge -q" 0 $?
[ -s e.txt ] && { echo "FAIL: merge -q printed: $(cat e.txt)"; fail=1; }

# Usage errors: one line, exit 2.
"$attn" finetune "${ft[@]}" --lora 0 --steps 1 -o x.ckpt 2>e.txt; check "--lora 0" 2 $?; one_line "--lora 0" e.txt
"$attn" finetune "${ft[@]}" --lora-alpha 8 --steps 1 -o x.ckpt 2>e.txt; check "--lora-alpha alone" 2 $?
one_line "--lora-alpha alone" e.txt
"$attn" finetune "${ft[@]}" --lora 2 --freeze embed --steps 1 -o x.ckpt 2>e.txt; check "--lora --freeze" 2 $?
"$attn" merge adapter.ckpt 2>e.txt; check "merge without -o" 2 $?; one_line "merge without -o" e.txt
"$attn" merge base.ckpt -o x.ckpt 2>e.txt; check "merge a plain checkpoint" 1 $?; one_line "merge plain" e.txt
"$attn" finetune "${ft[@]}" --lora 2 --lora-targets nothing --steps 1 -o x.ckpt 2>e.txt
check "--lora-targets that select nothing" 2 $?; one_line "--lora-targets nothing" e.txt
[ -e x.ckpt ] && { echo "FAIL: a refused run wrote x.ckpt"; fail=1; }
exit $fail
