#!/usr/bin/env bash
# No input destroys data (docs/reliability.md), through the real binary: an output that is an
# input (same name, a link, stdout redirected onto it) is refused before anything is written,
# and the input is byte-identical afterwards; outputs are replaced atomically (an error half-way
# keeps the old file; a planted link is not written through; a device stays a device); two runs
# cannot write the same checkpoint or log; a checkpoint is not a stream; --threads is capped;
# signals leave no temporary files and a second SIGTERM keeps the last good checkpoint.
set -u
attn=$1
data=$2/examples/data
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then say_fail "$1: exit $3, expected $2"; fi
}
one_line() {  # one_line NAME FILE [WORDS]: exactly one stderr line, containing WORDS
  [ "$(wc -l <"$2")" -eq 1 ] || say_fail "$1: expected a one-line error, got: $(cat "$2")"
  [ -z "${3:-}" ] || grep -qF -- "$3" "$2" || say_fail "$1: the error does not say '$3': $(cat "$2")"
}
intact() {  # intact NAME FILE COPY
  cmp -s "$2" "$3" || say_fail "$1: $2 was changed"
}
no_temp() {  # no_temp NAME: no temporary or lock file left in the folder
  local left
  left=$(ls -A | grep -E '\.tmp-|\.lock$' | grep -v '^planted' || true)
  [ -z "$left" ] || say_fail "$1: left behind: $left"
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

head -120 "$data/kjv-genesis.txt" >text.txt
cp text.txt text.orig
"$attn" vocab --type char --size 80 -o v.vocab -q text.txt; check "vocab" 0 $?
cp v.vocab v.orig
"$attn" train --arch lm --train text.txt -v v.vocab --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 64 \
  --batch-size 8 --steps 3 --threads 1 -q -o m.ckpt; check "train a tiny lm" 0 $?
cp m.ckpt m.orig
printf 'And God said\nIn the beginning\n' >src.txt
cp src.txt src.orig

# 1. An output that is an input: refused (exit 2), one line, the input untouched.
refused() {  # refused NAME WORDS CMD...: exit 2, one line containing WORDS
  local name=$1 words=$2; shift 2
  "$@" 2>err.txt >/dev/null; check "$name" 2 $?
  one_line "$name" err.txt "$words"
}
refused "vocab -o CORPUS CORPUS" "is the same file as the input" "$attn" vocab --type char --size 80 -o text.txt text.txt
refused "tokenize -o f f" "-o 'text.txt' is the same file as the input 'text.txt'" "$attn" tokenize -v v.vocab -o text.txt text.txt
refused "tokenize -o VOCAB" "the input -v 'v.vocab'" "$attn" tokenize -v v.vocab -o v.vocab text.txt
ln -s text.txt alias.txt
refused "tokenize -o LINK-TO-INPUT" "is the same file as the input" "$attn" tokenize -v v.vocab -o alias.txt text.txt
mkdir sub
refused "tokenize -o ./sub/../f f" "is the same file as the input" "$attn" tokenize -v v.vocab -o ./sub/../text.txt text.txt
"$attn" tokenize -v v.vocab text.txt >>text.txt 2>err.txt; check "tokenize f >> f" 2 $?
one_line "tokenize f >> f" err.txt "standard output is the same file as the input"
refused "decode -o f f" "is the same file as the input" "$attn" decode -m m.ckpt -o src.txt src.txt
refused "decode -o CKPT" "the input -m 'm.ckpt'" "$attn" decode -m m.ckpt -o m.ckpt src.txt
refused "attention -o f f" "is the same file as the input" "$attn" attention -m m.ckpt -o src.txt src.txt
tiny=(--arch lm --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 64 --batch-size 8 --steps 2 --threads 1 -q)
refused "train -o TRAIN" "-o 'text.txt' is the same file as the input --train" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o text.txt
refused "train --log TRAIN" "--log 'text.txt' is the same file as the input --train" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o x.ckpt --log text.txt
refused "train -o VOCAB" "the input --vocab" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o v.vocab
refused "train --log = -o" "are the same file" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o x.ckpt --log x.ckpt
refused "train --log = -o.best" "are the same file" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o x.ckpt --log x.ckpt.best
printf 'steps = 2\n' >conf.txt
refused "train -o CONFIG" "the input --config" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab --config conf.txt -o conf.txt
refused "train --resume CKPT --log CKPT" "are the same file" "$attn" train --resume m.ckpt --steps 4 --threads 1 -q --log m.ckpt
refused "finetune -o BASE" "the input -m 'm.ckpt'" "$attn" finetune -m m.ckpt --train text.txt --steps 1 --threads 1 -q -o m.ckpt
refused "train -o -" "a checkpoint is a file, not a stream" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o -
# A folder where a checkpoint goes is found before training, not when the run ends and cannot save.
mkdir -p folder.ckpt best.ckpt.best
refused "train -o FOLDER" "is a folder" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o folder.ckpt
refused "train -o X, X.best a folder" "is a folder" "$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o best.ckpt
rmdir folder.ckpt best.ckpt.best
[ ! -e ./- ] || say_fail "train -o - created a file named '-'"
[ ! -e x.ckpt ] || say_fail "a refused run wrote x.ckpt"
intact "inputs after the refusals" text.txt text.orig
intact "inputs after the refusals" v.vocab v.orig
intact "inputs after the refusals" src.txt src.orig
intact "inputs after the refusals" m.ckpt m.orig
intact "inputs after the refusals" conf.txt <(printf 'steps = 2\n')
# /dev/null in and out is no clash.
"$attn" tokenize -v v.vocab -o /dev/null /dev/null; check "tokenize /dev/null to /dev/null" 0 $?

# 2. Atomic outputs: an error half-way keeps the old file; nothing half-written appears.
"$attn" tokenize -v v.vocab -o ids.txt text.txt; check "tokenize" 0 $?
cp ids.txt ids.orig
{ cat text.txt; printf 'bad \xff byte\n'; } >bad.txt
"$attn" tokenize -v v.vocab --decode -o ids.txt bad.txt 2>err.txt; code=$?
[ "$code" -ne 0 ] || say_fail "decoding text as ids did not fail"
intact "tokenize error half-way" ids.txt ids.orig
no_temp "tokenize error half-way"
# A link planted under the name a temporary file will take is never written through: the
# names are NAME.tmp-<pid>-<n>, and exec keeps this shell's pid for attn.
echo "keep me" >victim.txt
bash -c 'for n in $(seq 0 20); do ln -s victim.txt "planted.vocab.tmp-$$-$n"; done
         exec "$1" vocab --type char --size 80 -o planted.vocab -q text.txt' _ "$attn"
check "vocab beside planted links" 0 $?
[ "$(ls planted.vocab.tmp-* | wc -l)" -eq 21 ] || say_fail "the planted links are not where attn's temporary files go"
[ "$(cat victim.txt)" = "keep me" ] || say_fail "a planted link was written through"
# Replacing a file keeps its permissions; writing through a link replaces the file it names.
chmod 640 ids.txt; ln -s ids.txt ids.link
"$attn" tokenize -v v.vocab -o ids.link src.txt; check "tokenize -o LINK" 0 $?
[ -L ids.link ] || say_fail "the link was replaced instead of the file it names"
[ "$(stat -c %a ids.txt)" = 640 ] || say_fail "the replaced file lost its permissions: $(stat -c %a ids.txt)"
[ "$(wc -l <ids.txt)" -eq 2 ] || say_fail "the file behind the link does not hold the new output"
# A device stays a device (written in place); a full device is an error, not a crash.
"$attn" tokenize -v v.vocab -o /dev/null text.txt; check "tokenize -o /dev/null" 0 $?
[ -c /dev/null ] || say_fail "/dev/null is no longer a device"
# /dev/stdout is the descriptor the shell opened: `>>` appends, and an input behind it is refused.
printf 'kept\n' >all.txt
"$attn" tokenize -v v.vocab -o /dev/stdout src.txt >>all.txt; check "tokenize -o /dev/stdout >> f" 0 $?
[ "$(head -1 all.txt)" = kept ] && [ "$(wc -l <all.txt)" -eq 3 ] || say_fail "-o /dev/stdout >> all.txt: $(cat all.txt)"
"$attn" tokenize -v v.vocab -o /dev/stdout src.txt >>src.txt 2>err.txt; check "-o /dev/stdout >> INPUT" 2 $?
one_line "-o /dev/stdout >> INPUT" err.txt "is the same file as the input"
"$attn" tokenize -v v.vocab -o /dev/stdout src.txt >&- 2>err.txt; check "-o /dev/stdout with stdout closed" 0 $?
intact "-o /dev/stdout with stdout closed" src.txt src.orig
# Printing a checkpoint onto itself, scoring onto the hypotheses: refused too.
"$attn" inspect -m m.ckpt >>m.ckpt 2>err.txt; check "inspect CKPT >> CKPT" 2 $?
one_line "inspect CKPT >> CKPT" err.txt "standard output is the same file as the input"
intact "inspect CKPT >> CKPT" m.ckpt m.orig
"$attn" eval --ref src.txt src.txt >>src.txt 2>err.txt; check "eval HYP >> HYP" 2 $?
intact "eval HYP >> HYP" src.txt src.orig
# A device is not a checkpoint or a vocabulary (/dev/zero would be read without end).
"$attn" inspect -m /dev/zero 2>err.txt; check "inspect /dev/zero" 1 $?
one_line "inspect /dev/zero" err.txt "not a regular file"
"$attn" tokenize -v /dev/zero src.txt 2>err.txt; check "tokenize -v /dev/zero" 1 $?
one_line "tokenize -v /dev/zero" err.txt "not a regular file"
if [ -w /dev/full ]; then
  "$attn" vocab --type char --size 80 -o /dev/full -q text.txt 2>err.txt; check "vocab -o /dev/full" 1 $?
  one_line "vocab -o /dev/full" err.txt "No space left on device"
  [ -c /dev/full ] || say_fail "/dev/full was replaced by a regular file"
fi
mkfifo pipe
cat pipe >from-pipe.txt &
"$attn" tokenize -v v.vocab -o pipe src.txt; check "tokenize -o FIFO" 0 $?
wait
[ -p pipe ] || say_fail "the FIFO was replaced"
[ "$(wc -l <from-pipe.txt)" -eq 2 ] || say_fail "the FIFO's reader got $(wc -l <from-pipe.txt) lines"
no_temp "atomic outputs"

# 3. Lock files never take the place of someone's file, and are not made beside devices.
cp text.txt corpus.lock
refused "train --train X.lock -o X" "the lock file of -o" "$attn" train "${tiny[@]}" --train corpus.lock -v v.vocab -o corpus
intact "train --train X.lock -o X" corpus.lock text.orig
rm corpus.lock
echo "precious" >z.ckpt.lock
"$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o z.ckpt 2>err.txt; check "an existing non-lock X.lock" 1 $?
one_line "an existing non-lock X.lock" err.txt "is not an attn lock file"
[ "$(cat z.ckpt.lock)" = precious ] || say_fail "an existing z.ckpt.lock was changed"
rm -f z.ckpt.lock
"$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o /dev/null --log /dev/null; check "train -o /dev/null" 0 $?
# The reader of --log - leaving (SIGPIPE) ends the run without leaving its lock file.
"$attn" train --arch lm --train text.txt -v v.vocab --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 64 \
  --batch-size 8 --steps 100000 --threads 1 -q -o pipe.ckpt --log - | head -2 >/dev/null
no_temp "train --log - | head"

# 3b. Two runs on one checkpoint or log: the second stops at once.
long=(--arch lm --train text.txt -v v.vocab --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 64 --batch-size 8
  --steps 1000000 --threads 1 -q)
"$attn" train "${long[@]}" --valid text.txt --valid-every 1000000 -o run.ckpt --log run.csv 2>first.txt &
first=$!
for _ in $(seq 1 300); do [ -f run.csv ] && [ "$(wc -l <run.csv)" -ge 3 ] && break; sleep 0.1; done  # training
"$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o run.ckpt 2>err.txt; check "second run, same checkpoint" 1 $?
one_line "second run, same checkpoint" err.txt "is being written by another attn run (pid $first)"
"$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o other.ckpt --log run.csv 2>err.txt
check "second run, same log" 1 $?
one_line "second run, same log" err.txt "is being written by another attn run"
"$attn" train "${tiny[@]}" --train text.txt -v v.vocab -o run.ckpt.best 2>err.txt
check "second run, -o the first's best checkpoint" 1 $?
one_line "second run, -o the first's best checkpoint" err.txt "is being written by another attn run (pid $first)"
# 4. Signals: the first SIGTERM saves at a step boundary (exit 143) and frees the locks.
kill -TERM "$first"; wait "$first"; check "SIGTERM during training" 143 $?
grep -q "interrupted by SIGTERM" first.txt || say_fail "no 'interrupted' message: $(cat first.txt)"
"$attn" inspect run.ckpt >/dev/null; check "the checkpoint saved on SIGTERM loads" 0 $?
no_temp "after SIGTERM"
# A second SIGTERM ends the run at once, mid-step (a step of this model takes about a second
# single-threaded, 0.3 GB); the last good checkpoint is untouched.
"$attn" train --arch lm --train text.txt -v v.vocab --layers 4 --d-model 256 --heads 4 --ff 1024 --max-len 128 \
  --batch-size 64 --steps 1000000 --threads 1 -o big.ckpt 2>big.txt &
big=$!
for _ in $(seq 1 600); do grep -q "parameters" big.txt && break; sleep 0.1; done  # the loop starts
sleep 0.5
kill -TERM "$big"; sleep 0.1; kill -TERM "$big"
wait "$big"; check "two SIGTERMs" 143 $?
if grep -q "interrupted by SIGTERM" big.txt; then
  "$attn" inspect big.ckpt >/dev/null; check "a checkpoint saved between the two SIGTERMs loads" 0 $?
else
  [ ! -e big.ckpt ] || say_fail "two SIGTERMs mid-step: a checkpoint was written"
fi
no_temp "after two SIGTERMs"
# SIGTERM while decoding to a file: no half output, no temporary file. (SIGINT would be
# ignored here: a script's background job inherits SIGINT ignored, and attn keeps it so.)
echo "old" >hyp.txt
mkfifo endless
yes "In the beginning God created the heaven and the earth" >endless &
feeder=$!
"$attn" decode -m m.ckpt --threads 1 -o hyp.txt endless &
dec=$!
sleep 1; kill -TERM "$dec"; wait "$dec"; check "SIGTERM during decode" 143 $?
kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null
[ "$(cat hyp.txt)" = "old" ] || say_fail "SIGTERM during decode changed the old output"
no_temp "after SIGTERM during decode"

# 4b. A resumed run's log: the rows the interrupted run wrote after its checkpoint are redone,
# not duplicated.
"$attn" train --arch lm --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 64 --batch-size 8 --threads 1 -q \
  --train text.txt -v v.vocab --steps 4 -o log.ckpt --log log.csv; check "train with --log" 0 $?
echo "5,0,9,9,9,9,9,,,,train" >>log.csv  # written after the last save, then the run was killed
"$attn" train --resume log.ckpt --steps 6 --threads 1 -q --log log.csv; check "resume with --log" 0 $?
[ "$(cut -d, -f1 log.csv | tr '\n' ' ')" = "step 1 2 3 4 5 6 " ] || say_fail "resumed log rows: $(cut -d, -f1 log.csv | tr '\n' ' ')"
grep -q "^5,0,9,9" log.csv && say_fail "the interrupted run's row after the checkpoint was kept"
# Another run that shared the log before it keeps all its rows, whatever their steps.
"$attn" train --arch lm --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 64 --batch-size 8 --threads 1 -q \
  --train text.txt -v v.vocab --steps 9 -o other.ckpt --log shared.csv; check "train 9 steps, shared log" 0 $?
"$attn" train --arch lm --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 64 --batch-size 8 --threads 1 -q \
  --train text.txt -v v.vocab --steps 3 -o short.ckpt --log shared.csv; check "train 3 steps, shared log" 0 $?
echo "4,0,9,9,9,9,9,,,,train" >>shared.csv  # the second run's row after its last save
"$attn" train --resume short.ckpt --steps 5 --threads 1 -q --log shared.csv; check "resume, shared log" 0 $?
[ "$(cut -d, -f1 shared.csv | tr '\n' ' ')" = "step 1 2 3 4 5 6 7 8 9 1 2 3 4 5 " ] \
  || say_fail "shared log after a resume: $(cut -d, -f1 shared.csv | tr '\n' ' ')"

# 5. --threads above the cores: capped, said once.
"$attn" tokenize -v v.vocab --threads 100000 -o /dev/null text.txt 2>err.txt; check "--threads 100000" 0 $?
one_line "--threads 100000" err.txt "is more than the"

[ "$fail" -eq 0 ] && echo "test_safety: all passed"
exit "$fail"
