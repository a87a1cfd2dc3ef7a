#!/usr/bin/env bash
# attn decode through the real binary, on briefly trained models (what they output does not matter
# here; how well they learned is tests/e2e/test_decode_convergence.sh): one line per input for
# every search and family, n-best lists (format, scores <= 0 and non-increasing, the first one is
# the plain beam output), classifier n-best probabilities, sampling's determinism (same seed, any
# batch size); plus decode's error paths. Everything runs with --threads 1, except the check that
# --threads 2 gives the same outputs.
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=$src/examples/data
lines() {  # lines NAME FILE WANT
  [ "$(wc -l <"$2")" -eq "$3" ] || { echo "FAIL: $1 wrote $(wc -l <"$2") lines, expected $3"; fail=1; }
}
common=(--train "$data/reverse-train.tsv" -v "$tmp/w.vocab" --dropout 0 --batch-size 64 --lr 0.003
        --schedule cosine --warmup 20 --max-len 32 --threads 1 -q)
dec() { "$attn" decode --threads 1 "$@"; }

"$attn" vocab -q --type word --size 30 --column all -o "$tmp/w.vocab" "$data/reverse-train.tsv" || fail=1
"$attn" train --arch transformer --layers 2 --d-model 64 --heads 4 --ff 256 --steps 100 "${common[@]}" \
  -o "$tmp/t.ckpt" 2>"$tmp/err" || { echo "FAIL: transformer training: $(tail -3 "$tmp/err")"; fail=1; }
cut -f1 "$data/reverse-valid.tsv" >"$tmp/src"
dec -m "$tmp/t.ckpt" <"$tmp/src" >"$tmp/t.hyp" || fail=1
lines "greedy" "$tmp/t.hyp" 200
dec -m "$tmp/t.ckpt" --beam 5 <"$tmp/src" >"$tmp/t5.hyp" || fail=1
lines "beam 5" "$tmp/t5.hyp" 200

# Sources of many lengths in batches of one and three: each batch re-cuts the decoding caches'
# storage into pages of its own source length (a cache once refused storage left over from shorter
# pages, and decoding stopped with an error); the outputs do not depend on the batch size.
for n in 30 3 17 9 20 5 23 12 29 1 26; do seq "$n" | awk '{ printf "%d ", ($1 * 7) % 10 } END { print "" }'; done >"$tmp/mixed"
for how in "" "--beam 5"; do
  for size in 1 3; do
    # shellcheck disable=SC2086
    dec -m "$tmp/t.ckpt" $how --batch-size $size <"$tmp/mixed" >"$tmp/mixed$size" 2>"$tmp/err" \
      || { echo "FAIL: decode $how --batch-size $size of mixed lengths: $(cat "$tmp/err")"; fail=1; }
    lines "mixed lengths $how --batch-size $size" "$tmp/mixed$size" 11
  done
  # greedy only: beam search ranks many near-equal weak candidates, where another CPU's last bits
  # for a batch of another shape could swap two
  [ -z "$how" ] && ! cmp -s "$tmp/mixed1" "$tmp/mixed3" \
    && { echo "FAIL: greedy decode of mixed lengths depends on --batch-size"; fail=1; }
done

# n-best: N lines 'index ||| hypothesis ||| score' per input, in input order; a score is a
# length-normalised log-probability, so a number <= 0 (a confident model's best may print 0, or -0),
# and scores do not increase within an input.
check_nbest() {  # check_nbest NAME FILE N INPUTS
  awk -F' [|][|][|] ' -v n="$3" -v want="$4" -v name="$1" '
    NF != 3 || $1 != int((NR - 1) / n) || $3 !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ || $3 + 0 > 0 {
      print "FAIL: " name " line " NR ": " $0; bad = 1 }
    (NR - 1) % n && $3 + 0 > prev + 0 { print "FAIL: " name " scores increase at line " NR; bad = 1 }
    { prev = $3 }
    END { if (NR != n * want) { print "FAIL: " name " wrote " NR " lines for " want " inputs"; bad = 1 }; exit bad }
  ' "$2" || fail=1
}
head -20 "$tmp/src" >"$tmp/src20"
dec -m "$tmp/t.ckpt" --n-best 3 <"$tmp/src20" >"$tmp/nbest" || fail=1
check_nbest "n-best 3" "$tmp/nbest" 3 20
# The same search (--beam 5, the same inputs and batches) prints its best hypothesis first.
dec -m "$tmp/t.ckpt" --beam 5 --n-best 5 <"$tmp/src20" >"$tmp/nbest5" || fail=1
check_nbest "beam 5 n-best 5" "$tmp/nbest5" 5 20
dec -m "$tmp/t.ckpt" --beam 5 <"$tmp/src20" >"$tmp/t5-20.hyp" || fail=1
cmp -s <(awk -F' [|][|][|] ' '(NR - 1) % 5 == 0 { print $2 }' "$tmp/nbest5") "$tmp/t5-20.hyp" \
  || { echo "FAIL: the first of beam 5's n-best hypotheses differ from beam 5's outputs"; fail=1; }

# --kv-cache f16: the caches' keys and values as halves; every search still writes one line per
# input, n-best scores stay log-probabilities in order, and greedy f16 outputs are f16's (the same
# twice, and at --batch-size 1 as at the default)
dec -m "$tmp/t.ckpt" --kv-cache f16 <"$tmp/src" >"$tmp/t16.hyp" || fail=1
lines "greedy --kv-cache f16" "$tmp/t16.hyp" 200
dec -m "$tmp/t.ckpt" --kv-cache f16 --batch-size 1 <"$tmp/src" >"$tmp/t16b.hyp" || fail=1
cmp -s "$tmp/t16.hyp" "$tmp/t16b.hyp" || { echo "FAIL: greedy --kv-cache f16 depends on --batch-size"; fail=1; }
dec -m "$tmp/t.ckpt" --kv-cache f16 --beam 5 <"$tmp/src" >"$tmp/t16-5.hyp" || fail=1
lines "beam 5 --kv-cache f16" "$tmp/t16-5.hyp" 200
dec -m "$tmp/t.ckpt" --kv-cache f16 --beam 5 --n-best 5 <"$tmp/src20" >"$tmp/nbest16" || fail=1
check_nbest "beam 5 n-best 5 --kv-cache f16" "$tmp/nbest16" 5 20

# sampling: deterministic for a seed, whatever the batch size; other seeds draw other outputs
sample() { dec -m "$tmp/t.ckpt" --sample --temperature 2 "$@" <"$tmp/src"; }
sample --seed 1 >"$tmp/s1" || fail=1
sample --seed 1 >"$tmp/s1b" || fail=1
sample --seed 1 --batch-size 1 >"$tmp/s1c" || fail=1
sample --seed 2 >"$tmp/s2" || fail=1
cmp -s "$tmp/s1" "$tmp/s1b" || { echo "FAIL: --sample --seed 1 gave different outputs twice"; fail=1; }
cmp -s "$tmp/s1" "$tmp/s1c" || { echo "FAIL: --sample --seed 1 depends on --batch-size"; fail=1; }
cmp -s "$tmp/s1" "$tmp/s2" && { echo "FAIL: --seed 1 and --seed 2 sampled the same outputs"; fail=1; }
cmp -s "$tmp/s1" "$tmp/t.hyp" && { echo "FAIL: sampling at temperature 2 gave the greedy outputs"; fail=1; }
lines "sampling" "$tmp/s1" 200

# rnn with additive attention: file input and -o; it keeps no K/V cache, so --kv-cache f16 says it
# changes nothing and decodes as without it
"$attn" train --arch rnn --attention additive --embed 32 --hidden 128 --steps 60 "${common[@]}" \
  -o "$tmp/r.ckpt" 2>"$tmp/err" || { echo "FAIL: rnn training: $(tail -3 "$tmp/err")"; fail=1; }
dec -m "$tmp/r.ckpt" -o "$tmp/r.hyp" "$tmp/src" || fail=1
lines "rnn greedy" "$tmp/r.hyp" 200
dec -m "$tmp/r.ckpt" --beam 5 -o "$tmp/r5.hyp" "$tmp/src" || fail=1
lines "rnn beam 5" "$tmp/r5.hyp" 200
dec -m "$tmp/r.ckpt" --kv-cache f16 -o "$tmp/r16.hyp" "$tmp/src" 2>"$tmp/err" || fail=1
grep -q "kv-cache f16 has no effect" "$tmp/err" || { echo "FAIL: rnn --kv-cache f16 said: $(cat "$tmp/err")"; fail=1; }
cmp -s "$tmp/r.hyp" "$tmp/r16.hyp" || { echo "FAIL: rnn --kv-cache f16 changed the outputs"; fail=1; }

# --threads 2: batches of up to 256 rows go to one thread each, with a model sharing the weights, and
# each batch runs as on one thread. The sources 6 times: 1,200 lines × 32 steps is past the
# row-steps a chunk needs before workers start (2^15, translate.h), and 1,200 lines in batches of
# 8 are an even count of batches, so none runs on both threads (the last of an odd count would,
# where the rnn's source projection, over 2^20 multiply-adds, is split: another CPU's OpenBLAS
# kernel may round that differently). So every search's outputs are --threads 1's, byte for byte,
# on any CPU (on a one-core machine --threads 2 is one thread, and this holds trivially). Batches
# of 8: the rnn's LSTM would split 8 rows between threads outside a worker.
for _ in 1 2 3 4 5 6; do cat "$tmp/src"; done >"$tmp/src6"
for ckpt in t r; do
  for how in "" "--beam 5" "--beam 3 --n-best 3" "--sample --seed 4" "--alignment hard"; do
    # shellcheck disable=SC2086
    dec -m "$tmp/$ckpt.ckpt" $how --batch-size 8 <"$tmp/src6" >"$tmp/w1" 2>"$tmp/err" || fail=1
    # shellcheck disable=SC2086
    "$attn" decode --threads 2 -m "$tmp/$ckpt.ckpt" $how --batch-size 8 <"$tmp/src6" >"$tmp/w2" 2>"$tmp/err" \
      || { echo "FAIL: $ckpt decode --threads 2 $how: $(cat "$tmp/err")"; fail=1; }
    [ -s "$tmp/w2" ] && cmp -s "$tmp/w1" "$tmp/w2" \
      || { echo "FAIL: $ckpt decode $how: --threads 2 wrote other outputs than --threads 1"; fail=1; }
  done
done

# classifier: one known label per input; n-best 2 of its 2 labels are both labels, best first, and
# their probabilities sum to 1 (scores are log-probs, printed with 6 digits)
"$attn" train --arch classifier --train "$data/sentiment-train.tsv" --layers 1 --d-model 64 --heads 4 --ff 128 \
  --dropout 0 --batch-size 32 --steps 40 --lr 0.003 --vocab-size 300 --threads 1 -q -o "$tmp/c.ckpt" 2>"$tmp/err" \
  || { echo "FAIL: classifier training: $(tail -3 "$tmp/err")"; fail=1; }
cut -f2 "$data/sentiment-valid.tsv" | dec -m "$tmp/c.ckpt" >"$tmp/c.hyp" || fail=1
lines "classifier" "$tmp/c.hyp" 200
[ "$(grep -cvx 'positive\|negative' "$tmp/c.hyp")" -eq 0 ] || { echo "FAIL: classifier labels: $(sort -u "$tmp/c.hyp")"; fail=1; }
cut -f2 "$data/sentiment-valid.tsv" | head -5 | dec -m "$tmp/c.ckpt" --n-best 2 >"$tmp/c.nbest" || fail=1
check_nbest "classifier n-best 2" "$tmp/c.nbest" 2 5
awk -F' [|][|][|] ' 'NR % 2 { a = $2; p = exp($3); next }
  { s = p + exp($3); if (a == $2 || s < 0.9999 || s > 1.0001) { print "FAIL: classifier n-best " $1 ": " a ", " $2 ", sum " s; bad = 1 } }
  END { exit bad }' "$tmp/c.nbest" || fail=1
cmp -s <(awk -F' [|][|][|] ' 'NR % 2 { print $2 }' "$tmp/c.nbest") <(head -5 "$tmp/c.hyp") \
  || { echo "FAIL: classifier n-best's first labels differ from its plain output"; fail=1; }
# A classifier searches nothing: a wide --n-best or --beam costs no memory per hypothesis (they
# were once counted as beams of max_len tokens and refused at 30-97 GB), and --beam is a note.
cut -f2 "$data/sentiment-valid.tsv" | head -2 | "$attn" decode -m "$tmp/c.ckpt" --n-best 600 --threads 1 >"$tmp/c.wide" \
  2>"$tmp/err" || { echo "FAIL: classifier --n-best 600: $(cat "$tmp/err")"; fail=1; }
[ "$(wc -l <"$tmp/c.wide")" -eq 4 ] || { echo "FAIL: classifier --n-best 600: $(wc -l <"$tmp/c.wide") lines, not 2 x 2"; fail=1; }
cut -f2 "$data/sentiment-valid.tsv" | head -2 | "$attn" decode -m "$tmp/c.ckpt" --beam 30 \
  --threads 1 >"$tmp/c.wide" 2>"$tmp/err" || { echo "FAIL: classifier --beam 30: $(cat "$tmp/err")"; fail=1; }
cmp -s "$tmp/c.wide" <(head -2 "$tmp/c.hyp") || { echo "FAIL: classifier --beam 30 changed the labels"; fail=1; }
grep -q "^attn decode: --beam has no effect: a classifier" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] \
  || { echo "FAIL: classifier --beam 30: expected one note, got: $(cat "$tmp/err")"; fail=1; }

# lm: one output line per input line, order kept, including an empty prompt
head -300 "$data/kjv-genesis.txt" >"$tmp/lm.txt"
"$attn" train --arch lm --train "$tmp/lm.txt" --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 32 \
  --steps 30 --vocab-size 400 --threads 1 -q -o "$tmp/lm.ckpt" 2>"$tmp/err" || { echo "FAIL: lm training"; fail=1; }
for how in "" "--beam 3" "--sample --top-k 20 --top-p 0.9" "--kv-cache f16 --beam 3"; do
  # shellcheck disable=SC2086
  printf 'And God said\n\nIn the\n' | dec -m "$tmp/lm.ckpt" --max-len 12 $how >"$tmp/lm.hyp" || fail=1
  lines "lm decode $how" "$tmp/lm.hyp" 3
done
# prompts of many lengths, longer than a cache page (16 positions) too, one after another
awk 'NR % 50 == 1 { n = split($0, w, " "); k = NR % 23 + 1; s = w[1]; for (i = 2; i <= k && i <= n; ++i) s = s " " w[i]; print s }' \
  "$tmp/lm.txt" >"$tmp/prompts"
for size in 1 4; do
  dec -m "$tmp/lm.ckpt" --max-len 30 --batch-size $size <"$tmp/prompts" >"$tmp/lm$size.hyp" 2>"$tmp/err" \
    || { echo "FAIL: lm decode --batch-size $size of prompts of many lengths: $(cat "$tmp/err")"; fail=1; }
  lines "lm prompts of many lengths --batch-size $size" "$tmp/lm$size.hyp" 6
done
# A byte-level vocabulary holds the "\n" and "\r" bytes; sampled at a high temperature (nearly
# uniform) some hypotheses contain them, and each is still printed on one line, as spaces.
yes "" | head -200 | dec -m "$tmp/lm.ckpt" --sample --temperature 30 --seed 3 --max-len 30 >"$tmp/hot.hyp" || fail=1
lines "lm sampled at temperature 30" "$tmp/hot.hyp" 200
grep -q $'\r' "$tmp/hot.hyp" && { echo "FAIL: a sampled hypothesis holds a carriage return"; fail=1; }
# learned positions end at max_len: a prompt that long is cut to leave the start token its place
"$attn" train --arch lm --train "$tmp/lm.txt" --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 12 \
  --pos-encoding learned --steps 5 --vocab-size 400 --threads 1 -q -o "$tmp/lml.ckpt" 2>"$tmp/err" || fail=1
for how in "" "--beam 2" "--sample"; do
  # shellcheck disable=SC2086
  head -3 "$tmp/lm.txt" | dec -m "$tmp/lml.ckpt" $how -q >"$tmp/lml.hyp" 2>"$tmp/err" \
    || { echo "FAIL: lm (learned positions) decode $how of prompts past max_len: $(cat "$tmp/err")"; fail=1; }
  lines "lm (learned positions) decode $how of prompts past max_len" "$tmp/lml.hyp" 3
done

# errors: one line, exit 1 (runtime) or 2 (usage)
expect() {  # expect CODE ARGS... (stdin from /dev/null)
  local code=$1; shift
  "$attn" "$@" </dev/null >/dev/null 2>"$tmp/err"; local got=$?
  if [ "$got" != "$code" ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^attn decode: " "$tmp/err"; then
    echo "FAIL: attn $* -> exit $got (want $code): $(cat "$tmp/err")"; fail=1
  fi
}
expect 2 decode
expect 2 decode -m "$tmp/t.ckpt" --bogus
expect 1 decode -m "$tmp/missing.ckpt"
expect 1 decode -m "$tmp/w.vocab"
expect 1 decode -m "$tmp/t.ckpt" "$tmp/no-such-input.txt"
head -c 1000 "$tmp/t.ckpt" >"$tmp/cut.ckpt"
expect 1 decode -m "$tmp/cut.ckpt"
expect 2 decode -m "$tmp/t.ckpt" --sample --beam 2
expect 2 decode -m "$tmp/t.ckpt" --sample --top-p 1.5
expect 2 decode -m "$tmp/t.ckpt" --top-k 5
expect 2 decode -m "$tmp/t.ckpt" --beam 2 --n-best 3
expect 2 decode -m "$tmp/t.ckpt" --beam 0
expect 2 decode -m "$tmp/c.ckpt" --sample
expect 2 decode -m "$tmp/t.ckpt" --kv-cache f8

# A line longer than the memory left (200 MB under a 400 MB address-space limit; std::getline
# reports the failed allocation as a read error): one line that says so, exit 1.
# (Only where a short line decodes under that limit: a BLAS that reserves more address space at
# start on a machine of many cores would fail for that reason instead.)
if printf '1 2\n' | (ulimit -v 400000; "$attn" decode -m "$tmp/t.ckpt" --threads 1 -q - >/dev/null 2>&1); then
  head -c 200000000 /dev/zero | tr '\0' a | (ulimit -v 400000; "$attn" decode -m "$tmp/t.ckpt" --threads 1 -q - \
    >/dev/null 2>"$tmp/err"); code=$?
  [ "$code" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
    grep -q "^attn decode: error reading '-': an I/O error, or a line too long for the memory available$" "$tmp/err" \
    || { echo "FAIL: a line too long for memory: exit $code, $(cat "$tmp/err")"; fail=1; }
else
  echo "note: skipped the long-line check: a one-line decode does not run under ulimit -v 400000 here"
fi
exit $fail
