#pragma once
// How the C allocator (glibc malloc) treats attn's large, short-lived buffers. By default glibc
// serves every block above a moving threshold (128 KiB at first) with its own mmap and returns
// it to the kernel on free, and trims the heap as soon as its free top passes twice that
// threshold; a training step frees and reallocates its activations and gradients whenever the
// batch's shape changes, so every step page-faults tens of megabytes in again (the kernel
// zeroes each page): measured 2.4 s of system time in the first three updates of a
// Transformer enc-dec and 18 % of a 60-update run. attn keeps freed memory instead: blocks up
// to 32 MiB come from the heap and the heap is not trimmed below 1 GiB of free top. Peak
// resident size is unchanged in kind (the same buffers), plus the heap's fragmentation.
// The cost: the heap keeps what it freed and fragments, so peak resident size grows by 5-18 %
// over a run (measured: enc-dec 1,091 -> 1,142 MB, LM-small 447 -> 496 MB) for 7-13 % more
// tokens/s and update times that a short calibration predicts (train --plan).
//
// And attn asks for transparent huge pages (glibc.malloc.hugetlb=1: malloc marks its heap and its
// mmapped blocks MADV_HUGEPAGE, so that one page fault maps 2 MiB instead of 4 KiB). On this kind
// of virtual machine the first touch of memory is slow: 35-39 us per 4 KiB page in a loop over 400
// MB of fresh pages, half that with MADV_HUGEPAGE; loading a 93 MB checkpoint took 53,500 faults
// and 0.8 s, decoding 256 sentences 26,000 more (measured; docs/decoding.md). glibc reads that
// setting only from GLIBC_TUNABLES when a process starts, and mallopt() has no knob for it, so attn
// sets GLIBC_TUNABLES (the three settings, after any the user gave) and ATTN_MALLOC=hugepages (the
// mark of the second start: there is never a third) and executes itself again, once, before
// anything else happens (startup.h); if that cannot be done (no /proc/self/exe), it carries on
// with mallopt() and 4 KiB pages. Measured on the enc-dec training benchmark: 4-7 % faster, the
// same peak RSS. ATTN_MALLOC=glibc in the environment keeps glibc's own policy, and so does any
// GLIBC_TUNABLES setting of glibc.malloc.* (malloc as the user configured it).
#include <vector>

#include "startup.h"

namespace attn::cli {

// The environment that gives malloc attn's policy from the next start: GLIBC_TUNABLES and the
// mark ATTN_MALLOC=hugepages. Nothing when the environment chose malloc's policy, or on the
// second start.
std::vector<environment_setting> malloc_settings_for_start();

// The same policy through mallopt() (without huge pages), unless the environment chose malloc's
// policy or attn's GLIBC_TUNABLES are in effect: false then, or if malloc refused the settings.
bool set_malloc_policy();

}  // namespace attn::cli
