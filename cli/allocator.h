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
// tokens/s and update times that a short calibration predicts (train --plan). ATTN_MALLOC=glibc
// in the environment keeps glibc's own policy, and so does any GLIBC_TUNABLES setting of
// glibc.malloc.* (malloc as the user configured it).
namespace attn::cli {

// Called once by main(), before any subcommand runs. Returns false when the environment's
// GLIBC_TUNABLES chose malloc's policy (nothing changed) or malloc refused the settings.
bool keep_freed_memory();

}  // namespace attn::cli
