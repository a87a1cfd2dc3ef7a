#!/usr/bin/env bash
# The `attn` command itself: help, version, unknown commands and options, exit codes, one-line errors.
set -u
attn=$1
fail=0
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fail=1; fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# no command is a usage error: the overview goes to stderr, nothing to stdout, exit 2
"$attn" >"$tmp/out" 2>"$tmp/err"; check "attn (no args)" 2 $?
[ -s "$tmp/out" ] && { echo "FAIL: attn (no args) wrote to stdout"; fail=1; }
grep -q "^usage: attn <command>" "$tmp/err" || { echo "FAIL: attn (no args) shows no usage on stderr"; fail=1; }
"$attn" help >"$tmp/out" 2>"$tmp/err"; check "attn help" 0 $?
[ -s "$tmp/err" ] && { echo "FAIL: attn help wrote to stderr"; fail=1; }
for c in vocab tokenize train finetune decode attention eval inspect plot merge; do
  grep -q "^  $c " "$tmp/out" || { echo "FAIL: overview does not list $c"; fail=1; }
done
"$attn" help >/dev/null; check "attn help" 0 $?
"$attn" --help >/dev/null; check "attn --help" 0 $?
# the settings attn gives itself at start (cli/startup.h) are named in the overview
"$attn" --help >"$tmp/help" 2>&1
for var in GLIBC_TUNABLES ATTN_MALLOC; do
  grep -q "^  $var" "$tmp/help" || { echo "FAIL: attn --help does not name $var"; fail=1; }
done
"$attn" --version >"$tmp/out"; check "attn --version" 0 $?
grep -Eq '^attn [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || { echo "FAIL: --version prints '$(cat "$tmp/out")'"; fail=1; }

"$attn" frobnicate 2>"$tmp/err"; check "unknown command" 2 $?
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^attn: unknown command 'frobnicate'" "$tmp/err" \
  || { echo "FAIL: unknown command message: $(cat "$tmp/err")"; fail=1; }

for c in vocab tokenize train finetune decode attention eval inspect plot merge; do
  "$attn" "$c" --help >"$tmp/out" 2>&1; check "$c --help" 0 $?
  grep -q "usage: attn $c" "$tmp/out" || { echo "FAIL: $c --help shows no usage line"; fail=1; }
done
# --threads is accepted by every subcommand and validated.
"$attn" vocab --help | grep -q -- "--threads" || { echo "FAIL: vocab --help lists no --threads"; fail=1; }
printf 'a b c\n' >"$tmp/t.txt"
"$attn" vocab --threads 1 --type char --size 10 -o "$tmp/v" "$tmp/t.txt" 2>/dev/null; check "--threads 1" 0 $?
"$attn" vocab --threads -3 --type char --size 10 -o "$tmp/v" "$tmp/t.txt" 2>"$tmp/err"; check "--threads -3" 2 $?
grep -q "^attn vocab: --threads" "$tmp/err" || { echo "FAIL: --threads -3 message: $(cat "$tmp/err")"; fail=1; }

# One option language: a scalar option given twice, the last one wins (wrapper scripts append
# overrides); options that collect values keep every one; boolean options take --flag,
# --flag=false and --no-flag, the last one deciding.
printf 'and god said let there be light\n' >"$tmp/text.txt"
"$attn" vocab --type char --size 5 --size 30 -o "$tmp/v" "$tmp/text.txt" 2>/dev/null; check "--size twice" 0 $?
grep -q " tokens=[0-9]* " "$tmp/v" && [ "$(sed -n 's/.* tokens=\([0-9]*\) .*/\1/p' "$tmp/v")" -gt 5 ] \
  || { echo "FAIL: --size 5 --size 30: the first value won: $(head -1 "$tmp/v")"; fail=1; }
"$attn" vocab --type char --size 30 --special X --special Y -o "$tmp/v2" "$tmp/text.txt" 2>/dev/null
grep -q " specials=6 " "$tmp/v2" || { echo "FAIL: two --special: $(head -1 "$tmp/v2")"; fail=1; }
"$attn" tokenize -v "$tmp/v" -o "$tmp/a" -o "$tmp/b" "$tmp/text.txt"; check "-o twice" 0 $?
[ -e "$tmp/b" ] && [ ! -e "$tmp/a" ] || { echo "FAIL: -o a -o b did not write b alone"; fail=1; }
ids=$("$attn" tokenize -v "$tmp/v" "$tmp/text.txt")
for spelling in "--pieces --no-pieces" "--pieces=false" "--pieces=no --ids" "--no-pieces"; do
  # shellcheck disable=SC2086
  got=$("$attn" tokenize -v "$tmp/v" $spelling "$tmp/text.txt"); check "tokenize $spelling" 0 $?
  [ "$got" = "$ids" ] || { echo "FAIL: tokenize $spelling printed pieces"; fail=1; }
done
for spelling in "--pieces" "--pieces=true" "--no-pieces --pieces" "--pieces=yes"; do
  # shellcheck disable=SC2086
  got=$("$attn" tokenize -v "$tmp/v" $spelling "$tmp/text.txt"); check "tokenize $spelling" 0 $?
  [ "$got" != "$ids" ] || { echo "FAIL: tokenize $spelling printed ids"; fail=1; }
done
"$attn" tokenize -v "$tmp/v" --pieces=maybe "$tmp/text.txt" 2>"$tmp/err"; check "--pieces=maybe" 2 $?
[ "$(wc -l <"$tmp/err")" -eq 1 ] || { echo "FAIL: --pieces=maybe: $(cat "$tmp/err")"; fail=1; }
"$attn" train --no-such-flag 2>"$tmp/err"; check "--no-such-flag" 2 $?
grep -q "unrecognised option '--no-such-flag'" "$tmp/err" || { echo "FAIL: --no-such-flag: $(cat "$tmp/err")"; fail=1; }
exit $fail
