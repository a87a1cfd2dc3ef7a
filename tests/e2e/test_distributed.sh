#!/usr/bin/env bash
# Data-parallel training under mpirun (2 processes on this machine), end to end on real text:
#   - 1 process × batch 2b, 1 process × b with --accum-steps 2, and 2 processes × b train on the
#     same examples: the same held-out loss (relative difference < 1e-4) and, with SGD, the same
#     parameters (overall max |a-b| / max |a| < 1e-5, attn inspect --compare); with AdamW the
#     loss too (its per-value normalisation turns the rounding noise of an attention key bias,
#     whose true gradient is zero, into lr-sized steps: see docs/distributed.md);
#   - a run of 2 processes resumed by 1 continues the same data order (--accum-steps 2 chosen
#     for it) and ends where 2 processes straight through end;
#   - an error on one rank only (its --train file missing) ends both ranks within seconds with
#     that rank's one-line error, and so does a rank killed by SIGKILL; ranks given different
#     options refuse to start;
#   - only rank 0 writes the checkpoint and the log; SIGTERM to mpirun saves at a step boundary;
#   - subcommands that do not train refuse to run as several processes.
# Every process runs one thread.
set -u
attn=$1
data=$2/examples/data
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then say_fail "$1: exit $3, expected $2"; fi
}
command -v mpirun >/dev/null || { echo "FAIL: mpirun not found (apt-get install openmpi-bin)"; exit 1; }
# Root in CI containers; shared memory without ptrace-based single copy (containers forbid it).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
mpi2() { timeout 300 mpirun -np 2 --bind-to none "$@"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

head -600 "$data/kjv-genesis.txt" >train.txt
sed -n 601,700p "$data/kjv-genesis.txt" >valid.txt
"$attn" vocab --type char --size 120 train.txt -o chars.vocab 2>/dev/null
check "vocab" 0 $?
model=(--arch lm --train train.txt -v chars.vocab --layers 2 --d-model 32 --heads 2 --ff 64 --max-len 48
       --dropout 0 --seed 5 --threads 1 -q)
loss_of() {  # the held-out loss, all digits
  "$attn" eval -m "$1" --data valid.txt --threads 1 --json | sed -n 's/.*"loss":\([0-9.e+-]*\).*/\1/p'
}
relative() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; print d / a }'; }
below() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x < y) }'; }
overall() {  # overall relative parameter difference of two checkpoints
  "$attn" inspect -m "$1" --compare "$2" --json | sed -n 's/.*"overall_relative": *\([0-9.e+-]*\).*/\1/p'
}

# --- The same examples in every update, three ways ---
for opt in sgd adamw; do
  o=(--optimizer "$opt" --steps 20)
  [ "$opt" = sgd ] && o+=(--lr 0.3 --momentum 0.9)
  "$attn" train "${model[@]}" "${o[@]}" --batch-size 16 -o "$opt-1x16.ckpt"
  check "$opt: 1 process, batch 16" 0 $?
  "$attn" train "${model[@]}" "${o[@]}" --batch-size 8 --accum-steps 2 -o "$opt-1x8x2.ckpt"
  check "$opt: 1 process, batch 8, --accum-steps 2" 0 $?
  mpi2 "$attn" train "${model[@]}" "${o[@]}" --batch-size 8 -o "$opt-2x8.ckpt" --log "$opt-2x8.csv"
  check "$opt: 2 processes, batch 8" 0 $?
  ref=$(loss_of "$opt-1x16.ckpt")
  [ -n "$ref" ] || say_fail "$opt: no held-out loss for the 1x16 run"
  for other in 1x8x2 2x8; do
    l=$(loss_of "$opt-$other.ckpt")
    r=$(relative "$ref" "${l:-0}")
    echo "$opt $other: held-out loss $l vs $ref (relative $r)"
    below "$r" 1e-4 || say_fail "$opt: held-out loss of $other ($l) differs from 1x16 ($ref) by $r relative"
    if [ "$opt" = sgd ]; then
      p=$(overall "$opt-1x16.ckpt" "$opt-$other.ckpt")
      echo "$opt $other: parameters overall relative difference $p"
      below "${p:-1}" 1e-5 || say_fail "$opt: parameters of $other differ from 1x16 by $p (overall relative)"
    fi
  done
  # One log, from rank 0: a header and 20 steps.
  [ "$(grep -c '^[0-9]' "$opt-2x8.csv")" -ge 20 ] || say_fail "$opt: the 2-process log lacks its 20 steps"
done
"$attn" inspect sgd-2x8.ckpt | grep -q "^  shards = 2$" || say_fail "the 2-process checkpoint does not record 2 shards"
# With a different global batch the examples differ: the comparison above can fail.
"$attn" train "${model[@]}" --optimizer sgd --lr 0.3 --momentum 0.9 --steps 20 --batch-size 8 -o sgd-1x8.ckpt
p=$(overall sgd-1x16.ckpt sgd-1x8.ckpt)
echo "sgd 1x8 (another global batch): parameters overall relative difference $p"
below "${p:-0}" 1e-3 && say_fail "batch 8 alone is as close to batch 16 ($p) as accumulation: the check cannot fail"

# --- 2 processes for 10 updates, then 1 process resumes: the same as 2 processes straight ---
s=(--optimizer sgd --lr 0.3 --momentum 0.9 --batch-size 8)
mpi2 "$attn" train "${model[@]}" "${s[@]}" --steps 10 -o half.ckpt
check "2 processes, 10 steps" 0 $?
"$attn" train --resume half.ckpt --steps 20 --threads 1 -o resumed.ckpt 2>resume.err
check "1 process resumes a 2-process run" 0 $?
grep -q "accum-steps 2 with 1 process keeps them" resume.err ||
  say_fail "resuming 2 processes' run in 1 does not say it keeps the global batch: $(cat resume.err)"
p=$(overall sgd-2x8.ckpt resumed.ckpt)
echo "2 processes then 1 vs 2 straight: parameters overall relative difference $p"
below "${p:-1}" 1e-5 || say_fail "2 processes then 1 differ from 2 processes straight by $p (overall relative)"
"$attn" train --resume half.ckpt --steps 20 --accum-steps 3 --threads 1 -q -o bad.ckpt 2>bad.err
check "resuming with a global batch that changes the data order" 2 $?
grep -q "its data order would change" bad.err || say_fail "no reason given: $(cat bad.err)"

# --- An error on one rank ends both, quickly, with that rank's message ---
start=$(date +%s)
mpi2 bash -c 'f=train.txt; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && f=missing.txt
  exec "$0" train --arch lm --train "$f" -v chars.vocab --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 48 \
    --batch-size 8 --steps 1000000 --threads 1 -q -o fails.ckpt' "$attn" >/dev/null 2>fail.err
code=$?
[ "$code" -ne 0 ] || say_fail "a missing file on rank 1 did not fail the run"
[ $(( $(date +%s) - start )) -le 60 ] || say_fail "a failure on rank 1 took more than 60 s to end both ranks"
grep -q "^attn train: rank 1: cannot open 'missing.txt'" fail.err ||
  say_fail "rank 1's error is not reported as its own: $(head -3 fail.err)"
[ -e fails.ckpt ] && say_fail "a failed run left a checkpoint"
# A rank that dies (SIGKILL after 3 s) while the other waits in a collective: both end.
start=$(date +%s)
mpi2 bash -c 'k=""; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && k="timeout -s KILL 3"
  exec $k "$0" train --arch lm --train train.txt -v chars.vocab --layers 1 --d-model 32 --heads 2 --ff 64 \
    --max-len 48 --batch-size 8 --steps 1000000 --threads 1 -q -o killed.ckpt' "$attn" >/dev/null 2>killed.err
[ $? -ne 0 ] || say_fail "a rank killed with SIGKILL did not fail the run"
[ $(( $(date +%s) - start )) -le 60 ] || say_fail "a killed rank took more than 60 s to end the other"
mpi2 bash -c 'seed=1; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && seed=2
  exec "$0" train --arch lm --train train.txt -v chars.vocab --layers 1 --d-model 32 --heads 2 --ff 64 \
    --max-len 48 --batch-size 8 --steps 5 --seed $seed --threads 1 -q -o differ.ckpt' "$attn" >/dev/null 2>differ.err
[ $? -ne 0 ] || say_fail "ranks given different seeds trained anyway"
grep -q "another configuration, vocabulary, data or checkpoint than process 0" differ.err ||
  say_fail "no clear message for ranks that disagree: $(head -3 differ.err)"

# --- SIGTERM to mpirun: one checkpoint at a step boundary on rank 0, then both exit ---
mpirun -np 2 --bind-to none "$attn" train "${model[@]}" --batch-size 8 --steps 1000000 -o sig.ckpt \
  >/dev/null 2>sig.err &
pid=$!
for _ in $(seq 1 100); do [ -e sig.ckpt ] && break; grep -q . sig.err && break; sleep 0.1; done
sleep 3
kill -TERM "$pid"
wait "$pid"
[ -s sig.ckpt ] || say_fail "SIGTERM to mpirun left no checkpoint: $(cat sig.err)"
grep -q "interrupted by SIGTERM at step" sig.err || say_fail "the interruption was not reported: $(cat sig.err)"
[ "$(grep -c "interrupted by SIGTERM" sig.err)" -eq 1 ] || say_fail "more than rank 0 reported the interruption"
"$attn" inspect sig.ckpt >/dev/null || say_fail "the checkpoint saved on SIGTERM does not load"

# --- Only train and finetune run as several processes ---
mpi2 "$attn" eval -m sgd-1x16.ckpt --data valid.txt >/dev/null 2>eval.err
[ $? -ne 0 ] || say_fail "attn eval ran as 2 processes"
grep -q "only train and finetune run as several processes" eval.err || say_fail "eval: $(head -2 eval.err)"

# --- finetune is data-parallel too ---
mpi2 "$attn" finetune -m sgd-1x16.ckpt --train valid.txt --batch-size 4 --steps 5 --threads 1 -q -o ft.ckpt
check "finetune with 2 processes" 0 $?
"$attn" inspect ft.ckpt | grep -q "^  shards = 2$" || say_fail "finetune's checkpoint does not record 2 shards"

[ $fail -eq 0 ] && echo "distributed: OK"
exit $fail
