#!/usr/bin/env bash
# Convergence (CTest label `convergence`): an RNN with additive attention trained (single-threaded)
# to reverse digit sequences attends to the mirrored source position, the known alignment.
# Teacher-forced on the held-out pairs, output step q of an n-digit sequence emits source digit
# n-1-q, so its largest weight should sit there (source position n is <eos>). An untrained model
# gets ~1% of these; this run 86.3% exact and 100% within one, seeds 2-4 (standing in for another
# machine's rounding) 86.6, 87.5, 85.8% and 100%. Bounds: 80% exact, 98% within one position.
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
data=$src/examples/data

"$attn" vocab -q --type word --size 30 --column all -o w.vocab "$data/reverse-train.tsv" || fail=1
"$attn" train --arch rnn --attention additive --embed 32 --hidden 128 --steps 400 --train "$data/reverse-train.tsv" \
  -v w.vocab --dropout 0 --batch-size 64 --lr 0.003 --schedule cosine --warmup 50 --max-len 32 --threads 1 -q \
  -o r.ckpt 2>err.txt || { echo "FAIL: rnn training: $(tail -3 err.txt)"; fail=1; }
"$attn" attention -m r.ckpt --threads 1 "$data/reverse-valid.tsv" >r.csv || { echo "FAIL: attention"; fail=1; }
awk -F, 'NR > 1 {
    key = $1 "," $6
    if (!(key in best) || $10 > top[key]) { best[key] = $8; top[key] = $10 }
    if ($8 + 0 > eos[$1]) eos[$1] = $8 + 0
  }
  END {
    for (k in best) {
      split(k, a, ","); n = eos[a[1]]; q = a[2]
      if (q >= n) continue
      total++; off = best[k] - (n - 1 - q)
      if (off == 0) exact++
      if (off >= -1 && off <= 1) near++
    }
    printf "rnn additive attention: %d/%d (%.1f%%) output steps attend most to the mirrored digit, %d (%.2f%%) within one (need 80%%, 98%%)\n",
      exact, total, 100 * exact / total, near, 100 * near / total
    if (total < 1500) { print "FAIL: only " total " output steps"; bad = 1 }
    if (exact < 0.8 * total) { print "FAIL: alignment: " exact "/" total " on the mirrored position (need 80%)"; bad = 1 }
    if (near < 0.98 * total) { print "FAIL: alignment: " near "/" total " within one position (need 98%)"; bad = 1 }
    exit bad
  }' r.csv || fail=1
exit $fail
