#!/usr/bin/env bash
# attn decode --alignment hard|soft [--alignment-layer N] through the real binary, on briefly trained
# models (how well they align is tests/e2e/test_alignment_convergence.sh): `hypothesis ||| alignment`
# lines whose hypotheses are the plain output's; hard = one `src-tgt` pair per target position (its
# tokens, then its <eos> when it ended), source positions within the source tokens and their <eos>;
# soft = one comma-separated row per target position, summing to 1; greedy, beam and n-best (a 4th
# field); transformer (a chosen layer) and rnn; and the usage errors. Everything runs with --threads 1.
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=$src/examples/data
common=(--train "$data/reverse-train.tsv" -v "$tmp/w.vocab" --dropout 0 --batch-size 64 --lr 0.003
        --schedule cosine --warmup 20 --max-len 32 --threads 1 -q)
dec() { "$attn" decode --threads 1 "$@"; }
"$attn" vocab -q --type word --size 30 --column all -o "$tmp/w.vocab" "$data/reverse-train.tsv" || fail=1
"$attn" train --arch transformer --layers 2 --d-model 32 --heads 4 --ff 64 --steps 60 "${common[@]}" \
  -o "$tmp/t.ckpt" 2>"$tmp/err" || { echo "FAIL: transformer training: $(tail -3 "$tmp/err")"; fail=1; }
"$attn" train --arch rnn --attention additive --embed 16 --hidden 32 --steps 30 "${common[@]}" \
  -o "$tmp/r.ckpt" 2>"$tmp/err" || { echo "FAIL: rnn training: $(tail -3 "$tmp/err")"; fail=1; }
cut -f1 "$data/reverse-valid.tsv" | head -30 >"$tmp/src"

# check NAME KIND FILE PLAIN [FIELD]: FILE's lines are PLAIN's with ' ||| alignment' (n-best: as the
# 3rd of 4 fields, the others PLAIN's); the alignment fits its hypothesis and the source line.
check() {
  local name=$1 kind=$2 file=$3 plain=$4 nbest=${5:-}
  awk -v name="$name" -v kind="$kind" -v nbest="$nbest" -v srcfile="$tmp/src" -v plainfile="$plain" '
    BEGIN { while ((getline l < srcfile) > 0) srcs[++ns] = l; while ((getline l < plainfile) > 0) plain[++np] = l }
    function fail(msg) { print "FAIL: " name " line " NR ": " msg ": " $0; bad = 1 }
    {
      n = split($0, f, / [|][|][|] /)
      if (nbest) {
        if (n != 4) { fail("expected 4 fields"); next }
        if (f[1] " ||| " f[2] " ||| " f[4] != plain[NR]) fail("not the plain n-best entry " plain[NR])
        s = srcs[f[1] + 1]; hyp = f[2]; a = f[3]
      } else {
        if (n != 2) { fail("expected 2 fields"); next }
        if (f[1] != plain[NR]) fail("hypothesis differs from the plain output " plain[NR])
        s = srcs[NR]; hyp = f[1]; a = f[2]
      }
      # every token of this vocabulary is one digit (a piece "d" or "▁d"), so digits count tokens
      S = gsub(/[0-9]/, "&", s) + 1          # source tokens and their <eos>
      T = gsub(/[0-9]/, "&", hyp)            # hypothesis tokens (+ 1 if it ended)
      delete seen; rows = 0
      if (kind == "hard") {
        m = split(a, pairs, " ")
        for (i = 1; i <= m; i++) {
          if (pairs[i] !~ /^[0-9]+-[0-9]+$/) { fail("bad pair " pairs[i]); continue }
          split(pairs[i], p, "-")
          if (p[1] + 0 >= S) fail("source position " p[1] " past " S)
          if (p[2] in seen) fail("target position " p[2] " twice")
          seen[p[2]] = 1; rows++
          if (i > 1 && (p[1] < prev1 || (p[1] == prev1 && p[2] < prev2))) fail("pairs not sorted")
          prev1 = p[1] + 0; prev2 = p[2] + 0
        }
        for (t = 0; t < rows; t++) if (!(t in seen)) fail("target position " t " missing")
      } else {
        rows = split(a, r, " ")
        for (i = 1; i <= rows; i++) {
          if (split(r[i], w, ",") != S) { fail("row " i " has not " S " weights"); continue }
          sum = 0; for (j = 1; j <= S; j++) sum += w[j]
          if (sum < 0.999 || sum > 1.001) fail("row " i " sums to " sum)
        }
      }
      if (rows != T && rows != T + 1) fail(rows " alignment rows for " T " tokens")
    }
    END { if (NR != np) { print "FAIL: " name " wrote " NR " lines, plain " np; bad = 1 }; exit bad }
  ' "$file" || fail=1
}

for m in t r; do
  dec -m "$tmp/$m.ckpt" <"$tmp/src" >"$tmp/$m.plain" || fail=1
  dec -m "$tmp/$m.ckpt" --beam 4 <"$tmp/src" >"$tmp/$m.plain4" || fail=1
  dec -m "$tmp/$m.ckpt" --beam 4 --n-best 3 <"$tmp/src" >"$tmp/$m.plain-nbest" || fail=1
  for kind in hard soft; do
    dec -m "$tmp/$m.ckpt" --alignment $kind <"$tmp/src" >"$tmp/$m.$kind" || fail=1
    check "$m greedy $kind" $kind "$tmp/$m.$kind" "$tmp/$m.plain"
    dec -m "$tmp/$m.ckpt" --alignment $kind --beam 4 <"$tmp/src" >"$tmp/$m.$kind.4" || fail=1
    check "$m beam 4 $kind" $kind "$tmp/$m.$kind.4" "$tmp/$m.plain4"
    dec -m "$tmp/$m.ckpt" --alignment $kind --beam 4 --n-best 3 <"$tmp/src" >"$tmp/$m.$kind.nbest" || fail=1
    check "$m n-best 3 $kind" $kind "$tmp/$m.$kind.nbest" "$tmp/$m.plain-nbest" nbest
  done
done

# --alignment-layer: the transformer's last layer is the default, layer 0 aligns differently;
# the rnn's one attention is layer 0
dec -m "$tmp/t.ckpt" --alignment soft --alignment-layer 1 <"$tmp/src" >"$tmp/t.soft1" || fail=1
cmp -s "$tmp/t.soft" "$tmp/t.soft1" || { echo "FAIL: --alignment-layer 1 (the last) differs from the default"; fail=1; }
dec -m "$tmp/t.ckpt" --alignment soft --alignment-layer 0 <"$tmp/src" >"$tmp/t.soft0" || fail=1
check "t greedy soft layer 0" soft "$tmp/t.soft0" "$tmp/t.plain"
cmp -s "$tmp/t.soft" "$tmp/t.soft0" && { echo "FAIL: --alignment-layer 0 gave the last layer's weights"; fail=1; }
dec -m "$tmp/r.ckpt" --alignment hard --alignment-layer 0 <"$tmp/src" >"$tmp/r.hard0" || fail=1
cmp -s "$tmp/r.hard" "$tmp/r.hard0" || { echo "FAIL: rnn --alignment-layer 0 differs from the default"; fail=1; }
"$attn" decode --help | grep -q -- "--alignment-layer" || { echo "FAIL: --help lacks --alignment-layer"; fail=1; }

# errors: one line naming the option, exit 2 (usage)
head -50 "$data/kjv-genesis.txt" >"$tmp/lm.txt"
"$attn" train --arch lm --train "$tmp/lm.txt" --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 16 \
  --steps 2 --vocab-size 300 --threads 1 -q -o "$tmp/lm.ckpt" 2>"$tmp/err" || { echo "FAIL: lm training"; fail=1; }
"$attn" train --arch classifier --train "$data/sentiment-train.tsv" --layers 1 --d-model 16 --heads 2 --ff 32 \
  --steps 2 --vocab-size 300 --threads 1 -q -o "$tmp/c.ckpt" 2>"$tmp/err" || { echo "FAIL: classifier training"; fail=1; }
expect() {  # expect CODE OPTION ARGS...: one line naming OPTION, exit CODE
  local code=$1 option=$2; shift 2
  echo "1 2 3" | "$attn" "$@" >/dev/null 2>"$tmp/err"; local got=$?
  if [ "$got" != "$code" ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^attn decode: .*$option" "$tmp/err"; then
    echo "FAIL: attn $* -> exit $got (want $code, naming $option): $(cat "$tmp/err")"; fail=1
  fi
}
expect 2 --alignment decode -m "$tmp/t.ckpt" --alignment bogus
expect 2 --alignment decode -m "$tmp/t.ckpt" --alignment
expect 2 --alignment-layer decode -m "$tmp/t.ckpt" --alignment-layer 0
expect 2 --alignment-layer decode -m "$tmp/t.ckpt" --alignment hard --alignment-layer 2
expect 2 --alignment-layer decode -m "$tmp/t.ckpt" --alignment hard --alignment-layer=-1
expect 2 --alignment-layer decode -m "$tmp/r.ckpt" --alignment hard --alignment-layer 1
expect 2 "--alignment: an lm model has no cross-attention" decode -m "$tmp/lm.ckpt" --alignment hard
expect 2 "--alignment: a classifier model has no cross-attention" decode -m "$tmp/c.ckpt" --alignment soft
exit $fail
