#!/usr/bin/env bash
# Disk full while `attn train` writes its checkpoint: the write fails, attn says so in one line
# naming the file and exits 1, the previous checkpoint is byte-identical and still loads, and
# no temporary file is left behind.
#
#   bash tests/reliability/disk_full.sh [ATTN] [--ulimit-only]    (ATTN: default build/attn)
#
# Cases, each resuming a 10-step checkpoint with `attn train --resume CKPT --steps 20`:
#   ulimit, final save    `ulimit -f` below the checkpoint's size: write() fails with EFBIG
#                         (attn ignores SIGXFSZ, which would otherwise kill it mid-write)
#   ulimit, periodic save the same at the first --save-every save, in the middle of the run
#   tmpfs                 the checkpoint on a tmpfs with room for 1.5 checkpoints (ENOSPC);
#                         needs root and mount(2): skipped with a message where not permitted
# Exit 0 when every case that ran passed, 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
attn=$root/build/attn
ulimit_only=0
for a in "$@"; do
  case $a in
    --ulimit-only) ulimit_only=1 ;;
    *) attn=$a ;;
  esac
done
[ -x "$attn" ] || { echo "disk_full: no attn binary at $attn" >&2; exit 2; }
attn=$(cd "$(dirname "$attn")" && pwd)/$(basename "$attn")
data=$root/examples/data

fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
mnt=
cleanup() {
  [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

head -400 "$data/reverse-train.tsv" >train.tsv
"$attn" vocab -q --type word --size 30 --column all -o digits.vocab train.tsv || exit 1
"$attn" train --arch transformer --train train.tsv -v digits.vocab --layers 1 --d-model 32 --heads 2 --ff 64 \
  --batch-size 32 --max-len 32 --steps 10 --seed 3 --threads 1 -q -o base.ckpt || { echo "FAIL: the base run"; exit 1; }
size=$(wc -c <base.ckpt)

# check_case NAME DIR RC: the properties after a run that could not write DIR/m.ckpt.
check_case() {
  local name=$1 dir=$2 rc=$3 err=$tmp/err.txt before=$fail
  fail=0
  if [ "$rc" = 153 ]; then
    say_fail "$name: killed by SIGXFSZ (exit 153): attn must ignore it and report the failed write"
  elif [ "$rc" != 1 ]; then
    say_fail "$name: exit $rc, expected 1: $(head -c 300 "$err")"
  fi
  [ "$(wc -l <"$err")" -eq 1 ] || say_fail "$name: expected a one-line error, got: $(cat "$err")"
  grep -q "^attn train: .*'[^']*m\.ckpt'" "$err" || say_fail "$name: the error does not name m.ckpt: $(cat "$err")"
  cmp -s "$dir/m.ckpt" base.ckpt || say_fail "$name: the previous checkpoint changed"
  "$attn" inspect "$dir/m.ckpt" >/dev/null 2>&1 || say_fail "$name: the previous checkpoint no longer loads"
  local left
  left=$(cd "$dir" && ls -A | grep -v '^m\.ckpt$')
  [ -z "$left" ] || say_fail "$name: left behind: $left"
  [ "$fail" = 1 ] || echo "ok: $name: exit $rc, $(cat "$err")"
  [ "$before" = 0 ] || fail=1
}

# ulimit -f counts 1024-byte blocks; half the checkpoint's size fails the write halfway.
blocks=$((size / 1024 / 2))
for variant in final periodic; do
  rm -rf "u-$variant" && mkdir "u-$variant" && cp base.ckpt "u-$variant/m.ckpt"
  extra=(--save-every 0)
  [ "$variant" = periodic ] && extra=(--save-every 5)
  # (the group's 2>/dev/null silences bash's own "File size limit exceeded" should attn die of it)
  { (ulimit -f "$blocks" && exec "$attn" train --resume "u-$variant/m.ckpt" --steps 20 "${extra[@]}" --threads 1 -q) \
    2>err.txt; } 2>/dev/null
  check_case "ulimit -f $blocks, $variant save" "u-$variant" $?
done

if [ "$ulimit_only" = 1 ]; then
  :
elif [ "$(id -u)" != 0 ]; then
  echo "skipped: tmpfs case (mounting a tmpfs needs root)"
else
  mkdir tmpfs
  kb=$(((size + size / 2) / 1024))
  if mount -t tmpfs -o "size=${kb}k" tmpfs "$tmp/tmpfs" 2>mount.err; then
    mnt=$tmp/tmpfs
    cp base.ckpt tmpfs/m.ckpt
    "$attn" train --resume tmpfs/m.ckpt --steps 20 --save-every 0 --threads 1 -q 2>err.txt
    rc=$?
    grep -q "No space left on device" err.txt || say_fail "tmpfs: the error does not say the disk is full: $(cat err.txt)"
    check_case "tmpfs of ${kb} KiB, final save" tmpfs $rc
    umount "$mnt" && mnt=
  else
    echo "skipped: tmpfs case (mount not permitted here: $(head -n 1 mount.err))"
  fi
fi
exit $fail
