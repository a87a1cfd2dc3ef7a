#!/usr/bin/env bash
# Every bad option is a usage error up front (exit 2, one stderr line naming the option as the
# user wrote it, no output file), before any data is read; a bad value that came from a
# checkpoint blames the checkpoint (exit 1); options that do not apply warn; broken vocabulary
# and checkpoint headers and control bytes in messages still give exactly one line.
set -u
attn=$1
fail=0
cases=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
say_fail() { echo "FAIL: $*"; fail=1; }

# expect NAME CODE NEEDLE OUTFILE CMD...: exit CODE, stderr exactly one line containing NEEDLE
# (fixed string), OUTFILE (if not "-") not created, stdin never read.
expect() {
  local name=$1 code=$2 needle=$3 outfile=$4; shift 4
  cases=$((cases + 1))
  rm -f "$outfile" 2>/dev/null
  "$@" >out.txt 2>err.txt </dev/null
  local got=$?
  [ "$got" = "$code" ] || say_fail "$name: exit $got, expected $code (stderr: $(head -c 300 err.txt))"
  [ "$(wc -l <err.txt)" = 1 ] || say_fail "$name: stderr has $(wc -l <err.txt) lines: $(head -c 400 err.txt)"
  grep -qF -- "$needle" err.txt || say_fail "$name: stderr '$(head -1 err.txt)' does not mention '$needle'"
  [ "$outfile" = - ] || [ ! -e "$outfile" ] || say_fail "$name: $outfile was created"
}

# Data, a vocabulary and two small checkpoints.
for i in $(seq 1 30); do echo "the cat sat on the mat $i"; done >train.txt
for i in $(seq 1 30); do printf '%s\t%s\n' "a b c $i" "c b a $i"; done >pairs.tsv
"$attn" vocab --type char --size 60 -o v.txt train.txt pairs.tsv 2>/dev/null || say_fail "vocab"
small=(--layers 1 --d-model 16 --heads 2 --ff 16 --max-len 16 --steps 2 -q)
"$attn" train --arch lm --train train.txt -v v.txt "${small[@]}" -o lm.ckpt 2>err.txt || say_fail "lm: $(cat err.txt)"
"$attn" train --arch transformer --train pairs.tsv -v v.txt "${small[@]}" -o tr.ckpt 2>err.txt \
  || say_fail "transformer: $(cat err.txt)"

# 1. train: every numeric option, exit 2, named as written, nothing written.
lm=(train --arch lm --train train.txt -v v.txt -q -o x.ckpt)
while read -r opt args; do
  # shellcheck disable=SC2086
  expect "train $opt $args" 2 "$opt" x.ckpt "$attn" "${lm[@]}" $opt $args
done <<'EOF'
--lr 0
--lr -1
--lr nan
--lr inf
--lr fast
--dropout 1
--dropout -0.1
--dropout nan
--clip -1
--clip inf
--momentum 1 --optimizer sgd
--momentum -0.5 --optimizer sgd
--ff 0
--layers 0
--d-model 0
--heads 0
--heads 3 --d-model 16
--max-len 1
--max-len -5
--warmup -1
--warmup 0 --schedule noam
--min-lr -1
--min-lr 1 --schedule cosine --lr 0.1
--label-smoothing 1
--label-smoothing -0.1
--weight-decay -1
--weight-decay nan
--batch-tokens 0
--batch-size -1
--epochs -1
--steps -1
--valid-every -1
--early-stopping -1
--save-every -1
--log-every 0
--seed -1
--optimizer adagrad
--vocab-size abc
--steps +5
--warmup +5
--log-every +7
--early-stopping +1 --valid train.txt
--save-every +1
--valid-every +1 --valid train.txt
--epochs +1
--accum-steps +2
--vocab-size +300
--seed +1
--lr 0x10
--lr +0.1
--lr 1e39
--lr infinity
--clip 0x1p-2
--weight-decay 0x.8
--dropout 0x0
--label-smoothing 0x0
--momentum 0x0 --optimizer sgd
--min-lr 0x0 --schedule cosine
--max-len 0x10
EOF
# One spelling for numbers (no spaces, '+' or hex; finite): a value with spaces around it is
# named as written, which the table above cannot hold.
for opt in --steps --warmup --log-every --early-stopping --save-every --valid-every --epochs --accum-steps \
  --vocab-size --layers --seed --batch-size --max-len; do
  expect "train $opt ' 5'" 2 "$opt takes " x.ckpt "$attn" "${lm[@]}" --valid train.txt "$opt" ' 5'
  grep -qF "not ' 5'" err.txt || say_fail "train $opt ' 5': the value is not quoted as written: $(cat err.txt)"
done
for opt in --lr --clip --weight-decay --dropout --label-smoothing --momentum --min-lr; do
  expect "train $opt ' 0.1'" 2 "$opt takes a number, not ' 0.1'" x.ckpt "$attn" "${lm[@]}" "$opt" ' 0.1'
  expect "train $opt '0.1 '" 2 "$opt takes a number, not '0.1 '" x.ckpt "$attn" "${lm[@]}" "$opt" '0.1 '
done
# Cross-option rules name both options.
expect "heads vs d-model" 2 "--d-model 16" x.ckpt "$attn" "${lm[@]}" --heads 3 --d-model 16
expect "additive heads" 2 "--attention additive" x.ckpt "$attn" "${lm[@]}" --heads 2 --attention additive
expect "rope head width" 2 "--pos-encoding rope" x.ckpt "$attn" "${lm[@]}" --d-model 6 --heads 2 --pos-encoding rope
expect "default named" 2 "(the default)" x.ckpt "$attn" "${lm[@]}" --d-model 30
rnn=(train --arch rnn --train pairs.tsv -v v.txt -q -o x.ckpt)
expect "rnn --hidden 0" 2 "--hidden" x.ckpt "$attn" "${rnn[@]}" --hidden 0
expect "rnn --embed 0" 2 "--embed" x.ckpt "$attn" "${rnn[@]}" --embed 0
expect "rnn odd bidirectional" 2 "--hidden 7" x.ckpt "$attn" "${rnn[@]}" --hidden 7 --bidirectional
expect "vocab-size too small" 2 "--vocab-size" x.ckpt "$attn" train --arch lm --train train.txt --vocab-size 10 -o x.ckpt
# From a config file: the option and the file are named.
printf 'lr = 0\n' >bad.cfg
expect "config lr" 2 "--lr 0" x.ckpt "$attn" "${lm[@]}" --config bad.cfg
grep -qF "bad.cfg" err.txt || say_fail "config lr: the config file is not named: $(cat err.txt)"
printf 'lr = 0x10\n' >hex.cfg  # as --lr 0x10 on the command line (ff = 0x40 always was refused)
expect "config lr = 0x10" 2 "--lr takes a number, not '0x10' (in 'hex.cfg')" x.ckpt "$attn" "${lm[@]}" --config hex.cfg
printf 'steps = +5\n' >plus.cfg
expect "config steps = +5" 2 "--steps takes an integer, not '+5' (in 'plus.cfg')" x.ckpt "$attn" "${lm[@]}" --config plus.cfg
printf 'threads = +1\n' >threads-plus.cfg
expect "config threads = +1" 2 "threads-plus.cfg" x.ckpt "$attn" "${lm[@]}" --config threads-plus.cfg
# A bad option is reported before a missing data file is looked at.
expect "option before data" 2 "--lr" x.ckpt "$attn" train --arch lm --train missing.txt -o x.ckpt --lr 0

# 2. finetune
ft=(finetune -m lm.ckpt --train train.txt -q -o f.ckpt)
expect "finetune --lr 0" 2 "--lr" f.ckpt "$attn" "${ft[@]}" --lr 0
expect "finetune --dropout 1" 2 "--dropout" f.ckpt "$attn" "${ft[@]}" --dropout 1
expect "finetune --clip -1" 2 "--clip" f.ckpt "$attn" "${ft[@]}" --clip -1
expect "finetune --max-len 1" 2 "--max-len" f.ckpt "$attn" "${ft[@]}" --max-len 1
expect "finetune --max-len too long" 2 "--max-len 100" f.ckpt "$attn" "${ft[@]}" --max-len 100
expect "finetune --label-smoothing" 2 "--label-smoothing" f.ckpt "$attn" "${ft[@]}" --label-smoothing 2
expect "finetune --max-len +8" 2 "--max-len takes an integer, not '+8'" f.ckpt "$attn" "${ft[@]}" --max-len +8
expect "finetune --steps ' 5'" 2 "--steps takes an integer, not ' 5'" f.ckpt "$attn" "${ft[@]}" --steps ' 5'
expect "finetune --lr 0x10" 2 "--lr takes a number, not '0x10'" f.ckpt "$attn" "${ft[@]}" --lr 0x10
# LoRA's scale and dropout: a non-finite value is refused before any data is read (an infinite
# alpha used to end in "training diverged", exit 1). missing.txt: the data is never opened.
ftl=(finetune -m lm.ckpt --train missing.txt -q -o f.ckpt --lora 2)
for alpha in inf infinity -inf nan 1e39 0 0x10 ' 2'; do
  expect "finetune --lora-alpha '$alpha'" 2 "--lora-alpha must be a finite number > 0, not '$alpha'" f.ckpt \
    "$attn" "${ftl[@]}" --lora-alpha "$alpha"
done
for p in inf nan 1 0x0 ' 0.1'; do
  expect "finetune --lora-dropout '$p'" 2 "--lora-dropout must be in [0, 1), not '$p'" f.ckpt \
    "$attn" "${ftl[@]}" --lora-dropout "$p"
done
expect "finetune --lora +2" 2 "--lora takes an integer, not '+2'" f.ckpt "$attn" finetune -m lm.ckpt \
  --train missing.txt -q -o f.ckpt --lora +2

# 3. decode, attention, eval: before the checkpoint or the input is read; no output file.
dec=(decode -m tr.ckpt -o hyp.txt)
while read -r opt args; do
  # shellcheck disable=SC2086
  expect "decode $opt $args" 2 "$opt" hyp.txt "$attn" "${dec[@]}" $opt $args
done <<'EOF'
--temperature -1 --sample
--temperature nan --sample
--temperature inf --sample
--top-p 0 --sample
--top-p 1.5 --sample
--beam 0
--max-len 1
--batch-size 0
--n-best -1
--top-k -1 --sample
--length-penalty nan --beam 2
--seed -1 --sample
--beam +2
--n-best +1
--batch-size +4
--max-len +8
--length-penalty +0.5 --beam 2
--temperature +0.5 --sample
--threads +1
EOF
expect "decode bad option, missing checkpoint" 2 "--beam" hyp.txt "$attn" decode -m missing.ckpt -o hyp.txt --beam 0
echo "a b" | "$attn" decode -m tr.ckpt --sample --temperature 0 >/dev/null 2>err.txt \
  || say_fail "--temperature 0 (always the most probable) refused: $(cat err.txt)"
"$attn" train --arch lm --train train.txt -v v.txt "${small[@]}" --pos-encoding learned -o learned.ckpt 2>err.txt \
  || say_fail "learned: $(cat err.txt)"
echo "the" >prompt.txt
expect "decode --max-len past learned positions" 2 "--max-len 100" hyp.txt \
  "$attn" decode -m learned.ckpt -o hyp.txt --max-len 100 prompt.txt
expect "eval --max-len past learned positions" 2 "--max-len 100" - \
  "$attn" eval -m learned.ckpt --data train.txt --max-len 100
expect "attention --max-len past learned positions" 2 "--max-len 100" a.csv \
  "$attn" attention -m learned.ckpt -o a.csv --max-len 100 prompt.txt
expect "attention --max-len 1" 2 "--max-len" a.csv "$attn" attention -m tr.ckpt -o a.csv --max-len 1
expect "eval --max-len 1" 2 "--max-len" - "$attn" eval -m lm.ckpt --data train.txt --max-len 1
expect "eval --batch-tokens 0" 2 "--batch-tokens" - "$attn" eval -m lm.ckpt --data train.txt --batch-tokens 0
expect "eval --batch-size -1" 2 "--batch-size" - "$attn" eval -m lm.ckpt --data train.txt --batch-size -1
expect "eval --batch-size +2" 2 "--batch-size" - "$attn" eval -m lm.ckpt --data train.txt --batch-size +2
expect "attention --max-len +8" 2 "--max-len" a.csv "$attn" attention -m tr.ckpt -o a.csv --max-len +8 prompt.txt
expect "vocab --size +60" 2 "--size" sz.vocab "$attn" vocab --type char --size +60 -o sz.vocab train.txt

# 4. Values from a checkpoint blame the checkpoint (exit 1), not an option never given.
# patch FILE OUT OLD NEW: replace a same-length key/value in the payload and fix the checksum
# (OLD and NEW in Python's \xNN escapes: a shell string cannot hold a NUL byte).
patch() {
  python3 - "$@" <<'PY'
import codecs, struct, sys
src, dst = sys.argv[1], sys.argv[2]
old, new = (codecs.escape_decode(a.encode())[0] for a in sys.argv[3:5])
b = bytearray(open(src, "rb").read())
assert len(old) == len(new) and old in b, "pattern not found"
b = b[:32] + bytes(b[32:]).replace(old, new, 1)
h = 14695981039346656037
for c in b[32:]:
    h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
b[24:32] = struct.pack("<Q", h)
open(dst, "wb").write(bytes(b))
PY
}
if command -v python3 >/dev/null; then
  # model_config max_len "16" -> "00"; train_config max-len "16" -> "00" (keys are length-prefixed).
  z='\x00\x00\x00\x00\x00\x00\x00'
  patch lm.ckpt bad-model.ckpt "max_len\x02${z}16" "max_len\x02${z}00" || say_fail "cannot patch a checkpoint"
  patch lm.ckpt bad-run.ckpt "max-len\x02${z}16" "max-len\x02${z}00" || say_fail "cannot patch a checkpoint"
  for cmdline in "decode -m bad-model.ckpt -o hyp.txt" "attention -m bad-model.ckpt -o hyp.txt" \
    "finetune -m bad-model.ckpt --train train.txt -o hyp.txt" "eval -m bad-model.ckpt --data train.txt"; do
    # shellcheck disable=SC2086
    expect "$cmdline" 1 "checkpoint 'bad-model.ckpt' holds max_len = 0 (must be at least 2)" hyp.txt "$attn" $cmdline
  done
  expect "train --resume, bad stored option" 1 "checkpoint 'bad-run.ckpt' holds max-len = 00" x.ckpt \
    "$attn" train --resume bad-run.ckpt -o x.ckpt --steps 4
  grep -qF -- "--max-len" err.txt && say_fail "resume: blames --max-len, which was not given: $(cat err.txt)"
fi
# A vocabulary file gone (or changed) since the run started is not "the vocabulary given".
"$attn" vocab --type char --size 60 -o v2.txt train.txt 2>/dev/null
"$attn" train --arch lm --train train.txt -v v2.txt "${small[@]}" -o r.ckpt 2>err.txt || say_fail "r.ckpt: $(cat err.txt)"
rm -f v2.txt
"$attn" train --resume r.ckpt --steps 3 -q 2>err.txt || say_fail "resume without -v: $(cat err.txt)"
expect "resume, -v differs" 1 "-v 'v.txt' differs" - "$attn" train --resume r.ckpt --steps 4 -q -v v.txt
expect "resume, another --optimizer" 2 "--optimizer sgd conflicts" - "$attn" train --resume r.ckpt --steps 4 -q --optimizer sgd
# --max-len is the model's max_len too: given explicitly, it must agree, as --heads must.
expect "resume, another --heads" 2 "--heads 4 conflicts with the checkpoint's heads = 2" - \
  "$attn" train --resume r.ckpt --steps 4 -q --heads 4
for n in 100 8; do
  expect "resume, --max-len $n" 2 "--max-len $n conflicts with the checkpoint's max_len = 16" - \
    "$attn" train --resume r.ckpt --steps 4 -q --max-len "$n"
done
printf 'max-len = 100\n' >maxlen.cfg
expect "resume, max-len in --config" 2 "--max-len 100 conflicts with the checkpoint's max_len = 16" - \
  "$attn" train --resume r.ckpt --steps 4 -q --config maxlen.cfg
"$attn" train --resume r.ckpt --steps 4 -q --max-len 16 2>err.txt || say_fail "resume, the same --max-len: $(cat err.txt)"

# 5. Options that do not apply: one warning each, and the run goes on.
"$attn" train --arch rnn --train pairs.tsv -v v.txt --embed 8 --hidden 8 --max-len 16 --steps 1 -q --heads 8 \
  -o w.ckpt 2>err.txt || say_fail "rnn --heads: $(cat err.txt)"
grep -qF "attn train: warning: --heads does not apply to an rnn model" err.txt || say_fail "rnn --heads: no warning: $(cat err.txt)"
"$attn" train --arch transformer --train pairs.tsv -v v.txt "${small[@]}" --hidden 64 \
  -o w.ckpt 2>err.txt || say_fail "transformer --hidden: $(cat err.txt)"
grep -qF "attn train: warning: --hidden does not apply to a transformer model" err.txt \
  || say_fail "transformer --hidden: no warning: $(cat err.txt)"
[ "$(grep -c warning err.txt)" = 1 ] || say_fail "transformer --hidden: $(grep -c warning err.txt) warnings"
cases=$((cases + 2))

# 6. Files and streams.
mkdir cfgdir
expect "--config DIR" 1 "cfgdir" x.ckpt "$attn" "${lm[@]}" --config cfgdir
expect "--train - without a vocabulary" 2 "--train -" x.ckpt "$attn" train --arch lm --train - -o x.ckpt
expect "--train - and --valid -" 2 "--valid" x.ckpt "$attn" train --arch lm --train - --valid - -v v.txt -o x.ckpt
expect "control bytes in a message" 1 'no\x0aline\x09x' x.ckpt "$attn" train --arch lm --train $'no\nline\tx' -v v.txt -o x.ckpt
expect "control bytes in a command name" 2 'bad\x0dname' - "$attn" $'bad\rname'
{ printf 'ATTNCKPT\001\000\000\000\003\000\000\000'; printf '\377\377\377\377\377\377\377\377'; printf '\000%.0s' $(seq 1 8); } >huge.ckpt
expect "header length 2^64-1" 1 "18446744073709551615" hyp.txt "$attn" decode -m huge.ckpt -o hyp.txt
grep -qF "of 31 bytes" err.txt && say_fail "header length wrapped around: $(cat err.txt)"
sed 's/$/\r/' v.txt >crlf.txt
expect "CRLF vocabulary" 1 "CRLF" x.ckpt "$attn" "${lm[@]/v.txt/crlf.txt}"
{ printf '\357\273\277'; cat v.txt; } >bom.txt
expect "BOM vocabulary" 1 "BOM" x.ckpt "$attn" "${lm[@]/v.txt/bom.txt}"
sed '1s/lowercase=0/lowercase=2/' v.txt >lower2.txt
expect "lowercase=2" 1 "lowercase" x.ckpt "$attn" "${lm[@]/v.txt/lower2.txt}"

# 7. decode on source<TAB>target: the source is decoded (as attn attention reads it), one note;
# inputs longer than max_len: one note with the count.
cut -f1 pairs.tsv >src.txt
"$attn" decode -m tr.ckpt src.txt >plain.txt 2>err.txt || say_fail "decode src: $(cat err.txt)"
"$attn" decode -m tr.ckpt pairs.tsv >tsv.txt 2>err.txt || say_fail "decode tsv: $(cat err.txt)"
cmp -s plain.txt tsv.txt || say_fail "decode of source<TAB>target differs from decoding the sources"
[ "$(wc -l <err.txt)" = 1 ] && grep -qF "30 input line(s) held source<TAB>target" err.txt \
  || say_fail "decode tsv: expected one note with the count: $(cat err.txt)"
for i in 1 2 3; do echo "a b c a b c a b c a b c a b c a b c a b c a b c"; done >long.txt
"$attn" decode -m tr.ckpt long.txt >/dev/null 2>err.txt || say_fail "decode long: $(cat err.txt)"
[ "$(wc -l <err.txt)" = 1 ] && grep -qF "3 input line(s) cut to the model's max_len 16" err.txt \
  || say_fail "decode long: expected one note with the count: $(cat err.txt)"
cases=$((cases + 2))

# 8. Boost's error placeholders in a value or an option name end in a message, not a loop
# (Boost.Program_options substitutes them until none is left; timeout catches a hang).
expect "--threads 'x%value%'" 2 "'x\x25value\x25'" - timeout 20 "$attn" train --threads 'x%value%'
expect "vocab --size '%value%'" 2 "--size" - timeout 20 "$attn" vocab -t char --size '%value%' -o - train.txt
expect "vocab bpe --special of one byte" 2 "--special 'a'" sp.vocab "$attn" vocab --type bpe --size 300 --special a -o sp.vocab train.txt
expect "--'%canonical_option%'" 2 "unrecognised option" - timeout 20 "$attn" decode --'%canonical_option%' 3
printf 'threads = %%value%%\n' >placeholder.cfg
expect "config line 'threads = %value%'" 2 "placeholder.cfg" x.ckpt timeout 20 "$attn" train --config placeholder.cfg --arch lm --train train.txt -o x.ckpt
printf '%%invalid_line%%\n' >placeholder2.cfg
expect "config line '%invalid_line%'" 2 "placeholder2.cfg" x.ckpt timeout 20 "$attn" train --config placeholder2.cfg --arch lm --train train.txt -o x.ckpt

printf 'threads = -1\n' >threads.cfg  # as --threads -1 on the command line
expect "config line 'threads = -1'" 2 "threads must be 0" x.ckpt "$attn" train --config threads.cfg --arch lm --train train.txt -o x.ckpt

# 9. An option given by name and as the positional argument that stands for it: one line saying
# so (Boost said "option '--input' cannot be specified more than once"). Collecting options
# (vocab's inputs, plot's logs) take both.
cp lm.ckpt lm2.ckpt
twice() {  # twice NAME NOUN OPTION CMD...
  local name=$1 noun=$2 option=$3; shift 3
  expect "$name" 2 "give $noun once: $option FILE or a positional FILE, not both" - "$@"
  grep -qF "more than once" err.txt && say_fail "$name: Boost's message: $(cat err.txt)"
}
twice "inspect --checkpoint A B" "the checkpoint" --checkpoint "$attn" inspect --checkpoint lm.ckpt lm2.ckpt
twice "merge --adapter A B" "the adapter" --adapter "$attn" merge --adapter lm.ckpt lm2.ckpt -o m.ckpt
twice "tokenize --input A B" "the input" --input "$attn" tokenize -v v.txt --input train.txt train.txt
twice "decode --input A B" "the input" --input "$attn" decode -m lm.ckpt --input prompt.txt prompt.txt
twice "attention --input A B" "the input" --input "$attn" attention -m lm.ckpt -o a.csv --input prompt.txt prompt.txt
"$attn" vocab --type char --size 60 --input train.txt pairs.tsv -o both.vocab 2>err.txt \
  || say_fail "vocab --input A B: $(cat err.txt)"
cases=$((cases + 1))

# 10. A NUL byte from a file (what() is a C string): shown as \x00, the message whole, and the value
# not read as the number before the NUL.
printf 'lr = 0.1\000x\n' >nul.cfg
expect "config 'lr = 0.1<NUL>x'" 2 "--lr takes a number, not '0.1\x00x' (in 'nul.cfg')" x.ckpt "$attn" "${lm[@]}" --config nul.cfg
printf 'x\000y = 1\n' >nulkey.cfg
expect "config key with a NUL" 2 "unrecognised option 'x\x00y'" x.ckpt "$attn" "${lm[@]}" --config nulkey.cfg

echo "$cases bad-option cases"
exit $fail
