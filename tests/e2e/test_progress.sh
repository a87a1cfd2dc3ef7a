#!/usr/bin/env bash
# The progress line of tokenize, decode, attention and eval (tests/cli/test_progress.cpp tests its timing):
# on a terminal (a pty from `script`) an input that takes more than a second shows
# "attn CMD: N lines, R lines/s" rewritten with \r and cleared at the end; with stderr on a file,
# with -q, or with the output on that terminal there is none, and the output is the same bytes.
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=$src/examples/data
cd "$tmp" || exit 1
if ! command -v script >/dev/null; then echo "SKIP: no script(1) for a terminal"; exit 0; fi

# A slow input: a few lines, a pause past the 1 s delay, a few more. A script file, not an exported
# function: script(1) runs $SHELL, and dash (a common /bin/sh) drops exported bash functions.
cat >slow <<'EOS'
#!/usr/bin/env bash
printf '%s\n' "$@" | head -3; sleep 1.4; printf '%s\n' "$@" | tail -n +4
EOS
chmod +x slow
slow() { ./slow "$@"; }
"$attn" vocab -q --type word --size 40 --column all -o w.vocab "$data/reverse-train.tsv" || fail=1
mapfile -t words < <(cut -f1 "$data/reverse-train.tsv" | head -8)
printf '%s\n' "${words[@]}" >src.txt

on_tty() {  # on_tty OUT COMMAND...: runs COMMAND with stdin, stdout and stderr on a pty; OUT gets the terminal's text
  local out=$1; shift
  SHELL=$(command -v bash) script -qec "$*" /dev/null >"$out" </dev/null  # script runs $SHELL -c; the quoting is bash's
}

# tokenize
on_tty tty.txt "bash -c './slow \"\$@\" | $attn tokenize -v w.vocab -o tty.ids' _ $(printf '%q ' "${words[@]}")" || fail=1
grep -q $'\rattn tokenize: [0-9]* lines, [0-9]* lines/s' tty.txt || { echo "FAIL: tokenize on a terminal shows no progress line: $(cat -A tty.txt | head -c 300)"; fail=1; }
grep -q $'\r\x1b\[K' tty.txt || { echo "FAIL: tokenize leaves its progress line on the terminal"; fail=1; }
slow "${words[@]}" | "$attn" tokenize -v w.vocab -o file.ids 2>err.txt || fail=1
[ -s err.txt ] && { echo "FAIL: tokenize with stderr on a file wrote: $(cat -A err.txt | head -c 300)"; fail=1; }
cmp -s tty.ids file.ids || { echo "FAIL: tokenize output differs with a progress line"; fail=1; }
on_tty q.txt "bash -c './slow \"\$@\" | $attn tokenize -q -v w.vocab -o q.ids' _ $(printf '%q ' "${words[@]}")" || fail=1
grep -q 'lines/s' q.txt && { echo "FAIL: tokenize -q shows a progress line"; fail=1; }

# decode, on a model trained for a few steps
"$attn" train --arch transformer --layers 1 --d-model 16 --heads 2 --ff 32 --steps 3 --max-len 16 \
  --train "$data/reverse-train.tsv" -v w.vocab --threads 1 -q -o m.ckpt 2>train.err \
  || { echo "FAIL: training: $(tail -3 train.err)"; fail=1; }
on_tty dtty.txt "bash -c './slow \"\$@\" | $attn decode --threads 1 -m m.ckpt -o tty.hyp' _ $(printf '%q ' "${words[@]}")" || fail=1
grep -q $'\rattn decode: 8 lines, [0-9]* lines/s' dtty.txt || { echo "FAIL: decode on a terminal shows no progress line: $(cat -A dtty.txt | head -c 300)"; fail=1; }
slow "${words[@]}" | "$attn" decode --threads 1 -m m.ckpt -o file.hyp 2>derr.txt || fail=1
[ -s derr.txt ] && { echo "FAIL: decode with stderr on a file wrote: $(cat -A derr.txt | head -c 300)"; fail=1; }
cmp -s tty.hyp file.hyp || { echo "FAIL: decode output differs with a progress line"; fail=1; }
# attention and eval (eval: lines read, then examples scored)
mapfile -t pairs < <(head -8 "$data/reverse-train.tsv")
for cmd in "attention -o tty.csv" "eval"; do
  name=${cmd%% *}
  on_tty "$name.txt" "bash -c './slow \"\$@\" | $attn $cmd --threads 1 -m m.ckpt' _ $(printf '%q ' "${pairs[@]}")" || fail=1
  grep -q $'\rattn '"$name"': [0-9]* lines, [0-9]* lines/s' "$name.txt" ||
    { echo "FAIL: $name on a terminal shows no progress line: $(cat -A "$name.txt" | head -c 300)"; fail=1; }
  slow "${pairs[@]}" | "$attn" $cmd --threads 1 -m m.ckpt >/dev/null 2>"$name.err" || fail=1
  [ -s "$name.err" ] && { echo "FAIL: $name with stderr on a file wrote: $(cat -A "$name.err" | head -c 300)"; fail=1; }
done
# Output on the same terminal (no -o): no progress line running into it.
on_tty same.txt "bash -c './slow \"\$@\" | $attn decode --threads 1 -m m.ckpt' _ $(printf '%q ' "${words[@]}")" || fail=1
grep -q 'lines/s' same.txt && { echo "FAIL: decode writing to the terminal shows a progress line"; fail=1; }
[ "$(grep -c . same.txt)" = 8 ] || { echo "FAIL: decode to the terminal wrote $(grep -c . same.txt) lines, expected 8"; fail=1; }
# A fast run (under a second) shows nothing, even on a terminal.
on_tty fast.txt "$attn decode --threads 1 -m m.ckpt -o fast.hyp src.txt" || fail=1
grep -q 'lines/s' fast.txt && { echo "FAIL: a fast decode shows a progress line"; fail=1; }

[ $fail = 0 ] && echo "PASS: progress line"
exit $fail
