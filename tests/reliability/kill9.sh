#!/usr/bin/env bash
# kill -9 campaign: N hard kills at random points of an `attn train --save-every K --threads 1`
# run, each followed by `attn train --resume CKPT`; the end result must be bit-identical to an
# uninterrupted run with the same seed.
#
#   bash tests/reliability/kill9.sh N [ATTN]     (ATTN: the binary, default build/attn)
#
# Environment: KILL9_FAMILY (transformer, rnn, lm, classifier), KILL9_STEPS (300),
# KILL9_SAVE_EVERY (10), KILL9_VALID_EVERY (50), KILL9_SEED (random: the seed of the kill points,
# printed so that a failing campaign can be replayed), KILL9_KEEP=1 keeps the work directory.
#
# The model: by default the reverse-digits Transformer of examples/quickstart.sh, shrunk
# (1 layer, d 32); or an additive-attention RNN on the same data, an lm on Genesis, a sentiment
# classifier. Always with dropout (the RNG state must survive), a cosine schedule with warmup
# (the schedule must) and periodic validation (the best checkpoint CKPT.best must, too).
# Kill points: a step drawn at random between the checkpoint's step and 85% of the run (the
# run's --log is watched), then a random 0-20 ms more. Every other kill is aimed at a write:
# from that step on, it waits for the next temporary checkpoint file to appear and kills at
# once, so that many kills land between the creation of the temporary file and its rename (the
# summary counts the kills that left a temporary file).
# After each kill: CKPT (and CKPT.best) load with `attn inspect`, CKPT's step is a multiple of K
# and never goes back, the only other files are temporary files "CKPT.tmp-<pid>-<n>" of the
# killed process and a stale "CKPT.lock", and the resumed run starts at CKPT's step (so nothing
# else was taken for the checkpoint). The temporary files are left in place for the rest of the
# campaign. At the end: CKPT and CKPT.best equal the uninterrupted run's in every field but the
# write time (tests/reliability/ckpt_compare.py, which reads the file format independently);
# every step's loss, LR and gradient norm in every segment equal the uninterrupted run's; the
# two models decode identically; and resuming the finished checkpoint once more (what a kill
# between the final save and the exit leads to) leaves it identical.
# Exit 0 when every check passed, 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-}
[[ $n =~ ^[0-9]+$ ]] || { echo "usage: kill9.sh N [ATTN]" >&2; exit 2; }
attn=${2:-$root/build/attn}
[ -x "$attn" ] || { echo "kill9: no attn binary at $attn" >&2; exit 2; }
attn=$(cd "$(dirname "$attn")" && pwd)/$(basename "$attn")
steps=${KILL9_STEPS:-300}
save_every=${KILL9_SAVE_EVERY:-10}
valid_every=${KILL9_VALID_EVERY:-50}
family=${KILL9_FAMILY:-transformer}
seed=${KILL9_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
data=$root/examples/data
compare=$here/ckpt_compare.py

fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null
  if [ "${KILL9_KEEP:-0}" = 1 ]; then echo "kill9: work dir kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
cd "$tmp" || exit 1
echo "kill9: $n kills, $family, $steps steps, --save-every $save_every, kill-point seed $seed ($attn)"

# The model: the same training options for every family but the data and the sizes.
common=(--dropout 0.1 --lr 0.003 --schedule cosine --warmup 20 --steps "$steps" --valid-every "$valid_every"
  --save-every "$save_every" --seed 3 --threads 1 --log-every 1000000)
case $family in
  transformer | rnn)
    "$attn" vocab -q --type word --size 30 --column all -o digits.vocab "$data/reverse-train.tsv" || exit 1
    cut -f1 "$data/reverse-valid.tsv" >decode.in
    run_args=(--arch "$family" --train "$data/reverse-train.tsv" --valid "$data/reverse-valid.tsv" -v digits.vocab
      --batch-size 32 --max-len 32)
    if [ "$family" = rnn ]; then run_args+=(--embed 32 --hidden 32 --attention additive)
    else run_args+=(--layers 1 --d-model 32 --heads 2 --ff 64); fi
    ;;
  lm)  # the BPE vocabulary is built by train itself, from the data
    head -n 1200 "$data/kjv-genesis.txt" >lm-train.txt
    sed -n 1201,1300p "$data/kjv-genesis.txt" >lm-valid.txt
    head -n 50 lm-valid.txt | cut -c1-30 >decode.in
    run_args=(--arch lm --train lm-train.txt --valid lm-valid.txt --vocab-size 300 --layers 1 --d-model 32 --heads 2
      --ff 64 --max-len 32 --batch-size 16)
    ;;
  classifier)
    cut -f2 "$data/sentiment-valid.tsv" >decode.in
    run_args=(--arch classifier --train "$data/sentiment-train.tsv" --valid "$data/sentiment-valid.tsv"
      --vocab-size 500 --layers 1 --d-model 32 --heads 2 --ff 64 --max-len 64 --batch-size 32)
    ;;
  *) echo "kill9: KILL9_FAMILY must be transformer, rnn, lm or classifier" >&2; exit 2 ;;
esac
run_args+=("${common[@]}")

# The uninterrupted run.
"$attn" train "${run_args[@]}" --log ref.csv -o ref.ckpt 2>ref.err || { cat ref.err; echo "FAIL: the reference run"; exit 1; }

step_of() { "$attn" inspect "$1" 2>/dev/null | sed -n 's/^  step = //p'; }
# The last step in a segment's --log, in $REPLY (0 if none); builtins only, to poll quickly.
last_step() {
  local line last=0
  [ -e "$1" ] || { REPLY=0; return; }
  while IFS= read -r line; do last=$line; done <"$1"
  last=${last%%,*}
  [[ $last =~ ^[0-9]+$ ]] && REPLY=$last || REPLY=0
}
exec {nap_fd}<> <(:)
nap() { read -r -t "$1" -u "$nap_fd"; }  # sleep without a fork

kills=0 resumes=0 restarts=0 in_write=0 missed=0 seg=0 ckpt_step=0 temps=0
limit=$((steps * 85 / 100))
while :; do
  seg=$((seg + 1))
  if [ -e run.ckpt ]; then
    cmd=(train --resume run.ckpt --threads 1 --log-every 1000000)
    resumes=$((resumes + 1))
  else
    cmd=(train "${run_args[@]}" -o run.ckpt)
    [ "$seg" -gt 1 ] && restarts=$((restarts + 1))
  fi
  cmd+=(--log "seg$seg.csv")
  if [ "$kills" -ge "$n" ]; then  # the last segment runs to the end
    "$attn" "${cmd[@]}" 2>"seg$seg.err"
    rc=$?
    [ "$rc" -eq 0 ] || { cat "seg$seg.err"; say_fail "segment $seg (${cmd[*]:0:3}) exited $rc"; }
    break
  fi

  # Where to kill: spread the remaining kills over the remaining steps, at random.
  left=$((n - kills))
  span=$(((limit - ckpt_step) * 2 / (left + 1)))
  [ "$span" -ge 1 ] || span=1
  target=$((ckpt_step + 1 + RANDOM % span))
  [ "$target" -le "$limit" ] || target=$limit
  aimed=$((kills % 2))
  delay=$((aimed ? 0 : RANDOM % 21))
  printf -v delay_s '0.%03d' "$delay"

  "$attn" "${cmd[@]}" 2>"seg$seg.err" &
  pid=$!
  reached=0 spins=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$reached" = 0 ]; then
      last_step "seg$seg.csv"
      [ "$REPLY" -ge "$target" ] && reached=1
    fi
    if [ "$reached" = 1 ]; then
      [ "$aimed" = 0 ] && break
      # aimed: spin until the next checkpoint write begins (it lasts about a millisecond); if
      # two saves go by unseen, kill anyway rather than let the run finish
      compgen -G "run.ckpt*.tmp-$pid-*" >/dev/null && break
      spins=$((spins + 1))
      if [ $((spins % 64)) = 0 ]; then
        last_step "seg$seg.csv"
        [ "$REPLY" -lt $((target + 2 * save_every)) ] || break
      fi
    else
      nap 0.002
    fi
  done
  [ "$delay" = 0 ] || nap "$delay_s"  # no fork from here to the kill: a loaded machine forks slowly
  kill -9 "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null
  rc=$?
  killed_pid=$pid
  pid=
  if [ "$rc" -eq 0 ]; then  # finished before the kill landed (a very slow poll): no kill
    missed=$((missed + 1))
    echo "kill9: segment $seg finished before kill $((kills + 1)) landed (target step $target)"
    break
  elif [ "$rc" -ne 137 ]; then
    cat "seg$seg.err"
    say_fail "segment $seg exited $rc before the kill"
    break
  fi
  kills=$((kills + 1))
  last_step "seg$seg.csv"
  killed_at=$REPLY

  # The files: CKPT, CKPT.best, the killed process's temporary files, a stale lock.
  left_temp=
  for f in run.ckpt*; do
    [ -e "$f" ] || continue
    case $f in
      run.ckpt | run.ckpt.best | run.ckpt.lock | run.ckpt.best.lock) ;;
      run.ckpt.tmp-* | run.ckpt.best.tmp-*)
        [ -e "seen.$f" ] && continue
        : >"seen.$f"
        temps=$((temps + 1))
        left_temp="$left_temp $f"
        case $f in
          *.tmp-"$killed_pid"-*) ;;
          *) say_fail "kill $kills: temporary file $f is not the killed process's (pid $killed_pid)" ;;
        esac
        # A half-written temporary file must be refused cleanly, never crash a reader.
        "$attn" inspect "$f" >/dev/null 2>inspect.err
        r=$?
        [ "$r" -le 1 ] || say_fail "kill $kills: attn inspect $f exited $r: $(cat inspect.err)"
        ;;
      *) say_fail "kill $kills: unexpected file $f" ;;
    esac
  done
  if [ -e run.ckpt ]; then
    s=$(step_of run.ckpt)
    if [[ ! $s =~ ^[0-9]+$ ]]; then
      say_fail "kill $kills (segment $seg, near step $killed_at): run.ckpt does not load: $("$attn" inspect run.ckpt 2>&1 >/dev/null)"
      break
    fi
    [ $((s % save_every)) -eq 0 ] || say_fail "kill $kills: run.ckpt is at step $s, not a multiple of $save_every"
    [ "$s" -ge "$ckpt_step" ] || say_fail "kill $kills: run.ckpt went back from step $ckpt_step to $s"
    ckpt_step=$s
  fi
  if [ -e run.ckpt.best ] && [ -z "$(step_of run.ckpt.best)" ]; then
    say_fail "kill $kills: run.ckpt.best does not load: $("$attn" inspect run.ckpt.best 2>&1 >/dev/null)"
  fi
  [ -z "$left_temp" ] || in_write=$((in_write + 1))
  echo "kill9: kill $kills after step ${killed_at:-0} (segment $seg, $([ "$aimed" = 1 ] && echo "aimed at the next write from step $target" || echo "random from step $target")); run.ckpt at step $ckpt_step${left_temp:+; left$left_temp}"
  [ "$fail" = 0 ] || break
done

# Each resumed segment starts right after the checkpoint it was given, and every step of every
# segment reproduces the uninterrupted run's loss, LR, tokens and gradient norm.
train_rows() { grep ',train$' "$1" | cut -d, -f1-5,7; }
train_rows ref.csv >ref.rows
for ((i = 1; i <= seg; i++)); do
  [ -s "seg$i.csv" ] || continue
  train_rows "seg$i.csv" >rows
  first=$(head -n 1 rows | cut -d, -f1)
  [ -z "$first" ] && continue
  mismatch=$(awk -F, 'NR == FNR { ref[$1] = $0; next } ref[$1] != $0 { print $1; exit }' ref.rows rows)
  [ -z "$mismatch" ] || say_fail "segment $i: step $mismatch differs from the uninterrupted run: $(grep "^$mismatch," rows | head -n 1) vs $(grep "^$mismatch," ref.rows)"
done
for ((i = 2; i <= seg; i++)); do
  grep -q "resuming at step" "seg$i.err" || continue
  at=$(sed -n 's/.*resuming at step \([0-9]*\).*/\1/p' "seg$i.err")
  first=$(grep ',train$' "seg$i.csv" 2>/dev/null | head -n 1 | cut -d, -f1)
  [ -z "$first" ] || [ "$first" -eq $((at + 1)) ] || say_fail "segment $i resumed at step $at but its first step is $first"
done

identical=no
if [ "$fail" = 0 ]; then
  if python3 "$compare" ref.ckpt run.ckpt >cmp.txt 2>&1; then
    identical=yes
  else
    say_fail "final checkpoint differs from the uninterrupted run's: $(head -n 3 cmp.txt)"
  fi
  python3 "$compare" ref.ckpt.best run.ckpt.best >cmp-best.txt 2>&1 \
    || say_fail "final best checkpoint differs from the uninterrupted run's: $(head -n 3 cmp-best.txt)"
  # A kill between the final save and the exit leaves a finished checkpoint, which the next
  # resume must leave as it is (no second validation of the last step, no bad_validations + 1).
  cp run.ckpt again.ckpt
  if "$attn" train --resume again.ckpt --threads 1 -q 2>again.err; then
    python3 "$compare" ref.ckpt again.ckpt >cmp-again.txt 2>&1 \
      || say_fail "resuming the finished checkpoint changed it: $(head -n 3 cmp-again.txt)"
  else
    say_fail "resuming the finished checkpoint failed: $(cat again.err)"
  fi
  "$attn" decode -m ref.ckpt --threads 1 --max-len 16 <decode.in >ref.hyp 2>/dev/null
  "$attn" decode -m run.ckpt --threads 1 --max-len 16 <decode.in >run.hyp 2>/dev/null
  [ -s ref.hyp ] && cmp -s ref.hyp run.hyp || say_fail "the two models decode differently"
fi
[ "$temps" = 0 ] || echo "kill9: $temps temporary files were left by kills; none was taken for the checkpoint"
echo "$kills kills, $resumes resumes, $restarts restarts from scratch, $in_write kills during a checkpoint write, final parameters identical: $identical"
[ "$missed" = 0 ] || echo "kill9: $missed kill(s) missed: the run finished first"
[ "$kills" -ge 1 ] || [ "$n" = 0 ] || say_fail "no kill landed"
exit $fail
