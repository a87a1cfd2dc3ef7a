#!/usr/bin/env bash
# --plan end to end through the real binary, for every family (and finetune: full, --lora, under
# --accum-steps, --resume): it exits 0, writes no file, prints one JSON object (--json) with the
# expected keys and consistent figures, and its predicted peak memory is within 25 % of the peak
# resident size (GNU time's %M) of the same command run for real. The time prediction is not
# checked here (timing is flaky): tests/perf/bench_plan.sh compares it. Usage errors: --json
# without --plan, --plan under mpirun. Single-threaded.
set -u
attn=$1
data=$2/examples/data
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then say_fail "$1: exit $3, expected $2"; fi
}
[ -x /usr/bin/time ] || { echo "FAIL: /usr/bin/time not found (apt-get install time)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

head -400 "$data/kjv-genesis.txt" >gen.txt
head -600 "$data/reverse-train.tsv" >rev.tsv
head -100 "$data/reverse-valid.tsv" >rev-valid.tsv
head -600 "$data/sentiment-train.tsv" >sent.tsv
cut -f1 "$data/en-fr.tsv" | head -300 >en.txt
"$attn" vocab --type char --size 200 gen.txt -o gen.vocab 2>/dev/null
"$attn" vocab --type char --size 40 --column all rev.tsv -o rev.vocab 2>/dev/null &&
  "$attn" vocab --type word --size 200 --column 2 sent.tsv -o sent.vocab 2>/dev/null
check "vocabularies" 0 $?

# checks NAME FILE STEPS: the plan's JSON has every key and its figures agree with each other.
checks() {
  python3 - "$1" "$2" "$3" <<'EOF' || fail=1
import json, sys
name, path, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    p = json.load(open(path))
except Exception as e:
    print(f"FAIL: {name}: the plan is not one JSON object: {e}"); sys.exit(1)
bad = []
for section, keys in {
    "parameters": ["total", "trainable", "frozen", "lora", "tensors", "modules"],
    "optimizer": ["kind", "slots", "state_bytes"],
    "batches": ["processes", "accum_steps", "examples_per_update", "tokens_per_update", "padded_tokens_per_update",
                "updates_per_epoch"],
    "run": ["start_step", "updates", "epochs", "limit", "validations"],
    "memory": ["parameters", "gradients", "optimizer_state", "activations", "checkpoint", "blas_other", "peak"],
    "time": ["calibration_steps", "warmup_seconds", "seconds_per_update", "run_seconds"]}.items():
    for k in keys:
        if k not in p.get(section, {}): bad.append(f"no {section}.{k}")
if bad:
    print(f"FAIL: {name}: " + ", ".join(bad)); sys.exit(1)
q, m, r, b, t = p["parameters"], p["memory"], p["run"], p["batches"], p["time"]
def want(cond, what):
    if not cond: bad.append(what)
want(q["total"] == q["trainable"] + q["frozen"] + q["lora"], "total != trainable + frozen + lora")
want(sum(x["trainable"] + x["frozen"] + x["lora"] for x in q["modules"]) == q["total"], "modules do not add up")
want(m["parameters"] == 4 * q["total"], "parameter bytes != 4 x parameters")
want(m["gradients"] == 4 * (q["trainable"] + q["lora"]), "gradient bytes != 4 x trainable")
want(m["optimizer_state"] == p["optimizer"]["state_bytes"], "two optimizer state sizes")
want(m["optimizer_state"] == 4 * p["optimizer"]["slots"] * (q["trainable"] + q["lora"]), "optimizer bytes")
want(m["activations"] > 0 and m["blas_other"] > 0, "no activations or no rest of the process")
fixed = m["parameters"] + m["gradients"] + m["optimizer_state"] + m["blas_other"]
want(m["peak"] >= fixed + max(m["activations"], m["checkpoint"]) - 1, "peak below its parts")
want(r["updates"] == steps - r["start_step"], f"updates {r['updates']} != --steps {steps} - start")
want(b["updates_per_epoch"] > 0 and abs(r["epochs"] - r["updates"] / b["updates_per_epoch"]) < 1e-9,
     "epochs != updates / updates per epoch")
want(b["examples_per_update"] > 0 and b["tokens_per_update"] > 0, "empty updates")
want(4 <= t["calibration_steps"] <= 8 and t["seconds_per_update"] > 0, "no calibration")
want(t["warmup_seconds"] >= 0, "negative warm-up")
want(abs(t["run_seconds"] - r["updates"] * t["seconds_per_update"] - r["validations"] * t["validation_seconds"]
         - (t["warmup_seconds"] if r["updates"] > 0 else 0)) <= 1e-6 * max(1, t["run_seconds"]),
     "run time != updates x time per update + validations + warm-up")
if bad:
    print(f"FAIL: {name}: " + "; ".join(bad)); sys.exit(1)
EOF
}

# plan NAME STEPS COMMAND ARGS...: --plan --json (no file written, exit 0, consistent), then the
# same command for real under GNU time; the predicted peak within 25 % of the measured one.
plan() {
  local name=$1 steps=$2; shift 2
  mkdir "$name" && cd "$name" || return
  ls -A >../before.txt
  "$attn" "$@" --steps "$steps" --threads 1 -q -o out.ckpt --plan --json >../"$name".json 2>../"$name".err
  local code=$?
  check "$name: --plan" 0 $code
  [ $code = 0 ] || cat ../"$name".err
  ls -A >../after.txt
  cmp -s ../before.txt ../after.txt || say_fail "$name: --plan wrote files: $(cat ../after.txt)"
  cd .. || return
  checks "$name" "$name.json" "$steps"
  # The text form: the same plan, on stdout.
  (cd "$name" && "$attn" "$@" --steps "$steps" --threads 1 -q -o out.ckpt --plan >../"$name".txt 2>/dev/null)
  check "$name: --plan (text)" 0 $?
  grep -q "^peak memory: " "$name.txt" || say_fail "$name: the text plan has no peak memory"
  (cd "$name" && /usr/bin/time -f %M -o ../"$name".rss "$attn" "$@" --steps "$steps" --threads 1 -q -o out.ckpt \
    2>../"$name".run-err)
  check "$name: the real run" 0 $?
  python3 - "$name" "$name.json" "$(tail -1 "$name.rss")" <<'EOF' || fail=1
import json, sys
name, path, kb = sys.argv[1], sys.argv[2], float(sys.argv[3])
predicted, measured = json.load(open(path))["memory"]["peak"], kb * 1024
off = predicted / measured - 1
print(f"{name}: predicted peak {predicted / 1e6:.1f} MB, measured {measured / 1e6:.1f} MB ({100 * off:+.1f} %)")
if abs(off) > 0.25:
    print(f"FAIL: {name}: predicted peak memory is {100 * off:+.1f} % off the measured peak RSS"); sys.exit(1)
EOF
}

lm=(--arch lm --train "$tmp/gen.txt" -v "$tmp/gen.vocab" --layers 2 --d-model 64 --heads 4 --ff 256 --max-len 64 --batch-size 16)
plan lm 6 train "${lm[@]}"
plan transformer 6 train --arch transformer --train "$tmp/rev.tsv" --valid "$tmp/rev-valid.tsv" -v "$tmp/rev.vocab" --layers 2 \
  --d-model 64 --heads 4 --ff 128 --batch-tokens 1024
plan rnn 6 train --arch rnn --train "$tmp/rev.tsv" -v "$tmp/rev.vocab" --embed 32 --hidden 64 --batch-size 32
plan classifier 6 train --arch classifier --train "$tmp/sent.tsv" -v "$tmp/sent.vocab" --layers 2 --d-model 64 --heads 4 --ff 128 \
  --batch-size 32

# finetune: a base lm, then full fine-tuning, LoRA, LoRA under --accum-steps, and --resume.
"$attn" train "${lm[@]}" --steps 4 --threads 1 -q -o base.ckpt
check "the base" 0 $?
cp base.ckpt base-copy.ckpt
plan finetune 6 finetune -m "$tmp/base.ckpt" --train "$tmp/en.txt" --batch-size 16
plan lora 6 finetune -m "$tmp/base.ckpt" --train "$tmp/en.txt" --batch-size 16 --lora 4
plan lora-accum 6 finetune -m "$tmp/base.ckpt" --train "$tmp/en.txt" --batch-size 8 --accum-steps 2 --lora 4
cmp -s base.ckpt base-copy.ckpt || say_fail "the base checkpoint changed"
python3 -c "
import json, sys
p = json.load(open('lora.json'))['parameters']
sys.exit(not (p['lora'] > 0 and p['trainable'] == 0 and p['frozen'] > 0))" || say_fail "lora: parameters not LoRA"
python3 -c "
import json, sys
a, b = json.load(open('lora.json')), json.load(open('lora-accum.json'))
sys.exit(not (b['batches']['accum_steps'] == 2 and
              abs(a['batches']['examples_per_update'] - b['batches']['examples_per_update']) < 1e-9))" ||
  say_fail "lora-accum: --batch-size 8 x --accum-steps 2 is not the update of --batch-size 16"

# --resume: the plan counts the updates still to run, and leaves the checkpoint alone.
"$attn" train "${lm[@]}" --steps 3 --threads 1 -q -o run.ckpt
cp run.ckpt run-copy.ckpt
"$attn" train --resume run.ckpt --steps 8 --threads 1 -q --plan --json >resume.json 2>resume.err
check "--resume --plan" 0 $?
cmp -s run.ckpt run-copy.ckpt || say_fail "--resume --plan changed the checkpoint"
python3 -c "
import json, sys
r = json.load(open('resume.json'))['run']
sys.exit(not (r['start_step'] == 3 and r['updates'] == 5))" || say_fail "--resume --plan: $(cat resume.json | head -c 300)"

# Usage errors: one line, exit 2.
"$attn" train "${lm[@]}" --steps 2 -o x.ckpt --json >/dev/null 2>e.txt
check "--json without --plan" 2 $?
[ "$(wc -l <e.txt)" -eq 1 ] && grep -q -- "--json goes with --plan" e.txt || say_fail "--json alone: $(cat e.txt)"
[ -e x.ckpt ] && say_fail "--json without --plan wrote a checkpoint"
if command -v mpirun >/dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
  timeout 120 mpirun -np 2 --bind-to none "$attn" train "${lm[@]}" --steps 2 --threads 1 -o m.ckpt --plan \
    >/dev/null 2>e.txt
  [ $? -ne 0 ] || say_fail "--plan under mpirun was not refused"
  grep -q -- "--plan runs in one process" e.txt || say_fail "--plan under mpirun: $(cat e.txt)"
  [ -e m.ckpt ] && say_fail "--plan under mpirun wrote a checkpoint"
fi
exit $fail
