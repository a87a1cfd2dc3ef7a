#pragma once
// The one BLAS entry point of attn. Every matrix product (dense layers, per-head and
// per-batch-item attention products addressed through pointer offsets and leading
// dimensions) goes through gemm()/gemv() on raw row-major pointers; no views, no 3-D dot.
// The implementation lives alone in blas.cpp because <cblas.h> and xtensor-blas clash.
#include <cstddef>

namespace attn {

// C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C, all row-major.
// op(A) = A ([M,K], lda >= K) or Aᵀ (A stored [K,M], lda >= M); likewise for B.
// ldc >= N. M == 1 or N == 1 dispatch to sgemv (4-5x faster than sgemm for vectors).
// Products of at most 2^20 multiply-adds (op(B) at most 256 KB) run on attn's own kernel
// (small_gemm.h), without OpenBLAS. With threads() > 1, a larger product (gemv: of at least
// 2^17) is split into one single-threaded OpenBLAS call per thread on attn's pool (threads.h),
// by rows or columns of C;
// inside a parallel_for chunk it runs whole on the calling thread.
// beta == 0 overwrites C (NaNs in C do not propagate).
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc);

// One product's arguments, as gemm() takes them.
struct gemm_args {
  bool trans_a = false, trans_b = false;
  std::size_t M = 0, N = 0, K = 0;
  float alpha = 1.0f;
  const float* A = nullptr;
  std::size_t lda = 0;
  const float* B = nullptr;
  std::size_t ldb = 0;
  float beta = 0.0f;
  float* C = nullptr;
  std::size_t ldc = 0;
};

// Two independent products (a layer's dx = dy·wᵀ and dw = xᵀ·dy), either may be null, at once:
// each large one is cut into up to threads() pieces of whole blocks of 32 rows or columns of C
// (its longer side), each piece a single-threaded OpenBLAS call, and the threads take the pieces
// of both, interleaved, as they come free. Two products of equal size rarely take equal time
// (dw sums over few rows into a large C): one product per thread left the faster one's thread
// waiting, one product split over all threads after the other scales worse, and more pieces
// pack the operand they share more often (each piece packs it whole). Every element of C
// is computed by the same call whichever thread runs it: the result does not depend on the
// timing. With one thread, or inside a parallel_for chunk, the two run one after the other.
void gemm_pair(const gemm_args* first, const gemm_args* second);
// Whether gemm_pair runs its two products at once (then their outputs must not share memory
// with each other's inputs).
bool gemm_pair_runs_at_once();

// y[M] = alpha · op(A) · x + beta · y. A stored [rows, cols] row-major with leading dimension
// lda; op(A) = A (y has `rows` entries, x `cols`) or Aᵀ (y has `cols`, x `rows`).
// incx / incy are element strides (a column of a row-major matrix has stride = its lda).
void gemv(bool trans, std::size_t rows, std::size_t cols, float alpha, const float* A, std::size_t lda, const float* x,
          std::size_t incx, float beta, float* y, std::size_t incy);

// The raw cblas_sgemm (row-major) with OpenBLAS's own threading at threads() threads, for
// benchmarks that compare the wrapper against it. (Its worker threads then poll for a while:
// not for use beside attn's parallel loops.)
void cblas_sgemm_raw(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha,
                     const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C,
                     std::size_t ldc);

// The single-threaded cblas_sgemm (row-major) that gemm() calls for a product it neither
// splits nor keeps for its own kernel, for benchmarks comparing the two on small products.
void cblas_sgemm_one_thread(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha,
                            const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C,
                            std::size_t ldc);

}  // namespace attn
