#!/usr/bin/env bash
# attn attention through the real binary, on briefly trained models: weights are distributions;
# the greedy and the teacher-forced input forms agree; Transformer, lm and classifier maps have the
# right modules and causal zeros; bad input gives one-line errors. (That a trained RNN attends to
# the mirrored source position is tests/e2e/test_attention_convergence.sh.) --threads 1 throughout.
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
data=$src/examples/data
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fail=1; fi
}
one_line() {  # one_line NAME FILE
  [ "$(wc -l <"$2")" -eq 1 ] || { echo "FAIL: $1: expected a one-line error, got: $(cat "$2")"; fail=1; }
}
header='sentence,module,kind,layer,head,query_pos,query_token,key_pos,key_token,weight'

"$attn" vocab -q --type word --size 30 --column all -o w.vocab "$data/reverse-train.tsv" || fail=1
"$attn" train --arch rnn --attention additive --embed 32 --hidden 128 --steps 60 --train "$data/reverse-train.tsv" \
  -v w.vocab --dropout 0 --batch-size 64 --lr 0.003 --schedule cosine --warmup 20 --max-len 32 --threads 1 -q \
  -o r.ckpt 2>err.txt || { echo "FAIL: rnn training: $(tail -3 err.txt)"; fail=1; }

# Teacher-forced on the held-out pairs: each output step's weights over the source sum to 1.
"$attn" attention -m r.ckpt --threads 1 "$data/reverse-valid.tsv" >r.csv; check "attention rnn" 0 $?
[ "$(head -1 r.csv)" = "$header" ] || { echo "FAIL: header: $(head -1 r.csv)"; fail=1; }
awk -F, 'NR > 1 { sum[$1 "," $6] += $10 }
  END {
    for (k in sum) {
      n++
      if (sum[k] < 0.9999 || sum[k] > 1.0001) { print "FAIL: weights of " k " sum to " sum[k]; bad = 1 }
    }
    if (n < 1500) { print "FAIL: only " n " output steps"; bad = 1 }
    exit bad
  }' r.csv || fail=1

# A source alone is dumped while producing the greedy translation: the same rows as that
# translation given as the target. (attention translates one line at a time; decode does the same
# with --batch-size 1, so both compute the very same greedy steps.)
head -20 "$data/reverse-valid.tsv" | cut -f1 >src.txt
"$attn" decode -m r.ckpt --batch-size 1 --threads 1 <src.txt >hyp.txt || fail=1
paste src.txt hyp.txt | "$attn" attention -m r.ckpt --threads 1 >forced.csv || fail=1
"$attn" attention -m r.ckpt --threads 1 <src.txt >greedy.csv || fail=1
# Compared per sentence, except where the translation holds <pad> or <bos>, which decode leaves out
# of its text (none do here, but a briefly trained model may emit them).
awk -F, 'FNR == 1 { next }
  NR == FNR { greedy[$1] = greedy[$1] $0 "\n"; if ($7 == "<pad>" || $7 == "<bos>") skip[$1] = 1; next }
  { forced[$1] = forced[$1] $0 "\n" }
  END {
    for (s in greedy) if (!(s in skip)) { n++; if (greedy[s] != forced[s]) { print "FAIL: sentence " s ": greedy-target dump differs from the same target teacher-forced"; bad = 1 } }
    if (n == 0) { print "FAIL: no greedy translation compared"; bad = 1 }
    exit bad
  }' greedy.csv forced.csv || fail=1

# Transformer: every module with --kind all, causal decoder self-attention, --head mean / --layer.
"$attn" train --arch transformer --layers 2 --d-model 32 --heads 2 --ff 64 --steps 20 --train "$data/reverse-train.tsv" \
  -v w.vocab --batch-size 32 --max-len 32 --threads 1 -q -o t.ckpt || fail=1
printf '1 2 3\t3 2 1\n' | "$attn" attention -m t.ckpt --threads 1 --kind all >t.csv; check "attention transformer" 0 $?
modules=$(tail -n +2 t.csv | cut -d, -f2 | sort -u | tr '\n' ' ')
[ "$modules" = "decoder.layers.0.cross_attn decoder.layers.0.self_attn decoder.layers.1.cross_attn decoder.layers.1.self_attn encoder.layers.0.attn encoder.layers.1.attn " ] \
  || { echo "FAIL: transformer modules: $modules"; fail=1; }
# 3 digits + <eos> = 4 source positions, <bos> 3 2 1 = 4 target positions, 2 heads, 2 layers:
# per layer 4x4 (encoder) + 4x4 (decoder self) + 4x4 (cross), per head.
[ "$(tail -n +2 t.csv | wc -l)" -eq $((2 * 2 * 3 * 16)) ] || { echo "FAIL: transformer rows: $(tail -n +2 t.csv | wc -l)"; fail=1; }
awk -F, '$2 ~ /self_attn/ && $8 > $6 && $10 != 0 { print "FAIL: decoder self-attention looks ahead: " $0; exit 1 }' t.csv || fail=1
printf '1 2 3\t3 2 1\n' | "$attn" attention -m t.ckpt --layer 1 --head mean >m.csv || fail=1
[ "$(tail -n +2 m.csv | cut -d, -f2,5 | sort -u)" = "decoder.layers.1.cross_attn,mean" ] \
  || { echo "FAIL: --layer 1 --head mean: $(tail -n +2 m.csv | cut -d, -f2,5 | sort -u | tr '\n' ' ')"; fail=1; }
# the mean of the two heads' weights
printf '1 2 3\t3 2 1\n' | "$attn" attention -m t.ckpt --layer 1 >h.csv || fail=1
awk -F, 'FNR == 1 { next } NR == FNR { w[$6 "," $8] += $10 / 2; next }
  { d = w[$6 "," $8] - $10; if (d > 1e-5 || d < -1e-5) { print "FAIL: head mean " $0 " vs " w[$6 "," $8]; exit 1 } }' \
  h.csv m.csv || fail=1

# A source whose maps alone cannot fit is refused before it is translated (a long translation
# once came first): 60,001 source positions need ~170 GB of maps; under an 8 GB address-space
# limit, one line, exit 1, naming the source's positions and the target's lower bound.
awk 'BEGIN { for (i = 0; i < 60000; ++i) printf "%d ", i % 10; print "" }' >long.txt
(ulimit -v 8000000; "$attn" attention -m t.ckpt --threads 1 --max-len 100000 long.txt >long.csv 2>err.txt)
check "attention of a source too long for memory" 1 $?
[ "$(wc -l <err.txt)" -eq 1 ] && grep -q "dumping its attention (600[0-9]* source and at least 1 target positions) needs about" err.txt \
  || { echo "FAIL: a source too long for memory: $(cat err.txt)"; fail=1; }

# lm: self-attention over <eos> + the line, causal; a classifier: <bos> + the text.
head -200 "$data/kjv-genesis.txt" >lm.txt
"$attn" train --arch lm --train lm.txt --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 32 --steps 10 \
  --vocab-size 300 --threads 1 -q -o lm.ckpt || fail=1
echo "In the beginning" | "$attn" attention -m lm.ckpt >lm.csv; check "attention lm" 0 $?
awk -F, 'NR > 1 && $8 > $6 && $10 != 0 { print "FAIL: lm attention looks ahead: " $0; exit 1 }' lm.csv || fail=1
[ "$(sed -n 2p lm.csv | cut -d, -f7)" = "<eos>" ] || { echo "FAIL: lm first query: $(sed -n 2p lm.csv)"; fail=1; }
echo "In the beginning" | "$attn" attention -m lm.ckpt --kind cross 2>err.txt >/dev/null; check "lm --kind cross" 2 $?
one_line "lm --kind cross" err.txt
"$attn" train --arch classifier --train "$data/sentiment-train.tsv" --layers 1 --d-model 32 --heads 2 --ff 64 \
  --steps 10 --vocab-size 300 --threads 1 -q -o c.ckpt || fail=1
head -3 "$data/sentiment-valid.tsv" | cut -f2 | "$attn" attention -m c.ckpt >c.csv; check "attention classifier" 0 $?
[ "$(tail -n +2 c.csv | cut -d, -f1 | sort -u | tr '\n' ' ')" = "0 1 2 " ] || { echo "FAIL: classifier sentences (0-based)"; fail=1; }

# Bad input: one line on stderr, exit 2 (usage) or 1 (runtime).
"$attn" attention -m missing.ckpt </dev/null 2>err.txt >/dev/null; check "missing checkpoint" 1 $?
one_line "missing checkpoint" err.txt
printf '1 2\xff 3\n' | "$attn" attention -m r.ckpt 2>err.txt >/dev/null; check "invalid UTF-8" 1 $?
one_line "invalid UTF-8" err.txt
grep -q "line 1" err.txt || { echo "FAIL: invalid UTF-8 message names no line: $(cat err.txt)"; fail=1; }
printf '1 2\t2 1\textra\n' | "$attn" attention -m r.ckpt 2>err.txt >/dev/null; check "three fields" 1 $?
one_line "three fields" err.txt
echo "1 2" | "$attn" attention -m t.ckpt --layer 2 2>err.txt >/dev/null; check "--layer out of range" 2 $?
one_line "--layer out of range" err.txt
echo "1 2" | "$attn" attention -m t.ckpt --head x 2>err.txt >/dev/null; check "--head x" 2 $?
one_line "--head x" err.txt
echo "1 2" | "$attn" attention -m r.ckpt --kind self 2>err.txt >/dev/null; check "rnn --kind self" 2 $?
one_line "rnn --kind self" err.txt
exit $fail
