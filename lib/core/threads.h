#pragma once
// Thread count for BLAS (and attn's own parallel loops). One process-wide setting.

#include <cstddef>
#include <functional>

namespace attn {

// n threads for parallel_for, and so for gemm()/gemv() (blas.h), which split large products
// across them (OpenBLAS itself runs single-threaded inside attn); 0 = all cores. More than the cores this process may
// use is capped to them (a thousand threads only thrash, and OpenBLAS's per-thread buffers can
// exhaust an address-space limit). Returns the count in effect. Call before training/decoding.
int set_threads(int n);
// The cores this process may run on (its CPU affinity), at least 1.
int available_cores();
// The current thread count (>= 1).
int threads();

// Runs fn(begin, end) over [0, n) split into at most threads() contiguous chunks, on a small
// persistent pool; chunks are never smaller than `grain` items. Runs inline when one chunk
// suffices. fn must not call parallel_for itself (nested calls run inline).
// Idle workers poll for the next job for a fraction of a millisecond, then sleep.
void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& fn);

// Inside a parallel_for chunk: which thread runs it, in [0, threads()); 0 outside. Lets
// chunks use per-thread scratch buffers.
int thread_index();
// Whether the calling code runs inside a parallel_for chunk (where parallel_for runs inline).
bool in_parallel_region();

}  // namespace attn
