// The only translation unit that includes <cblas.h> (it clashes with xtensor-blas).
#include "core/blas.h"

#include <cblas.h>

#include <algorithm>

#include "core/small_gemm.h"
#include "core/threads.h"

namespace attn {

namespace {
inline blasint bi(std::size_t n) { return static_cast<blasint>(n); }
inline CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

// Products are split across attn's threads (OpenBLAS runs single-threaded: threads.cpp) in
// blocks of `unit` rows or columns, each thread's share at least `*_min_work` multiply-adds.
constexpr std::size_t unit = 32;
constexpr double gemm_min_work = 1 << 19, gemv_min_work = 1 << 16;

// How many units go to a thread at least, or 0 when the product is too small to split.
std::size_t split_grain(double work, std::size_t units, double min_work) {
  if (threads() < 2 || units < 2 || in_parallel_region() || work < 2 * min_work) return 0;
  return static_cast<std::size_t>(min_work / (work / static_cast<double>(units))) + 1;
}

void sgemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
           std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, tr(trans_a), tr(trans_b), bi(M), bi(N), bi(K), alpha, A, bi(lda), B, bi(ldb), beta, C,
              bi(ldc));
}
}  // namespace

void gemv(bool trans, std::size_t rows, std::size_t cols, float alpha, const float* A, std::size_t lda, const float* x,
          std::size_t incx, float beta, float* y, std::size_t incy) {
  if (rows == 0 || cols == 0) {
    // Empty product: y = beta·y (the reference BLAS does the same; OpenBLAS may not).
    std::size_t n = trans ? cols : rows;
    for (std::size_t i = 0; i < n; ++i) y[i * incy] = beta == 0.0f ? 0.0f : beta * y[i * incy];
    return;
  }
  // Split over y: rows of A (y = A·x) or its columns (y = Aᵀ·x), x whole for each thread.
  const std::size_t out = trans ? cols : rows, units = (out + unit - 1) / unit;
  const std::size_t grain = split_grain(static_cast<double>(rows) * static_cast<double>(cols), units, gemv_min_work);
  if (grain == 0) {
    cblas_sgemv(CblasRowMajor, tr(trans), bi(rows), bi(cols), alpha, A, bi(lda), x, bi(incx), beta, y, bi(incy));
    return;
  }
  parallel_for(units, grain, [&](std::size_t b, std::size_t e) {
    const std::size_t lo = b * unit, n = std::min(out, e * unit) - lo;
    const float* part = trans ? A + lo : A + lo * lda;
    cblas_sgemv(CblasRowMajor, tr(trans), bi(trans ? rows : n), bi(trans ? n : cols), alpha, part, bi(lda), x, bi(incx),
                beta, y + lo * incy, bi(incy));
  });
}

void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (std::size_t i = 0; i < M; ++i)
      for (std::size_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  if (M == 1) {
    // C[1,N] = op(A)[1,K] · op(B)[K,N]  <=>  cᵀ = op(B)ᵀ · a. The row of op(A) has stride 1
    // (A stored [1,K]) or lda (A stored [K,1]).
    // B stored [K,N] (not transposed): y = Bᵀ a -> gemv(trans). B stored [N,K]: y = B a.
    if (trans_b)
      gemv(false, N, K, alpha, B, ldb, A, trans_a ? lda : 1, beta, C, 1);
    else
      gemv(true, K, N, alpha, B, ldb, A, trans_a ? lda : 1, beta, C, 1);
    return;
  }
  if (N == 1) {
    // C[M,1] = op(A)[M,K] · b, b a column of op(B): stride ldb (B stored [K,1]) or 1 (stored [1,K]).
    if (trans_a)
      gemv(true, K, M, alpha, A, lda, B, trans_b ? 1 : ldb, beta, C, ldc);
    else
      gemv(false, M, K, alpha, A, lda, B, trans_b ? 1 : ldb, beta, C, ldc);
    return;
  }
  if (detail::is_small_gemm(M, N, K)) {  // attn's own kernel: no call into OpenBLAS (small_gemm.h)
    detail::small_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Split the longer side of C, so that the operand each thread packs whole (B when the rows
  // are split, A when the columns are) is the smaller one.
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const bool by_rows = M >= N;
  const std::size_t side = by_rows ? M : N, units = (side + unit - 1) / unit;
  const std::size_t grain = split_grain(work, units, gemm_min_work);
  if (grain == 0) {
    sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  parallel_for(units, grain, [&](std::size_t b, std::size_t e) {
    const std::size_t lo = b * unit, n = std::min(side, e * unit) - lo;
    if (by_rows)  // rows lo.. of op(A) and C: A stored [M,K] (row offset) or [K,M] (column offset)
      sgemm(trans_a, trans_b, n, N, K, alpha, trans_a ? A + lo : A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
    else  // columns lo.. of op(B) and C: B stored [K,N] (column offset) or [N,K] (row offset)
      sgemm(trans_a, trans_b, M, n, K, alpha, A, lda, trans_b ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc);
  });
}

void cblas_sgemm_raw(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha,
                     const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C,
                     std::size_t ldc) {
  openblas_set_num_threads(threads());
  sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  openblas_set_num_threads(1);
}

void cblas_sgemm_one_thread(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha,
                            const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C,
                            std::size_t ldc) {
  sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace attn
