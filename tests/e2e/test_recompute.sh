#!/usr/bin/env bash
# attn train --recompute (activation checkpointing, core/recompute.h), end to end: for the lm,
# the transformer and the classifier, the same step losses and gradient norms as without it, to
# 1e-5 relative (dropout on: the recomputed blocks draw the same masks; other masks would move
# them by 1e-2 and more; a gradient reaching one input from several blocks, as the encoder's
# output in the decoder, is summed in another order, which may move the last bits), a smaller tape in `--plan --json`
# (the activations the calibration measured), finetune accepting it, and the rnn refusing it
# with a one-line usage error before any data is read.
set -u
attn=$1
data=$2/examples/data
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

head -300 "$data/kjv-genesis.txt" >gen.txt
head -400 "$data/en-fr.tsv" >pairs.tsv
head -300 "$data/sentiment-train.tsv" >sent.tsv
"$attn" vocab --type bpe --size 300 gen.txt -o gen.vocab 2>/dev/null || { echo "FAIL: vocab"; exit 1; }
"$attn" vocab --type bpe --size 400 --column all pairs.tsv -o pairs.vocab 2>/dev/null || { echo "FAIL: vocab"; exit 1; }
"$attn" vocab --type word --size 300 --column 2 sent.tsv -o sent.vocab 2>/dev/null || { echo "FAIL: vocab"; exit 1; }
common=(--layers 2 --d-model 32 --heads 2 --ff 64 --dropout 0.2 --steps 6 --threads 1 -q)

# close NAME A.csv B.csv: the same steps, losses and gradient norms to 1e-5 relative
close() {
  paste -d, <(awk -F, '$NF == "train" { print $1 "," $3 "," $7 }' "$2") \
            <(awk -F, '$NF == "train" { print $1 "," $3 "," $7 }' "$3") |
    awk -F, -v name="$1" 'function off(a, b) { d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a; return d > 1e-5 * m }
      NF != 6 || $1 != $4 || off($2, $5) || off($3, $6) { print "FAIL: " name ": --recompute changed step " $1 ": " $0; bad = 1 }
      END { exit bad }' || fail=1
}
# same NAME ARGS...: trains with and without --recompute, compares the logs, then the plans.
same() {
  local name=$1; shift
  "$attn" train "$@" "${common[@]}" -o "$name.ckpt" --log "$name.csv" --log-every 1 ||
    { echo "FAIL: $name: train"; fail=1; return; }
  "$attn" train "$@" "${common[@]}" --recompute -o "$name-rc.ckpt" --log "$name-rc.csv" --log-every 1 ||
    { echo "FAIL: $name: train --recompute"; fail=1; return; }
  close "$name" "$name.csv" "$name-rc.csv"
  [ "$(awk -F, '$NF == "train"' "$name-rc.csv" | wc -l)" -eq 6 ] || { echo "FAIL: $name: not 6 logged steps"; fail=1; }
  "$attn" train "$@" "${common[@]}" -o p.ckpt --plan --json >plain.json || { echo "FAIL: $name: --plan"; fail=1; return; }
  "$attn" train "$@" "${common[@]}" -o p.ckpt --plan --json --recompute >rc.json ||
    { echo "FAIL: $name: --plan --recompute"; fail=1; return; }
  python3 - "$name" plain.json rc.json <<'PY' || fail=1
import json, sys
name, a, b = sys.argv[1], json.load(open(sys.argv[2]))["memory"], json.load(open(sys.argv[3]))["memory"]
if not b["activations"] < a["activations"]:
    print(f"FAIL: {name}: --recompute's tape {b['activations']} is not below {a['activations']}"); sys.exit(1)
if not b["formula_activations"] < a["formula_activations"]:
    print(f"FAIL: {name}: the formula does not count --recompute"); sys.exit(1)
print(f"{name}: activations {a['activations'] / 1e6:.2f} -> {b['activations'] / 1e6:.2f} MB with --recompute")
PY
}
same lm --arch lm --train gen.txt -v gen.vocab --max-len 48 --batch-size 8
same transformer --arch transformer --train pairs.tsv -v pairs.vocab --max-len 48 --batch-tokens 400
same classifier --arch classifier --train sent.tsv -v sent.vocab --max-len 48 --batch-size 16

# finetune takes it too, and gives the losses of a fine-tuning without it.
"$attn" finetune -m lm.ckpt --train gen.txt --steps 3 --threads 1 -q -o f.ckpt --log f.csv --log-every 1 ||
  { echo "FAIL: finetune"; fail=1; }
"$attn" finetune -m lm.ckpt --train gen.txt --steps 3 --threads 1 -q -o f-rc.ckpt --log f-rc.csv --log-every 1 \
  --recompute || { echo "FAIL: finetune --recompute"; fail=1; }
close finetune f.csv f-rc.csv

# The rnn has no blocks: exit 2, one line, before reading --train (which does not exist here).
"$attn" train --arch rnn --train missing.tsv -v pairs.vocab --recompute --steps 2 -o r.ckpt 2>err.txt
code=$?
[ "$code" -eq 2 ] || { echo "FAIL: rnn --recompute: exit $code, expected 2"; fail=1; }
[ "$(wc -l <err.txt)" -eq 1 ] && grep -q -- "--recompute" err.txt ||
  { echo "FAIL: rnn --recompute: expected one line naming --recompute, got: $(cat err.txt)"; fail=1; }
[ ! -e r.ckpt ] || { echo "FAIL: rnn --recompute wrote a checkpoint"; fail=1; }
exit $fail
