#!/usr/bin/env bash
# A Transformer encoder-decoder translating English to French: attn against the PyTorch reference
# (../shared/anchors/torch_nmt_train.py) on the same sentence pairs, for the same steps, in the
# same run. Measures training target tokens/s, greedy decoding output tokens/s (both), beam-5
# decoding output tokens/s (attn), the share of the machine's fp32 GEMM ceiling, the peak RSS of
# each training run, and attn's validation loss at that step (to show a speed change left
# learning quality alone).
#
#   bash tests/perf/bench_nmt.sh [ATTN_BINARY] [STEPS] [HELD_OUT]   (defaults: build/attn, 200, 512)
#
# Data: the bundled examples/data/en-fr.tsv; HELD_OUT pairs (from every 40th) are held out: their
# sources are what both decode, and attn validates on them; the other pairs (21,914 with the
# default) are training.
# Model (both): d=256, 3+3 layers, 4 heads, ff=1024, ReLU, dropout 0.1, pre-LN, learned
# positions, one embedding table for source and target, untied output; Adam lr 5e-4 (linear
# warmup 400 steps, then constant), no weight decay, label smoothing 0.1, clipping at norm 1;
# batches of ~2,000 padded tokens (length-bucketed), sentences cut to 64 tokens; 2 threads.
# Differences the options cannot remove: Adam's beta2 (attn 0.999, the reference 0.98), the
# tokenizers (attn's byte-level BPE 4000 from `attn vocab`; a 4,000-piece
# `spm_train --model_type=bpe` model for PyTorch; both trained on both columns of the training
# pairs), the initialisations and the batch composition.
#
# Speed: training target tokens/s (target tokens + <eos>) after 5 warm-up steps, for both (attn:
# from its --log CSV, whose tokens_per_s is cumulative). Decoding: output tokens/s over the held-out
# sources, batch 64, at most 64 output tokens, <eos> counted, as the reference counts them; attn's
# output is re-tokenized to count it, and the time of loading its checkpoint (decoding an empty
# input) is subtracted. The reference decodes without a KV cache, as PyTorch code usually does.
# GEMM share: useful multiply-adds of the matrix products per target token (non-pad tokens,
# training = 6 flops per multiply-add) × tokens/s, over the best GFLOP/s of
# ../shared/anchors/sgemm.c (OpenBLAS, 2 threads); skipped when it cannot be built.
# The reference path can be overridden with ATTN_TORCH_NMT=/path/to/torch_nmt_train.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/gemm_ceiling.sh"
attn=$(realpath "${1:-$here/../../build/attn}")
steps=${2:-200}
held_out=${3:-512}
pairs=$(realpath "$here/../../examples/data/en-fr.tsv")
torch_nmt=${ATTN_TORCH_NMT:-$here/../../../shared/anchors/torch_nmt_train.py}
sgemm_c=$(dirname "$torch_nmt")/sgemm.c
python=/usr/bin/python3
max_out=64

missing=()
for tool in spm_train spm_encode bc /usr/bin/time; do command -v "$tool" >/dev/null || missing+=("$tool"); done
$python -c 'import torch, sentencepiece' 2>/dev/null || missing+=("python3-torch/python3-sentencepiece")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench_nmt: missing ${missing[*]}; install with: apt-get install sentencepiece python3-torch python3-sentencepiece bc time" >&2
  exit 2
fi
[ -x "$attn" ] || { echo "bench_nmt: no attn binary at $attn (build first, or pass its path)" >&2; exit 2; }
[ -f "$torch_nmt" ] || { echo "bench_nmt: no PyTorch reference at $torch_nmt (set ATTN_TORCH_NMT)" >&2; exit 2; }
[ "$steps" -gt 5 ] 2>/dev/null || { echo "bench_nmt: STEPS must be a number above 5 (5 are warm-up)" >&2; exit 2; }
[ "$held_out" -ge 1 ] 2>/dev/null && [ "$held_out" -le 560 ] ||
  { echo "bench_nmt: HELD_OUT must be a number from 1 to 560" >&2; exit 2; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
peak_mb() { awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$1"; }

awk -v k="$held_out" 'NR % 40 == 0 && ++n <= k' "$pairs" >held.tsv
awk -v k="$held_out" 'NR % 40 != 0 || ++n > k' "$pairs" >train.tsv
cut -f1 held.tsv >sources.txt
(cut -f1 train.tsv; cut -f2 train.tsv) >both.txt
echo "data: $(wc -l <train.tsv) training pairs, $(wc -l <held.tsv) held out; load: $(uptime | sed 's/.*load average: //')"

"$attn" vocab --type bpe --size 4000 --column all -q -o enfr.vocab train.tsv
spm_train --input=both.txt --model_type=bpe --vocab_size=4000 --model_prefix=enfr4k >spm.log 2>&1

# GFLOP per training target token: 6 × multiply-adds of the matrix products for the mean sentence
# (d=256, ff=1024, 3+3 layers; attention scores and weighted sums at the mean lengths; the output
# layer over V entries). Arguments: source tokens, target tokens, pairs, V.
gflop_per_target_token() {
  awk -v s="$1" -v t="$2" -v n="$3" -v V="$4" 'BEGIN {
    d = 256; F = 1024; L = 3; ts = s / n; tt = t / n + 1; r = ts / tt
    enc = L * (4 * d * d + 2 * d * F + 2 * ts * d)                   # per source token
    cross_kv = L * 2 * d * d                                            # per source token
    dec = L * (4 * d * d + 2 * d * d + 2 * d * F + 2 * tt * d + 2 * ts * d)  # per target token
    printf "%.6f", 6 * (r * (enc + cross_kv) + dec + d * V) / 1e9 }'
}
attn_gf=$(gflop_per_target_token "$(cut -f1 train.tsv | "$attn" tokenize -v enfr.vocab | wc -w)" \
  "$(cut -f2 train.tsv | "$attn" tokenize -v enfr.vocab | wc -w)" "$(wc -l <train.tsv)" 4000)
torch_gf=$(gflop_per_target_token "$(cut -f1 train.tsv | spm_encode --model=enfr4k.model --output_format=id | wc -w)" \
  "$(cut -f2 train.tsv | spm_encode --model=enfr4k.model --output_format=id | wc -w)" "$(wc -l <train.tsv)" 4001)

ceiling=$(gemm_ceiling "$sgemm_c")

echo "attn: training $steps steps..."
start=$(now)
/usr/bin/time -v -o attn.time "$attn" train --arch transformer --train train.tsv --valid held.tsv -v enfr.vocab \
  --layers 3 --d-model 256 --heads 4 --ff 1024 --activation relu --norm pre --pos-encoding learned \
  --dropout 0.1 --share-embeddings --tie-output=false --max-len $((max_out + 2)) \
  --optimizer adam --weight-decay 0 --lr 5e-4 --schedule constant --warmup 400 --label-smoothing 0.1 --clip 1 \
  --batch-tokens 2000 --steps "$steps" --valid-every "$steps" --seed 1 --threads 2 \
  --log-every 50 --log attn.csv -o attn.ckpt 2>attn.log
attn_wall=$(since "$start")
grep -E 'step [0-9]+/|valid at' attn.log | sed 's/^/  /'
# tokens_per_s is cumulative since training started: time(step) = tokens so far / tokens_per_s.
attn_tps=$(awk -F, '$NF == "train" { cum += $5; if ($1 == 5) { c5 = cum; t5 = cum / $6 } last_c = cum; last_t = cum / $6 }
  END { printf "%.0f", (last_c - c5) / (last_t - t5) }' attn.csv)
attn_valid=$(awk -F, '$NF == "valid" { l = $3 } END { print l }' attn.csv)
attn_rss=$(peak_mb attn.time)

# Output tokens of a decoding (one hypothesis a line): its tokens + <eos>, at most max_out a line.
output_tokens() { "$attn" tokenize -v enfr.vocab "$1" | awk -v m=$max_out '{ n = NF + 1; s += n > m ? m : n } END { print s + 0 }'; }
decode() {  # decode BEAM OUT: seconds for the held-out sources, less loading the checkpoint
  local t0 load
  t0=$(now)
  "$attn" decode -m attn.ckpt --batch-size 64 --max-len $max_out --beam "$1" --threads 2 -q </dev/null >/dev/null
  load=$(since "$t0")
  t0=$(now)
  "$attn" decode -m attn.ckpt --batch-size 64 --max-len $max_out --beam "$1" --threads 2 -q sources.txt >"$2"
  echo "$(since "$t0") - $load" | bc
}
echo "attn: greedy and beam-5 decoding of $(wc -l <sources.txt) held-out sources..."
greedy_s=$(decode 1 greedy.txt)
beam_s=$(decode 5 beam.txt)
greedy_tok=$(output_tokens greedy.txt)
beam_tok=$(output_tokens beam.txt)
n_src=$(wc -l <sources.txt)
for f in greedy.txt beam.txt; do
  specials=$(grep -oE '<pad>|<bos>' "$f" | wc -l || true)
  [ "$specials" -eq 0 ] || echo "  note: attn's $f output holds $specials <pad>/<bos> token(s)"
  empty=$(grep -c '^$' "$f" || true)
  [ "$empty" -eq 0 ] || echo "  note: $empty of attn's $f lines are empty"
done
paste sources.txt greedy.txt beam.txt | sed -n 1,3p | sed 's/^/  source | greedy | beam 5: /'

echo "pytorch: training $steps steps and greedy decoding..."
start=$(now)
/usr/bin/time -v -o torch.time $python "$torch_nmt" train.tsv enfr4k.model "$steps" sources.txt >torch.log 2>torch.err ||
  { cat torch.err >&2; exit 1; }
torch_wall=$(since "$start")
sed 's/^/  /' torch.log
torch_tps=$(sed -nE 's/.*train_tgt_tok\/s=([0-9.]+).*/\1/p' torch.log)
torch_greedy=$(sed -nE 's/.*greedy_out_tok\/s=([0-9.]+).*/\1/p' torch.log)
torch_len=$(sed -nE 's/.*mean_len=([0-9.]+).*/\1/p' torch.log)
torch_rss=$(peak_mb torch.time)

awk -v at="$attn_tps" -v pt="$torch_tps" -v ag="$greedy_tok" -v gs="$greedy_s" -v ab="$beam_tok" -v bs="$beam_s" \
    -v pg="$torch_greedy" -v pl="$torch_len" -v n="$n_src" -v ar="$attn_rss" -v pr="$torch_rss" \
    -v aw="$attn_wall" -v pw="$torch_wall" -v agf="$attn_gf" -v pgf="$torch_gf" -v c="$ceiling" \
    -v av="$attn_valid" -v steps="$steps" -v load="$(uptime | sed 's/.*load average: //')" 'BEGIN {
  printf "\n%-36s %14s %14s %9s\n", "", "attn", "pytorch", "ratio"
  printf "%-36s %14.0f %14.0f %8.2fx\n", "training target tokens/s", at, pt, at / pt
  if (c != "")
    printf "%-36s %13.1f%% %13.1f%% %9s\n", "  share of the GEMM ceiling", 100 * at * agf / c, 100 * pt * pgf / c, ""
  printf "%-36s %14.0f %14.0f %8.2fx\n", "greedy output tokens/s (batch 64)", ag / gs, pg, ag / gs / pg
  printf "%-36s %14.1f %14.1f\n", "  mean output length (tokens)", ag / n, pl
  printf "%-36s %14.0f %14s\n", "beam-5 output tokens/s (batch 64)", ab / bs, "-"
  printf "%-36s %14.1f %14s\n", "  mean output length (tokens)", ab / n, "-"
  printf "%-36s %14.0f %14.0f %8.2fx\n", "training peak RSS (MB)", ar, pr, ar / pr
  printf "%-36s %14.1f %14.1f\n", "wall s (pytorch: + greedy)", aw, pw
  printf "attn validation loss at step %d: %.4f nats/token (held-out pairs, no smoothing)\n", steps, av
  printf "load average at the end: %s\n", load }'
