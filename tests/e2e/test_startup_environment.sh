#!/usr/bin/env bash
# The settings attn gives itself at start (cli/startup.h), end to end: started without them, attn
# runs with GLIBC_TUNABLES asking for huge pages and the kept-memory thresholds (cli/allocator.h),
# after any tunables the user gave (it executes itself again once, before anything else: the same
# PID). ATTN_MALLOC=glibc, or a glibc.malloc.* setting of the user's, leaves malloc's settings
# alone. OPENBLAS_THREAD_TIMEOUT is no longer set (OpenBLAS runs single-threaded in attn); one of
# the user's is passed on untouched.
# Each case reads the environment of an `attn tokenize` blocked on opening a FIFO.
set -u
attn=$1
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

printf 'a b c\nb c d\n' >text.txt
"$attn" vocab --type word --size 10 text.txt -o text.vocab 2>/dev/null || { echo "FAIL: vocab"; exit 1; }
mkfifo in.fifo

# policy_of [VAR=VALUE...]: "OPENBLAS_THREAD_TIMEOUT ATTN_MALLOC GLIBC_TUNABLES" ("-" for an
# unset one) of attn once it
# waits on the FIFO. /proc shows the environment attn started with (glibc, parsing
# GLIBC_TUNABLES, cuts that copy after the first setting: only its start is compared).
policy_of() {
  env "$@" "$attn" tokenize -v text.vocab in.fifo >/dev/null 2>&1 &
  local pid=$! sleeping=0 tries=0
  # blocked in open(): sleeping, and still so a moment later (a re-execution would run)
  while [ "$sleeping" -lt 3 ] && [ "$tries" -lt 200 ]; do
    sleep 0.05
    tries=$((tries + 1))
    if [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = S ]; then sleeping=$((sleeping + 1)); else sleeping=0; fi
  done
  tr '\0' '\n' <"/proc/$pid/environ" | awk '
    /^OPENBLAS_THREAD_TIMEOUT=/ { sub(/^OPENBLAS_THREAD_TIMEOUT=/, ""); b = $0 }
    /^ATTN_MALLOC=/ { sub(/^ATTN_MALLOC=/, ""); m = $0 }
    /^GLIBC_TUNABLES=/ { sub(/^GLIBC_TUNABLES=/, ""); g = $0 }
    END { print (b == "" ? "-" : b) " " (m == "" ? "-" : m) " " (g == "" ? "-" : g) }'
  : >in.fifo  # opening it for writing lets attn go on (empty input) and end
  wait "$pid"
}

mine="glibc.malloc.hugetlb=1"  # the first of attn's three settings
none="-u GLIBC_TUNABLES -u ATTN_MALLOC -u OPENBLAS_THREAD_TIMEOUT"
# ($none stays unquoted below: several arguments)
got=$(policy_of $none)
case "$got" in "- hugepages $mine"*) ;; *) echo "FAIL: default settings: '$got'"; fail=1 ;; esac

got=$(policy_of $none GLIBC_TUNABLES=glibc.rtld.optional_static_tls=4096)
case "$got" in "- hugepages glibc.rtld.optional_static_tls=4096"*) ;; *) echo "FAIL: the user's other tunables: '$got'"; fail=1 ;; esac

got=$(policy_of $none GLIBC_TUNABLES=glibc.malloc.arena_max=1)
[ "$got" = "- - glibc.malloc.arena_max=1" ] || { echo "FAIL: the user's malloc setting: '$got'"; fail=1; }

got=$(policy_of $none ATTN_MALLOC=glibc)
[ "$got" = "- glibc -" ] || { echo "FAIL: ATTN_MALLOC=glibc: '$got'"; fail=1; }

# an OpenBLAS setting of the user's is passed on, with or without a re-execution for malloc
got=$(policy_of $none OPENBLAS_THREAD_TIMEOUT=28)
case "$got" in "28 hugepages $mine"*) ;; *) echo "FAIL: the user's OPENBLAS_THREAD_TIMEOUT: '$got'"; fail=1 ;; esac
got=$(policy_of $none OPENBLAS_THREAD_TIMEOUT=20 ATTN_MALLOC=glibc)
[ "$got" = "20 glibc -" ] || { echo "FAIL: the user's settings, no re-execution: '$got'"; fail=1; }

# the mark of a second start: no third one, even if GLIBC_TUNABLES was lost (mallopt instead)
got=$(policy_of $none ATTN_MALLOC=hugepages)
[ "$got" = "- hugepages -" ] || { echo "FAIL: ATTN_MALLOC=hugepages without tunables: '$got'"; fail=1; }

# the re-executed attn keeps its arguments, stdin and stdout, and its exit status
out=$(env $none "$attn" tokenize -v text.vocab - <<<"a b")
[ "$(echo "$out" | wc -w)" -eq 2 ] || { echo "FAIL: tokenize through the re-execution printed '$out'"; fail=1; }
env $none "$attn" tokenize --no-such-option 2>/dev/null
[ $? -eq 2 ] || { echo "FAIL: a usage error through the re-execution did not exit 2"; fail=1; }

[ "$fail" -eq 0 ] && echo "startup environment: ok"
exit "$fail"
