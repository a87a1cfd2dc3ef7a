#!/usr/bin/env bash
# Memory is bounded before it is allocated, and bad checkpoints are refused: a model
# configuration (from options or from a checkpoint with a valid checksum) too big for the machine
# is a one-line error with the estimate, within seconds and under `ulimit -v`; so is a beam too
# wide; a checkpoint holding NaN is refused by decode, train --resume and finetune, naming the
# parameter; attn attention streams, so its peak memory does not grow with the input.
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
data=$src/examples/data
one_line() {  # one_line NAME FILE
  [ "$(wc -l <"$2")" -eq 1 ] || { echo "FAIL: $1: expected a one-line error, got: $(cat "$2")"; fail=1; }
}
refused() {  # refused NAME CODE ERRFILE PATTERN: exit 1 or 2, one line matching PATTERN
  if [ "$2" != 1 ] && [ "$2" != 2 ]; then echo "FAIL: $1: exit $2, expected 1 or 2: $(head -3 "$3")"; fail=1; fi
  one_line "$1" "$3"
  grep -q -- "$4" "$3" || { echo "FAIL: $1: message lacks '$4': $(cat "$3")"; fail=1; }
}
millis() { date +%s%3N; }

"$attn" vocab -q --type word --size 30 --column all -o w.vocab "$data/reverse-train.tsv" || fail=1
common=(--train "$data/reverse-train.tsv" -v w.vocab --batch-size 32 --max-len 32 --threads 2 -q)
"$attn" train --arch transformer --layers 2 --d-model 32 --heads 2 --ff 64 --steps 20 "${common[@]}" -o t.ckpt \
  2>err.txt || { echo "FAIL: training: $(tail -3 err.txt)"; fail=1; }

# ---- configurations too big: refused from the estimate, without allocating ----------------------
# (No timing is asserted: a hang is `timeout 60`'s exit 124, which refused() rejects; an
# allocation fails under ulimit -v. The time taken is printed for the record.)
for arch in "--layers 100000000" "--d-model 1000000 --heads 4"; do
  start=$(millis)
  # shellcheck disable=SC2086
  (ulimit -v 6000000; timeout 60 "$attn" train --arch transformer $arch "${common[@]}" -o big.ckpt) 2>err.txt
  code=$?; took=$(($(millis) - start))
  refused "train $arch" $code err.txt "needs about .*(parameters .*optimizer state .*activations .*) but .* available"
  [ -e big.ckpt ] && { echo "FAIL: train $arch wrote a checkpoint"; fail=1; }
  echo "train $arch refused in ${took} ms: $(cat err.txt)"
done

# ---- checkpoints with a valid checksum: a forged config, NaN parameters ------------------------
# The payload's text fields are a u64 length then the bytes (docs/checkpoints.md); the header
# holds the payload length and its FNV-1a-64, both recomputed here, so only the content is bad.
cat >forge.py <<'EOF'
import struct, sys
src, dst, what = sys.argv[1:4]
b = bytearray(open(src, "rb").read())
payload = b[32:]
def text(s):
    s = s.encode()
    return struct.pack("<Q", len(s)) + s
if what == "layers":
    old = text("layers") + text("2")  # the model config comes first (the train config has it too)
    payload = payload.replace(old, text("layers") + text("100000000"), 1)
else:  # NaN in the first value of the named parameter: name, rows u64, cols u64, floats
    at = payload.index(text(what)) + len(text(what)) + 16
    payload[at:at + 4] = struct.pack("<I", 0x7FC00000)
h = 14695981039346656037
for c in payload:
    h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
open(dst, "wb").write(bytes(b[:16]) + struct.pack("<QQ", len(payload), h) + bytes(payload))
EOF
python3 forge.py t.ckpt huge.ckpt layers || fail=1
python3 forge.py t.ckpt nan.ckpt decoder.layers.1.ff.in.weight || fail=1
"$attn" inspect huge.ckpt >/dev/null 2>err.txt
grep -q "checksum\|corrupt" err.txt && { echo "FAIL: the forged checkpoint's checksum is not valid: $(cat err.txt)"; fail=1; }

start=$(millis)
(ulimit -v 6000000; echo "1 2 3" | timeout 60 "$attn" decode -m huge.ckpt) >out.txt 2>err.txt
code=$?; took=$(($(millis) - start))
refused "decode with layers = 100000000" $code err.txt "huge.ckpt': its model needs about"
echo "huge.ckpt refused in ${took} ms: $(cat err.txt)"
(ulimit -v 6000000; echo "1 2 3" | timeout 60 "$attn" attention -m huge.ckpt) >out.txt 2>err.txt
refused "attention with layers = 100000000" $? err.txt "its model needs about"

echo "1 2 3" | "$attn" decode -m nan.ckpt >out.txt 2>err.txt
refused "decode nan.ckpt" $? err.txt "parameter 'decoder.layers.1.ff.in.weight' holds NaN"
[ -s out.txt ] && { echo "FAIL: decode nan.ckpt printed: $(head -2 out.txt)"; fail=1; }
cp nan.ckpt resume.ckpt
"$attn" train --arch transformer --layers 2 --d-model 32 --heads 2 --ff 64 --steps 30 "${common[@]}" \
  --resume resume.ckpt -o resume.ckpt 2>err.txt
refused "train --resume nan.ckpt" $? err.txt "'decoder.layers.1.ff.in.weight' holds NaN"
cmp -s nan.ckpt resume.ckpt || { echo "FAIL: train --resume changed the NaN checkpoint"; fail=1; }
"$attn" finetune -m nan.ckpt --train "$data/reverse-train.tsv" --steps 5 --batch-size 32 -q -o ft.ckpt 2>err.txt
refused "finetune -m nan.ckpt" $? err.txt "'decoder.layers.1.ff.in.weight' holds NaN"

# ---- a beam too wide -----------------------------------------------------------------------------
start=$(millis)
head -5 "$data/reverse-valid.tsv" | cut -f1 | timeout 60 "$attn" decode -m t.ckpt --beam 100000 >out.txt 2>err.txt
code=$?; took=$(($(millis) - start))
refused "decode --beam 100000" $code err.txt "needs about .* hypotheses"
echo "--beam 100000 refused in ${took} ms: $(cat err.txt)"

# ---- attn attention streams: peak memory independent of the input's length ----------------------
python3 - <<'EOF'
import random
random.seed(2)
with open("many.tsv", "w") as f:
    for i in range(3000):
        n = random.randint(5, 30)
        digits = lambda: " ".join(random.choice("0123456789") for _ in range(n))
        f.write(digits() + "\t" + digits() + "\n")
with open("long.tsv", "w") as f:
    digits = lambda: " ".join(random.choice("0123456789") for _ in range(3000))
    f.write(digits() + "\t" + digits() + "\n")
EOF
head -30 many.tsv >few.tsv
peak_kb() {  # peak_kb FILE ARGS...: runs attention on FILE, prints the peak RSS in kB
  local file=$1; shift
  /usr/bin/time -v "$attn" attention -m t.ckpt "$@" "$file" 2>time.txt >rows.csv || { echo "FAIL: attention $file: $(tail -3 time.txt)" >&2; echo 0; return; }
  awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' time.txt
}
few=$(peak_kb few.tsv --kind all)
many=$(peak_kb many.tsv --kind all)
rows=$(($(wc -l <rows.csv) - 1))
echo "attention --kind all: peak RSS ${few} kB for 30 sentences, ${many} kB for 3000 ($rows rows)"
[ "$rows" -gt 3000000 ] || { echo "FAIL: only $rows rows for 3000 sentences"; fail=1; }
[ "$many" -lt 200000 ] || { echo "FAIL: attention on 3000 sentences peaked at ${many} kB"; fail=1; }
[ "$many" -lt $((few + 50000)) ] || { echo "FAIL: attention memory grows with the input: $few kB -> $many kB"; fail=1; }
# One pair of 3000-token sentences: its maps (held 3 times, 2 layers × 2 heads × 3 attentions ×
# 3001² floats: 1.3 GB) would not fit under a 1 GB limit: refused with the estimate before the
# forward pass.
(ulimit -v 1000000; "$attn" attention -m t.ckpt --kind all --max-len 3001 long.tsv) >rows.csv 2>err.txt
refused "attention on a 3000-token sentence under ulimit -v 1000000" $? err.txt \
  "line 1: dumping its attention (3001 source and 3001 target positions) needs about .* but .* available; cut it with --max-len"
echo "long sentence: $(cat err.txt)"

[ $fail = 0 ] && echo "resources: all checks passed"
exit $fail
