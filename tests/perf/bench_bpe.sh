#!/usr/bin/env bash
# Byte-level BPE speed: attn vocab/tokenize against sentencepiece (spm_train/spm_encode, BPE) on
# a few MB of real English + French text, in the same run on the same machine.
#
#   bash tests/perf/bench_bpe.sh [ATTN_BINARY] [RUNS]     (defaults: build/attn, 3)
#
# The corpus is assembled at run time, not committed: the King James Bible (package bible-kjv,
# one verse per line via the `bible` command) and the English msgids + French msgstrs of every
# French gettext catalog installed (msgunfmt, package gettext), capped at ~4 MB.
# attn is single-threaded; spm_train runs with --num_threads=1 and =2 (this machine's cores).
# Each figure is the best of RUNS runs: other processes on the machine only ever add time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
attn=${1:-$here/../../build/attn}
runs=${2:-3}
vocab_size=8000

missing=()
for tool in bible msgunfmt spm_train spm_encode; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench_bpe: missing ${missing[*]}; install with: apt-get install bible-kjv gettext sentencepiece" >&2
  exit 2
fi
[ -x "$attn" ] || { echo "bench_bpe: no attn binary at $attn (build first, or pass its path)" >&2; exit 2; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# --- corpus -------------------------------------------------------------------------------
# Verses only: chapter headings and verse numbers go; -l sets a line width no verse reaches.
bible -l100000 'gen1:1-rev22:21' | grep -E '^ +[0-9]+ ' | sed -E 's/^ +[0-9]+ //' >"$tmp/kjv.txt"
cat >"$tmp/po2txt.awk" <<'AWK'
# Every msgid and msgstr of a PO file as plain text (escapes resolved), without the header entry.
function unq(s) {
  sub(/^[^"]*"/, "", s); sub(/"[ \t]*$/, "", s)
  gsub(/\\n/, "\n", s); gsub(/\\t/, "\t", s); gsub(/\\"/, "\"", s); gsub(/\\\\/, "\\", s)
  return s
}
function flush() {
  if (cur != "" && !(kind == "str" && last_id == "")) printf "%s\n", cur
  if (kind == "id") last_id = cur
  cur = ""
}
/^msgid(_plural)? / { flush(); kind = "id"; cur = unq($0); next }
/^msgstr/ { flush(); kind = "str"; cur = unq($0); next }
/^"/ { cur = cur unq($0); next }
{ flush(); kind = "" }
END { flush() }
AWK
find /usr/share/locale -path '*/fr/LC_MESSAGES/*.mo' | LC_ALL=C sort | while read -r mo; do
  msgunfmt "$mo" 2>/dev/null || true
done | awk -f "$tmp/po2txt.awk" | grep -av '^$' >"$tmp/catalogs.txt"
head -c 4000000 "$tmp/catalogs.txt" | sed '$d' >"$tmp/fr_en.txt"  # whole lines only
cat "$tmp/kjv.txt" "$tmp/fr_en.txt" >"$tmp/corpus.txt"
bytes=$(wc -c <"$tmp/corpus.txt")
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
catalogs=$(find /usr/share/locale -path '*/fr/LC_MESSAGES/*.mo' | wc -l)
echo "corpus: $mb MB, $(wc -l <"$tmp/corpus.txt") lines ($(wc -c <"$tmp/kjv.txt") bytes KJV + $(wc -c <"$tmp/fr_en.txt") bytes from $catalogs fr catalogs)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); best of $runs runs each"
echo

# --- timing -------------------------------------------------------------------------------
now() { date +%s.%N; }
best() {  # best NAME CMD... : runs CMD $runs times, sets $best_time (seconds)
  local name=$1; shift
  best_time=
  for _ in $(seq 1 "$runs"); do
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>"$tmp/stderr" || { echo "bench_bpe: $name failed: $(tail -3 "$tmp/stderr")" >&2; exit 1; }
    t1=$(now)
    best_time=$(awk -v a="$t0" -v b="$t1" -v m="$best_time" 'BEGIN { t = b - a; if (m == "" || t < m) m = t; printf "%.3f", m }')
  done
}

best "attn vocab" "$attn" vocab --type bpe --size $vocab_size -q -o "$tmp/attn.vocab" "$tmp/corpus.txt"
attn_train=$best_time
best "spm_train (1 thread)" spm_train --input="$tmp/corpus.txt" --model_prefix="$tmp/spm1" --model_type=bpe \
  --vocab_size=$vocab_size --num_threads=1
spm_train1=$best_time
best "spm_train (2 threads)" spm_train --input="$tmp/corpus.txt" --model_prefix="$tmp/spm" --model_type=bpe \
  --vocab_size=$vocab_size --num_threads=2
spm_train2=$best_time

best "attn tokenize" "$attn" tokenize -v "$tmp/attn.vocab" -o "$tmp/attn.ids" "$tmp/corpus.txt"
attn_encode=$best_time
best "spm_encode" sh -c "spm_encode --model='$tmp/spm.model' --output_format=id <'$tmp/corpus.txt' >'$tmp/spm.ids'"
spm_encode=$best_time

# Sanity: the figures mean nothing unless attn's output is right.
"$attn" tokenize -v "$tmp/attn.vocab" -d "$tmp/attn.ids" | cmp -s - "$tmp/corpus.txt" \
  || { echo "bench_bpe: attn round trip is not exact" >&2; exit 1; }
[ "$(wc -l <"$tmp/attn.ids")" = "$(wc -l <"$tmp/spm.ids")" ] || { echo "bench_bpe: line counts differ" >&2; exit 1; }

rate() { awk -v b="$bytes" -v t="$1" 'BEGIN { printf "%.1f MB/s", b / 1048576 / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
printf '%-42s %8s s   %s\n' "attn vocab --type bpe --size $vocab_size" "$attn_train" "$(rate "$attn_train")"
printf '%-42s %8s s   %s\n' "spm_train --model_type=bpe --num_threads=1" "$spm_train1" "$(rate "$spm_train1")"
printf '%-42s %8s s   %s\n' "spm_train --model_type=bpe --num_threads=2" "$spm_train2" "$(rate "$spm_train2")"
printf '%-42s %8s s   %s, %s tokens\n' "attn tokenize (ids)" "$attn_encode" "$(rate "$attn_encode")" "$(wc -w <"$tmp/attn.ids")"
printf '%-42s %8s s   %s, %s tokens\n' "spm_encode --output_format=id" "$spm_encode" "$(rate "$spm_encode")" "$(wc -w <"$tmp/spm.ids")"
echo
echo "training: attn is $(ratio "$spm_train1" "$attn_train")x faster than spm_train with 1 thread, $(ratio "$spm_train2" "$attn_train")x with 2 (goal: >= 1x)"
echo "encoding: attn has $(ratio "$spm_encode" "$attn_encode")x spm_encode's throughput (goal: >= 2x)"
