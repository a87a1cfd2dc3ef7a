#!/usr/bin/env bash
# Data-parallel scaling on this machine: the LM-small model trained by 1 process × 1 thread and
# by 2 MPI processes × 1 thread each, with the same global batch (16 windows of 128 tokens:
# 1 × 16 and 2 × 8), for the same steps, in one run; then the allreduce alone.
#
#   bash tests/perf/bench_mpi.sh [ATTN_BUILD_DIR] [STEPS]     (defaults: build, 30)
#
# Model: d=256, 4 layers, 4 heads, ff=1024, GELU, pre-LN, learned positions, untied output, no
# dropout, AdamW, on the bundled examples/data/kjv-genesis.txt with a 4,096-token BPE vocabulary.
# Prints training tokens/s of both, the speed-up (goal >= 1.8x, i.e. >= 90 % efficiency), and
# the share of the 2-process run's time spent summing gradients (attn's own note).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-$here/../../build}")
steps=${2:-30}
attn=$build/attn
bench_allreduce=$build/tests/perf/attn_bench_allreduce
[ -x "$attn" ] || { echo "bench_mpi: no attn binary at $attn (build first)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "bench_mpi: mpirun not found (apt-get install openmpi-bin)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cp "$here/../../examples/data/kjv-genesis.txt" train.txt
"$attn" vocab --type bpe --size 4096 -o bpe.vocab train.txt 2>/dev/null
model=(--arch lm --train train.txt -v bpe.vocab --layers 4 --d-model 256 --heads 4 --ff 1024 --activation gelu
       --norm pre --max-len 128 --pos-encoding learned --tie-output=false --dropout 0 --optimizer adamw --lr 1e-3
       --clip 0 --steps "$steps" --seed 1 --threads 1 --log-every 1)
tokens_per_s() { awk -F, '$NF == "train" { t = $6 } END { print t }' "$1"; }

echo "load before: $(uptime | sed 's/.*load/load/')"
"$attn" train "${model[@]}" --batch-size 16 --log one.csv -o one.ckpt 2>one.log
mpirun -np 2 --bind-to core "$attn" train "${model[@]}" --batch-size 8 --log two.csv -o two.ckpt 2>two.log
one=$(tokens_per_s one.csv)
two=$(tokens_per_s two.csv)
share=$(sed -n 's/.*processes: \(.*\) spent summing gradients/\1/p' two.log)
params=$("$attn" inspect one.ckpt | sed -n 's/^parameters: \([0-9,]*\).*/\1/p' | tr -d ,)
echo "load after:  $(uptime | sed 's/.*load/load/')"
printf '\n%-26s %16s\n' "" "train tokens/s"
printf '%-26s %16.0f\n' "1 process x 1 thread" "$one" "2 processes x 1 thread" "$two"
awk -v a="$one" -v b="$two" 'BEGIN { printf "speed-up %.2fx (efficiency %.0f %%; goal >= 1.8x)\n", b / a, 50 * b / a }'
echo "2 processes: ${share:-?} summing gradients"
if [ -x "$bench_allreduce" ]; then
  mpirun -np 2 --bind-to core "$bench_allreduce" "$params" 20
fi
