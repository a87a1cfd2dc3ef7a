#pragma once
// Matrix products too small for OpenBLAS to pay off: attention's per-(sentence, head) products
// on short sentences (10–60 tokens by 64) number tens of thousands a training step. Each
// cblas_sgemm call takes a buffer from OpenBLAS's allocator under a process-wide lock, which
// two threads calling at once contend for (futex sleeps and wake-ups): 0.7–1.2 µs a call on one
// thread became 2.0–2.4 µs on two. small_gemm reads op(B) in place
// when it is B stored [K,N] with whole SIMD batches of columns (attention's P·v and gradients),
// else packs it into a thread-local buffer, and runs a register-blocked SIMD kernel (8 or 4 rows
// by 2 batches of columns, as the registers allow): no lock, no allocation after a thread's first call.
#include <cstddef>

namespace attn::detail {

// Whether gemm() (blas.h) sends a product of this shape to small_gemm.
bool is_small_gemm(std::size_t M, std::size_t N, std::size_t K);

// C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C, row-major, the contract of gemm(); on
// the calling thread. Each element is its dot product over k in order (one fused multiply-add
// per k), so the result depends only on the operands, not on the thread or the call.
void small_gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
                std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc);

}  // namespace attn::detail
