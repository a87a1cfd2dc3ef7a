#!/usr/bin/env bash
# Convergence (CTest label `convergence`): trained through the real binary (single-threaded, the
# configurations of test_decode_convergence.sh), the reverse-digits transformer and the RNN with
# additive attention align each output digit with the mirrored source digit: `attn decode
# --alignment hard` on the 200 held-out sources pairs target position i of an n-digit source with
# source position n-1-i. Counted over the hypotheses' digits (their <eos> not counted), for greedy
# and beam 5. The transformer aligns by default from its last layer's cross-attention averaged over
# heads. This run (seed 1): transformer greedy 95.0%, beam 5 95.1%; rnn 97.5% and 97.5%. Training
# seeds 2 and 3 (standing in for another machine's rounding): transformer 97.2% and 97.0%, rnn 93.6%
# and 94.0% (greedy and beam 5 alike). Models trained for one step: 2.7% and 3.1%.
# Bound: 90% (the issue's).
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=$src/examples/data
cut -f1 "$data/reverse-valid.tsv" >"$tmp/src"
common=(--train "$data/reverse-train.tsv" -v "$tmp/w.vocab" --dropout 0 --batch-size 64 --lr 0.003
        --schedule cosine --warmup 50 --max-len 32 --threads 1 -q)

# mirrored NAME FILE: the share of target digits whose hard alignment is the mirrored source digit
# (every token of this vocabulary is one digit, so digits count tokens)
mirrored() {
  paste "$tmp/src" "$2" | awk -F'\t' -v name="$1" '
    {
      n = gsub(/[0-9]/, "&", $1)
      split($2, f, / [|][|][|] /); T = gsub(/[0-9]/, "&", f[1])
      m = split(f[2], pairs, " ")
      for (i = 1; i <= m; i++) {
        split(pairs[i], p, "-")
        if (p[2] + 0 >= T) continue  # the <eos> row
        total++; if (p[1] + 0 == n - 1 - p[2]) exact++
      }
    }
    END {
      printf "%s: %d/%d (%.1f%%) target tokens aligned to the mirrored source token (need 90%%)\n",
        name, exact, total, total ? 100 * exact / total : 0
      if (total < 1500) { print "FAIL: " name ": only " total " target tokens"; exit 1 }
      if (exact < 0.9 * total) { print "FAIL: " name ": hard alignment is the mirror for " exact "/" total; exit 1 }
    }' || fail=1
}

"$attn" vocab -q --type word --size 30 --column all -o "$tmp/w.vocab" "$data/reverse-train.tsv" || fail=1
"$attn" train --arch transformer --layers 2 --d-model 64 --heads 4 --ff 256 --steps 1000 "${common[@]}" \
  -o "$tmp/t.ckpt" 2>"$tmp/err" || { echo "FAIL: transformer training: $(tail -3 "$tmp/err")"; fail=1; }
"$attn" train --arch rnn --attention additive --embed 32 --hidden 128 --steps 600 "${common[@]}" \
  -o "$tmp/r.ckpt" 2>"$tmp/err" || { echo "FAIL: rnn training: $(tail -3 "$tmp/err")"; fail=1; }
for m in t r; do
  name=$([ $m = t ] && echo transformer || echo rnn-additive)
  "$attn" decode --threads 1 -m "$tmp/$m.ckpt" --alignment hard <"$tmp/src" >"$tmp/$m.al" || fail=1
  mirrored "$name greedy" "$tmp/$m.al"
  "$attn" decode --threads 1 -m "$tmp/$m.ckpt" --alignment hard --beam 5 <"$tmp/src" >"$tmp/$m.al5" || fail=1
  mirrored "$name beam 5" "$tmp/$m.al5"
done
exit $fail
