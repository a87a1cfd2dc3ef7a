#!/usr/bin/env bash
# The classic Keras seq2seq-with-attention layout: attn's rnn family against the PyTorch
# reference (../shared/anchors/torch_s2s.py), training speed and peak memory, in the same run.
#
#   bash tests/perf/bench_s2s.sh [ATTN_BINARY] [STEPS] [ROUNDS]    (defaults: build/attn, 60, 3)
#
# Model (both): embedding 64, one-layer LSTM encoder and decoder of 128 units (the decoder starts
# from the encoder's final state), Luong dot attention over the encoder outputs (attn:
# --attention dot), concat [decoder output ; context] -> dense over a 10,000-token vocabulary,
# softmax cross-entropy; RMSprop lr 1e-3, no weight decay, no clipping, no dropout; batch 32,
# source and target length 20; 2 threads.
#
# Data: random tokens, as the reference. For attn, a TSV of random sentences of 19 words from a
# 9,996-word vocabulary on each side (+ <eos> on the source and <bos>/<eos> on the target gives
# length 20 on both sides), and a word vocabulary of 10,000 entries (`attn vocab --type word`,
# 4 specials included), built at run time in a temporary directory.
#
# Speed is target tokens/s in steady state: PyTorch times 20 steps after 3 warm-up steps; attn
# trains STEPS steps and its per-step CSV log gives the rate from step 3 to the last. Peak memory
# is each process's maximum resident set size (`/usr/bin/time -v`). Each round runs attn then
# PyTorch back to back; the figures are per round and the median over rounds.
# The reference script path can be overridden with ATTN_TORCH_S2S=/path/to/torch_s2s.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
attn=$(realpath "${1:-$here/../../build/attn}")
steps=${2:-60}
rounds=${3:-3}
torch_s2s=${ATTN_TORCH_S2S:-$here/../../../shared/anchors/torch_s2s.py}
python=/usr/bin/python3

missing=()
[ -x /usr/bin/time ] || missing+=("time")
$python -c 'import torch' 2>/dev/null || missing+=("python3-torch")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench_s2s: missing ${missing[*]}; install with: apt-get install time python3-torch" >&2
  exit 2
fi
[ -x "$attn" ] || { echo "bench_s2s: no attn binary at $attn (build first, or pass its path)" >&2; exit 2; }
[ -f "$torch_s2s" ] || { echo "bench_s2s: no PyTorch reference at $torch_s2s (set ATTN_TORCH_S2S)" >&2; exit 2; }
[ "$steps" -ge 10 ] || { echo "bench_s2s: STEPS must be at least 10" >&2; exit 2; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# 32 × STEPS sentence pairs (one epoch covers the run), words w0 .. w9995
bash "$here/s2s_pairs.sh" $((32 * steps)) >pairs.tsv
"$attn" vocab --type word --size 10000 --column all -q -o s2s.vocab pairs.tsv

peak_mb() { sed -nE 's/.*Maximum resident set size \(kbytes\): ([0-9]+).*/\1/p' "$1" | awk '{ printf "%.0f", $1 / 1024 }'; }

echo "uptime: $(uptime)"
printf '%-6s %16s %16s %8s %14s %14s\n' round "attn tok/s" "pytorch tok/s" ratio "attn peak MB" "torch peak MB"
for round in $(seq 1 "$rounds"); do
  rm -f attn.csv
  /usr/bin/time -v "$attn" train --arch rnn --train pairs.tsv -v s2s.vocab \
    --embed 64 --hidden 128 --attention dot --dropout 0 \
    --optimizer rmsprop --lr 1e-3 --weight-decay 0 --clip 0 \
    --batch-size 32 --steps "$steps" --seed 1 --threads 2 -q --log attn.csv -o attn.ckpt 2>attn.time
  # the CSV's tokens_per_s is cumulative since the start: time at step k = tokens_k / rate_k
  attn_tps=$(awk -F, '$NF == "train" { n++; tok += $5; cum[n] = tok; sec[n] = tok / $6 }
                      END { printf "%.0f", (cum[n] - cum[3]) / (sec[n] - sec[3]) }' attn.csv)
  /usr/bin/time -v $python "$torch_s2s" >torch.log 2>torch.time
  torch_tps=$(sed -nE 's/.*target tokens\/s=([0-9.]+).*/\1/p' torch.log)
  ratio=$(awk -v a="$attn_tps" -v p="$torch_tps" 'BEGIN { printf "%.2f", a / p }')
  printf '%-6s %16s %16s %7sx %14s %14s\n' "$round" "$attn_tps" "$torch_tps" "$ratio" "$(peak_mb attn.time)" \
    "$(peak_mb torch.time)" | tee -a rounds.txt
done
echo "uptime: $(uptime)"
awk '{ a[NR] = $2; p[NR] = $3; r[NR] = $4 + 0; am[NR] = $5; pm[NR] = $6 }
  function median(v, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
  END {
    n = NR
    printf "\nmedian of %d: attn %.0f target tok/s, PyTorch %.0f; ratio %.2fx (goal: >= 4x); ", n, median(a, n), median(p, n), median(r, n)
    printf "peak RSS attn %.0f MB, PyTorch %.0f MB (%.2fx)\n", median(am, n), median(pm, n), median(am, n) / median(pm, n) }' rounds.txt
