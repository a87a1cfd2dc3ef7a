#!/usr/bin/env bash
# The `attn` command itself: help, version, unknown commands and options, exit codes, one-line errors.
set -u
attn=$1
fail=0
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fail=1; fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$attn" >"$tmp/out" 2>"$tmp/err"; check "attn (no args)" 0 $?
for c in vocab tokenize train finetune decode attention eval inspect; do
  grep -q "^  $c " "$tmp/out" || { echo "FAIL: overview does not list $c"; fail=1; }
done
"$attn" help >/dev/null; check "attn help" 0 $?
"$attn" --help >/dev/null; check "attn --help" 0 $?
"$attn" --version >"$tmp/out"; check "attn --version" 0 $?
grep -Eq '^attn [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || { echo "FAIL: --version prints '$(cat "$tmp/out")'"; fail=1; }

"$attn" frobnicate 2>"$tmp/err"; check "unknown command" 2 $?
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^attn: unknown command 'frobnicate'" "$tmp/err" \
  || { echo "FAIL: unknown command message: $(cat "$tmp/err")"; fail=1; }

for c in vocab tokenize train finetune decode attention eval inspect; do
  "$attn" "$c" --help >"$tmp/out" 2>&1; check "$c --help" 0 $?
  grep -q "usage: attn $c" "$tmp/out" || { echo "FAIL: $c --help shows no usage line"; fail=1; }
done
# --threads is accepted by every subcommand and validated.
"$attn" vocab --help | grep -q -- "--threads" || { echo "FAIL: vocab --help lists no --threads"; fail=1; }
printf 'a b c\n' >"$tmp/t.txt"
"$attn" vocab --threads 1 --type char --size 10 -o "$tmp/v" "$tmp/t.txt" 2>/dev/null; check "--threads 1" 0 $?
"$attn" vocab --threads -3 --type char --size 10 -o "$tmp/v" "$tmp/t.txt" 2>"$tmp/err"; check "--threads -3" 2 $?
grep -q "^attn vocab: --threads" "$tmp/err" || { echo "FAIL: --threads -3 message: $(cat "$tmp/err")"; fail=1; }
exit $fail
