#!/usr/bin/env bash
# A GPT-style language model on the King James Bible: attn against the PyTorch reference
# (../shared/anchors/torch_lm_train.py) on the same split, for the same steps, in the same run.
#
#   bash tests/perf/bench_kjv_lm.sh [ATTN_BINARY] [STEPS]     (defaults: build/attn, 600)
#
# Model (both): d=256, 4 layers, 4 heads, ff=1024, GELU, pre-LN, learned positions, untied
# output, no dropout; 128-token context, batch 16; AdamW lr 1e-3 (linear warmup 200 steps, then
# constant), weight decay 0.01, no clipping; 2 threads. Tokenizers: attn's byte-level BPE 4096
# (`attn vocab`) and a 4,096-piece `spm_train --model_type=bpe` model for PyTorch, both trained
# on the training split. Quality is validation bits per byte, which does not depend on the
# tokenizer: total cross-entropy in bits / UTF-8 bytes (each line + 1), over non-overlapping
# 128-token windows. Speed is training tokens/s (steps × 16 × 128 / training seconds).
# GEMM share: useful multiply-adds of the matrix products per token (training = 6 flops per
# multiply-add; causal attention over (T+1)/2 keys on average) × tokens/s, over the best GFLOP/s of
# ../shared/anchors/sgemm.c (OpenBLAS, 2 threads), as bench_nmt.sh; skipped when it cannot be built.
#
# Data, built at run time (not committed): every verse of the KJV (package bible-kjv), one per
# line, verse numbers removed; every 20th verse is the validation split, the rest is training.
# The reference script path can be overridden with ATTN_TORCH_LM=/path/to/torch_lm_train.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/gemm_ceiling.sh"
attn=$(realpath "${1:-$here/../../build/attn}")
steps=${2:-600}
torch_lm=${ATTN_TORCH_LM:-$here/../../../shared/anchors/torch_lm_train.py}
sgemm_c=$(dirname "$torch_lm")/sgemm.c
python=/usr/bin/python3

missing=()
for tool in bible spm_train; do command -v "$tool" >/dev/null || missing+=("$tool"); done
$python -c 'import torch, sentencepiece' 2>/dev/null || missing+=("python3-torch/python3-sentencepiece")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench_kjv_lm: missing ${missing[*]}; install with: apt-get install bible-kjv sentencepiece python3-torch python3-sentencepiece" >&2
  exit 2
fi
[ -x "$attn" ] || { echo "bench_kjv_lm: no attn binary at $attn (build first, or pass its path)" >&2; exit 2; }
[ -f "$torch_lm" ] || { echo "bench_kjv_lm: no PyTorch reference at $torch_lm (set ATTN_TORCH_LM)" >&2; exit 2; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
bible -l100000 'gen1:1-rev22:21' | grep -E '^ +[0-9]+ ' | sed -E 's/^ +[0-9]+ //; s/[[:space:]]+$//' >kjv.txt
awk 'NR % 20 == 0' kjv.txt >valid.txt
awk 'NR % 20 != 0' kjv.txt >train.txt
echo "data: $(wc -l <train.txt) training verses ($(wc -c <train.txt) bytes), $(wc -l <valid.txt) validation ($(wc -c <valid.txt) bytes)"

"$attn" vocab --type bpe --size 4096 -o kjv.vocab train.txt 2>/dev/null
spm_train --input=train.txt --model_prefix=spm --vocab_size=4096 --model_type=bpe >spm.log 2>&1

ceiling=$(gemm_ceiling "$sgemm_c")
# GFLOP per training token, the same for both (d=256, ff=1024, 4 layers, context 128, 4,096 entries)
gflop=$(awk 'BEGIN { d = 256; F = 1024; L = 4; T = 128; V = 4096
  printf "%.6f", 6 * (L * (4 * d * d + 2 * d * F + 2 * d * (T + 1) / 2) + d * V) / 1e9 }')

echo "attn: training $steps steps..."
start=$(date +%s.%N)
"$attn" train --arch lm --train train.txt --valid valid.txt -v kjv.vocab \
  --layers 4 --d-model 256 --heads 4 --ff 1024 --activation gelu --norm pre --max-len 128 \
  --pos-encoding learned --tie-output=false --dropout 0 \
  --optimizer adamw --lr 1e-3 --schedule constant --warmup 200 --weight-decay 0.01 --clip 0 \
  --batch-size 16 --steps "$steps" --valid-every "$steps" --seed 1 --threads 2 \
  --log-every 100 --log attn.csv -o attn.ckpt 2>attn.log
attn_wall=$(echo "$(date +%s.%N) - $start" | bc)
grep -E 'step [0-9]+/|valid at' attn.log | sed 's/^/  /'
attn_tps=$(awk -F, '$NF == "train" { t = $6 } END { print t }' attn.csv)
attn_bpb=$(awk -F, '$NF == "valid" { b = $10 } END { print b }' attn.csv)

echo "pytorch: training $steps steps..."
start=$(date +%s.%N)
$python "$torch_lm" train.txt valid.txt spm.model "$steps" >torch.log 2>&1
torch_wall=$(echo "$(date +%s.%N) - $start" | bc)
sed 's/^/  /' torch.log
torch_tps=$(sed -nE 's/.*train_tokens\/s=([0-9.]+).*/\1/p' torch.log)
torch_bpb=$(sed -nE 's/.*valid_bits_per_byte=([0-9.]+).*/\1/p' torch.log)

printf '\n%-8s %14s %16s %10s\n' "" "valid bits/B" "train tokens/s" "wall s"
printf '%-8s %14.4f %16.0f %10.1f\n' attn "$attn_bpb" "$attn_tps" "$attn_wall"
printf '%-8s %14.4f %16.0f %10.1f\n' pytorch "$torch_bpb" "$torch_tps" "$torch_wall"
awk -v a="$attn_bpb" -v p="$torch_bpb" -v at="$attn_tps" -v pt="$torch_tps" 'BEGIN {
  printf "attn bits/byte %+.2f%% vs PyTorch (goal: within 2%%); attn speed %.2fx PyTorch (goal: >= 1.5x)\n",
    100 * (a - p) / p, at / pt }'
if [ -n "$ceiling" ]; then
  awk -v at="$attn_tps" -v pt="$torch_tps" -v g="$gflop" -v c="$ceiling" 'BEGIN {
    printf "share of the GEMM ceiling (%.1f GFLOP/s): attn %.1f%%, PyTorch %.1f%% (%.2f GFLOP per token)\n",
      c, 100 * at * g / c, 100 * pt * g / c, g }'
fi
