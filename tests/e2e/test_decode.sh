#!/usr/bin/env bash
# attn train -> attn decode through the real binary: the transformer and the RNN with additive
# attention learn to reverse digit sequences (>= 99% exact on held-out data, greedy and beam 5), a
# classifier learns the generated labelling task, an lm generates; n-best lists, sampling's
# determinism (same seed, any batch size); plus decode's error paths.
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=$src/examples/data
exact() {  # exact NAME HYP MIN: count lines of HYP equal to the reference targets (also left in $n_exact)
  local n
  n=$(paste <(cut -f2 "$data/reverse-valid.tsv") "$2" | awk -F'\t' '$1==$2{c++} END{print c+0}')
  echo "$1: $n/200 exact"
  n_exact=$n
  [ "$n" -ge "$3" ] || { echo "FAIL: $1 reversed only $n/200 sequences exactly (need $3)"; fail=1; }
}
common=(--train "$data/reverse-train.tsv" -v "$tmp/w.vocab" --dropout 0 --batch-size 64 --lr 0.003
        --schedule cosine --warmup 50 --max-len 32 --threads 2 -q)

"$attn" vocab -q --type word --size 30 --column all -o "$tmp/w.vocab" "$data/reverse-train.tsv" || fail=1

"$attn" train --model transformer --layers 2 --d-model 64 --heads 4 --ff 256 --steps 1000 "${common[@]}" \
  -o "$tmp/t.ckpt" 2>"$tmp/err" || { echo "FAIL: transformer training: $(tail -3 "$tmp/err")"; fail=1; }
cut -f1 "$data/reverse-valid.tsv" | "$attn" decode -m "$tmp/t.ckpt" >"$tmp/t.hyp" || fail=1
exact transformer "$tmp/t.hyp" 198
n_greedy=$n_exact
cut -f1 "$data/reverse-valid.tsv" | "$attn" decode -m "$tmp/t.ckpt" --beam 5 >"$tmp/t5.hyp" || fail=1
exact transformer-beam5 "$tmp/t5.hyp" 198
[ "$n_exact" -ge "$n_greedy" ] || { echo "FAIL: beam 5 ($n_exact) less accurate than greedy ($n_greedy)"; fail=1; }

# n-best: 3 lines 'index ||| hypothesis ||| score' per input, in input order, scores non-increasing
cut -f1 "$data/reverse-valid.tsv" | head -20 | "$attn" decode -m "$tmp/t.ckpt" --n-best 3 >"$tmp/nbest" || fail=1
awk -F' [|][|][|] ' -v want=20 '
  NF != 3 || $1 != int((NR - 1) / 3) || $3 !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ { print "FAIL: n-best line " NR ": " $0; bad = 1 }
  (NR - 1) % 3 && $3 + 0 > prev + 0 { print "FAIL: n-best scores increase at line " NR; bad = 1 }
  { prev = $3 }
  END { if (NR != 3 * want) { print "FAIL: n-best wrote " NR " lines for " want " inputs"; bad = 1 }; exit bad }
' "$tmp/nbest" || fail=1
[ "$(head -1 "$tmp/nbest" | awk -F' [|][|][|] ' '{print $2}')" = "$(head -1 "$tmp/t5.hyp")" ] \
  || { echo "FAIL: the first n-best hypothesis differs from beam 5's"; fail=1; }

# sampling: deterministic for a seed, whatever the batch size; other seeds draw other outputs
sample() { cut -f1 "$data/reverse-valid.tsv" | "$attn" decode -m "$tmp/t.ckpt" --sample --temperature 2 "$@"; }
sample --seed 1 >"$tmp/s1" || fail=1
sample --seed 1 >"$tmp/s1b" || fail=1
sample --seed 1 --batch-size 1 >"$tmp/s1c" || fail=1
sample --seed 2 >"$tmp/s2" || fail=1
cmp -s "$tmp/s1" "$tmp/s1b" || { echo "FAIL: --sample --seed 1 gave different outputs twice"; fail=1; }
cmp -s "$tmp/s1" "$tmp/s1c" || { echo "FAIL: --sample --seed 1 depends on --batch-size"; fail=1; }
cmp -s "$tmp/s1" "$tmp/s2" && { echo "FAIL: --seed 1 and --seed 2 sampled the same outputs"; fail=1; }
cmp -s "$tmp/s1" "$tmp/t.hyp" && { echo "FAIL: sampling at temperature 2 gave the greedy outputs"; fail=1; }
[ "$(wc -l <"$tmp/s1")" -eq 200 ] || { echo "FAIL: sampling wrote $(wc -l <"$tmp/s1") lines for 200 inputs"; fail=1; }

"$attn" train --model rnn --attention additive --embed 32 --hidden 128 --steps 600 "${common[@]}" \
  -o "$tmp/r.ckpt" 2>"$tmp/err" || { echo "FAIL: rnn training: $(tail -3 "$tmp/err")"; fail=1; }
"$attn" decode -m "$tmp/r.ckpt" -o "$tmp/r.hyp" <(cut -f1 "$data/reverse-valid.tsv") || fail=1
exact rnn-additive "$tmp/r.hyp" 198
"$attn" decode -m "$tmp/r.ckpt" --beam 5 -o "$tmp/r5.hyp" <(cut -f1 "$data/reverse-valid.tsv") || fail=1
exact rnn-additive-beam5 "$tmp/r5.hyp" 198

# classifier: labels of held-out sentences
"$attn" train --model classifier --train "$data/sentiment-train.tsv" --layers 1 --d-model 64 --heads 4 --ff 128 \
  --dropout 0 --batch-size 32 --steps 400 --lr 0.003 --vocab-size 300 --threads 2 -q -o "$tmp/c.ckpt" 2>"$tmp/err" \
  || { echo "FAIL: classifier training: $(tail -3 "$tmp/err")"; fail=1; }
cut -f2 "$data/sentiment-valid.tsv" | "$attn" decode -m "$tmp/c.ckpt" >"$tmp/c.hyp" || fail=1
n=$(paste <(cut -f1 "$data/sentiment-valid.tsv") "$tmp/c.hyp" | awk -F'\t' '$1==$2{c++} END{print c+0}')
echo "classifier: $n/200 correct"
[ "$n" -ge 180 ] || { echo "FAIL: classifier got $n/200 labels right (need 180)"; fail=1; }
cut -f2 "$data/sentiment-valid.tsv" | head -5 | "$attn" decode -m "$tmp/c.ckpt" --n-best 2 >"$tmp/c.nbest" || fail=1
[ "$(grep -c '^[0-4] ||| [a-z]* ||| -' "$tmp/c.nbest")" -eq 10 ] || { echo "FAIL: classifier n-best: $(head -3 "$tmp/c.nbest")"; fail=1; }

# lm: one output line per input line, order kept, including an empty prompt
head -300 "$data/kjv-genesis.txt" >"$tmp/lm.txt"
"$attn" train --model lm --train "$tmp/lm.txt" --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 32 \
  --steps 30 --vocab-size 400 --threads 2 -q -o "$tmp/lm.ckpt" 2>"$tmp/err" || { echo "FAIL: lm training"; fail=1; }
printf 'And God said\n\nIn the\n' | "$attn" decode -m "$tmp/lm.ckpt" --max-len 12 >"$tmp/lm.hyp" || fail=1
[ "$(wc -l <"$tmp/lm.hyp")" -eq 3 ] || { echo "FAIL: lm decode wrote $(wc -l <"$tmp/lm.hyp") lines for 3 prompts"; fail=1; }
for how in "--beam 3" "--sample --top-k 20 --top-p 0.9"; do
  # shellcheck disable=SC2086
  printf 'And God said\n\nIn the\n' | "$attn" decode -m "$tmp/lm.ckpt" --max-len 12 $how >"$tmp/lm.hyp" || fail=1
  [ "$(wc -l <"$tmp/lm.hyp")" -eq 3 ] || { echo "FAIL: lm decode $how wrote $(wc -l <"$tmp/lm.hyp") lines"; fail=1; }
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
exit $fail
