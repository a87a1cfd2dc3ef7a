#!/usr/bin/env bash
# --plan's predictions against the runs they predict, for each family on the bundled data (and
# an lm fine-tuned with --lora): the predicted time per update, time of the run and peak memory
# of `attn train|finetune ... --plan --json`, then the same command run for real: its time per
# update in steady state from its --log (the cumulative tokens / tokens_per_s at each step,
# from the end of the third update to the last: the first updates of a process are its warm-up,
# which the plan predicts apart), the whole loop's time (the same clock at the last step) and
# its peak resident size from GNU time (%M). Not a test: timings depend on the machine and its
# load.
#
#   bash tests/perf/bench_plan.sh [BUILD_DIR] [STEPS] [THREADS] [CASES]   (defaults: build, 30, 2, all)
#
# CASES: some of lm transformer rnn classifier finetune lora lora-accum, in one argument.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-$here/../../build}")
steps=${2:-30}
threads=${3:-2}
cases=${4:-lm transformer rnn classifier finetune lora lora-accum}
attn=$build/attn
data=$here/../../examples/data
[ -x /usr/bin/time ] || { echo "bench_plan: /usr/bin/time missing; install with: apt-get install time" >&2; exit 2; }
[ -x "$attn" ] || { echo "bench_plan: no $attn (build first)" >&2; exit 2; }
[ "$steps" -ge 3 ] 2>/dev/null || { echo "bench_plan: STEPS must be a number >= 3" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

cp "$data/kjv-genesis.txt" gen.txt
head -8000 "$data/en-fr.tsv" >enfr.tsv
head -3000 "$data/en-fr.tsv" | cut -f1 >en.txt
cp "$data/sentiment-train.tsv" sent.tsv
"$attn" vocab --type bpe --size 1000 gen.txt -o gen.vocab 2>/dev/null
"$attn" vocab --type bpe --size 2000 --column all enfr.tsv -o enfr.vocab 2>/dev/null
"$attn" vocab --type word --size 500 --column 2 sent.tsv -o sent.vocab 2>/dev/null

echo "bench_plan: $(date -u '+%Y-%m-%d %H:%M UTC'), $threads threads, $steps steps, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %11s %11s %7s   %9s %9s %7s   %9s %9s %7s\n' case "pred s/upd" "meas s/upd" off \
  "pred run" "meas run" off "pred MB" "meas MB" off

# bench NAME COMMAND ARGS...
bench() {
  local name=$1; shift
  [[ " $cases " == *" $name "* ]] || return 0
  "$attn" "$@" --steps "$steps" --threads "$threads" -q -o "$name.ckpt" --plan --json >"$name.json"
  /usr/bin/time -f %M -o "$name.rss" "$attn" "$@" --steps "$steps" --threads "$threads" -q -o "$name.ckpt" \
    --log "$name.csv" --log-every 1
  python3 - "$name" "$name.json" "$name.csv" "$(tail -1 "$name.rss")" <<'EOF'
import csv, json, sys
name, plan, log, kb = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], float(sys.argv[4])
rows = [r for r in csv.DictReader(open(log)) if r.get("split", "train") in ("", "train") and r["tokens_per_s"]]
seen, times = 0, []
for r in rows:  # the loop's clock at each step: tokens since the start / tokens per second since the start
    seen += float(r["tokens"])
    times.append(seen / float(r["tokens_per_s"]))
skip = min(3, len(times) - 2)
measured = (times[-1] - times[skip - 1]) / (len(times) - skip)
predicted = plan["time"]["seconds_per_update"]
pr = plan["time"]["run_seconds"] - plan["run"]["validations"] * plan["time"]["validation_seconds"]
pm, mm = plan["memory"]["peak"] / 1e6, kb * 1024 / 1e6
off = lambda p, m: f"{100 * (p / m - 1):+6.1f}%"
print(f"{name:<12} {predicted:11.4f} {measured:11.4f} {off(predicted, measured)}   "
      f"{pr:9.2f} {times[-1]:9.2f} {off(pr, times[-1])}   {pm:9.1f} {mm:9.1f} {off(pm, mm)}")
EOF
}

bench lm train --arch lm --train gen.txt -v gen.vocab --layers 4 --d-model 128 --heads 4 --ff 512 --max-len 128 \
  --batch-size 16
bench transformer train --arch transformer --train enfr.tsv -v enfr.vocab --layers 3 --d-model 128 --heads 4 \
  --ff 512 --batch-tokens 2048
bench rnn train --arch rnn --train enfr.tsv -v enfr.vocab --embed 128 --hidden 256 --batch-tokens 2048
bench classifier train --arch classifier --train sent.tsv -v sent.vocab --layers 2 --d-model 128 --heads 4 \
  --ff 512 --batch-size 64
"$attn" train --arch lm --train gen.txt -v gen.vocab --layers 4 --d-model 128 --heads 4 --ff 512 --max-len 128 \
  --batch-size 16 --steps 5 --threads "$threads" -q -o base.ckpt
bench finetune finetune -m base.ckpt --train en.txt --batch-size 16
bench lora finetune -m base.ckpt --train en.txt --batch-size 16 --lora 8
bench lora-accum finetune -m base.ckpt --train en.txt --batch-size 8 --accum-steps 2 --lora 8
