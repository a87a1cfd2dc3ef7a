#!/usr/bin/env bash
# attn train, end to end: a tiny lm run whose checkpoint `attn inspect` reads and whose log's
# bits per byte follow from its loss, exact resume (same losses as an uninterrupted run), SIGTERM
# saving a checkpoint, and one-line errors. (That an lm learns real text is
# tests/e2e/test_train_convergence.sh.)
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
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

for i in $(seq 1 60); do
  echo "the cat sat on the mat number $i and the dog ran far away"
  echo "a bird flew over the house while $i fish swam in the sea"
done >train.txt
head -8 train.txt >valid.txt
small=(--arch lm --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 16 --vocab-size 300
       --batch-size 8 --threads 1 --schedule noam --warmup 4 --dropout 0.2 -q)

"$attn" train "${small[@]}" --train train.txt --valid valid.txt --valid-every 5 --steps 20 -o a.ckpt --log a.csv
check "train lm" 0 $?
"$attn" inspect a.ckpt >inspect.txt; check "inspect the checkpoint" 0 $?
# a --batch-size past the training set's size makes batches of the whole set: the memory check
# counts those, not 100 million sequences
"$attn" train "${small[@]}" --train train.txt --batch-size 100000000 --steps 1 -o big-batch.ckpt 2>err.txt
check "--batch-size beyond the data" 0 $?
grep -q "model: lm" inspect.txt || { echo "FAIL: inspect does not show the lm family"; fail=1; }
[ -f a.ckpt.best ] || { echo "FAIL: no best checkpoint"; fail=1; }
[ "$(grep -c ',train$' a.csv)" -eq 20 ] || { echo "FAIL: log has $(grep -c ',train$' a.csv) step rows, expected 20"; fail=1; }
head -1 a.csv | grep -q '^step,epoch,loss,lr,tokens,tokens_per_s,grad_norm,perplexity,accuracy,bits_per_byte,split$' \
  || { echo "FAIL: log header: $(head -1 a.csv)"; fail=1; }
# bits per byte = total validation loss in bits over the validation file's bytes (no blank lines)
awk -F, -v bytes="$(wc -c <valid.txt)" '$NF == "valid" { n++
    want = $3 * $5 / log(2) / bytes
    if ($10 - want > 1e-4 * want || want - $10 > 1e-4 * want) {
      print "FAIL: bits per byte " $10 " at step " $1 ", expected loss x tokens / ln 2 / bytes = " want; bad = 1 } }
  END { if (n != 4) { print "FAIL: " n " validation rows, expected 4"; bad = 1 }; exit bad }' a.csv || fail=1

# Interrupted after 9 steps, resumed to 20: the same step losses as the straight run.
"$attn" train "${small[@]}" --train train.txt --valid valid.txt --valid-every 5 --steps 9 -o b.ckpt --log b.csv
check "train 9 steps" 0 $?
"$attn" train --resume b.ckpt --steps 20 --log b.csv -q --threads 1; check "resume" 0 $?
diff <(grep ',train$' a.csv | cut -d, -f1-5) <(grep ',train$' b.csv | cut -d, -f1-5) >/dev/null \
  || { echo "FAIL: resumed losses differ from the straight run"; fail=1; }
# glibc's own malloc policy (ATTN_MALLOC=glibc; cli/allocator.h) changes where buffers live, not
# what is computed: the same step losses, byte for byte.
ATTN_MALLOC=glibc "$attn" train "${small[@]}" --train train.txt --valid valid.txt --valid-every 5 --steps 20 \
  -o g.ckpt --log g.csv
check "train with ATTN_MALLOC=glibc" 0 $?
diff <(grep ',train$' a.csv | cut -d, -f1-5) <(grep ',train$' g.csv | cut -d, -f1-5) >/dev/null \
  || { echo "FAIL: losses under glibc's malloc policy differ from attn's"; fail=1; }
# Explicit architecture flags must agree with the checkpoint.
"$attn" train --resume b.ckpt --heads 4 --steps 30 2>err.txt; check "resume with other heads" 2 $?
one_line "conflicting --heads" err.txt

# SIGTERM: a checkpoint is saved and the exit code is 143.
"$attn" train "${small[@]}" --train train.txt --steps 1000000 -o s.ckpt --log s.csv &
pid=$!
for _ in $(seq 1 600); do [ -s s.csv ] && [ "$(wc -l <s.csv)" -gt 3 ] && break; sleep 0.1; done  # <= 60 s on a busy machine
kill -TERM $pid; wait $pid; check "SIGTERM" 143 $?
"$attn" inspect s.ckpt >/dev/null; check "checkpoint saved on SIGTERM" 0 $?

# Bad inputs: one line on stderr, exit 2 (usage) or 1 (runtime).
"$attn" train --arch lm --train missing.txt -o x.ckpt 2>err.txt; check "missing file" 1 $?
one_line "missing file" err.txt
"$attn" train --arch lm --train train.txt -o x.ckpt --frobnicate 2>err.txt; check "unknown option" 2 $?
one_line "unknown option" err.txt
"$attn" train --arch nonsense --train train.txt -o x.ckpt 2>err.txt; check "--arch nonsense" 2 $?
one_line "--arch nonsense" err.txt
# The model family is --arch; -m/--model names a checkpoint (as in every other subcommand).
"$attn" train --model lm --train train.txt -o x.ckpt 2>err.txt; check "--model lm" 2 $?
one_line "--model lm" err.txt
grep -q -- "--model names a checkpoint; the model family is --arch lm" err.txt \
  || { echo "FAIL: --model lm hint: $(cat err.txt)"; fail=1; }
"$attn" train -m a.ckpt --train train.txt -o x.ckpt 2>err.txt; check "-m a.ckpt" 2 $?
one_line "-m a.ckpt" err.txt
grep -q -- "--resume a.ckpt" err.txt || { echo "FAIL: -m a.ckpt hint: $(cat err.txt)"; fail=1; }
# A --config file may name the family with arch = or its old key model =.
for key in arch model; do
  printf '%s = lm\nlayers = 1\nd-model = 16\nheads = 2\nff = 32\nmax-len = 16\n' "$key" >"$key.cfg"
  "$attn" train --config "$key.cfg" --train train.txt -v a.ckpt --steps 1 -q -o "$key.ckpt" 2>err.txt
  check "config $key = lm" 1 $?  # reaches data loading (a.ckpt is not a vocabulary): parsed
  grep -q "vocabulary" err.txt || { echo "FAIL: config $key = lm: $(cat err.txt)"; fail=1; }
done
: >empty.txt
"$attn" train --arch lm --train empty.txt -o x.ckpt -q -v a.ckpt 2>err.txt; check "not a vocabulary" 1 $?
one_line "not a vocabulary" err.txt
"$attn" vocab --type char --size 60 -o v.txt train.txt 2>/dev/null
"$attn" train --arch lm --train empty.txt -o x.ckpt -q -v v.txt 2>err.txt; check "empty training set" 1 $?
one_line "empty training set" err.txt
grep -q "no usable examples" err.txt || { echo "FAIL: empty training set message: $(cat err.txt)"; fail=1; }
# Plain text where source<TAB>target is read: one error line naming the format, no skip summary.
"$attn" train --arch transformer --train train.txt -o x.ckpt -q -v v.txt --steps 1 2>err.txt
check "plain text to a transformer" 1 $?
one_line "plain text to a transformer" err.txt
grep -qF "'train.txt' holds no usable examples: none of its 120 lines is usable source<TAB>target" err.txt \
  || { echo "FAIL: plain text to a transformer: $(cat err.txt)"; fail=1; }
exit $fail
