#!/usr/bin/env bash
# Reliability smoke run (the full campaigns: tests/reliability/README.md): two kill -9 during
# `attn train --save-every`, each resumed, end bit-identical to an uninterrupted run; and a
# checkpoint write that hits `ulimit -f` fails with a one-line error and exit 1, leaving the
# previous checkpoint intact and no temporary file.
set -u
attn=$1
src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

KILL9_STEPS=80 KILL9_SAVE_EVERY=5 KILL9_VALID_EVERY=20 bash "$src/tests/reliability/kill9.sh" 2 "$attn" >"$tmp/kill9.txt" 2>&1
rc=$?
cat "$tmp/kill9.txt"
[ "$rc" = 0 ] || { echo "FAIL: kill9.sh exited $rc"; fail=1; }
grep -q "^[12] kills, .*final parameters identical: yes$" "$tmp/kill9.txt" \
  || { echo "FAIL: kill9.sh did not end with identical parameters after its kills"; fail=1; }

bash "$src/tests/reliability/disk_full.sh" "$attn" --ulimit-only >"$tmp/disk_full.txt" 2>&1
rc=$?
cat "$tmp/disk_full.txt"
[ "$rc" = 0 ] || { echo "FAIL: disk_full.sh exited $rc"; fail=1; }
[ "$(grep -c '^ok: ulimit' "$tmp/disk_full.txt")" = 2 ] || { echo "FAIL: disk_full.sh did not pass both ulimit cases"; fail=1; }
exit $fail
