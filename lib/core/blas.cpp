// The only translation unit that includes <cblas.h> (it clashes with xtensor-blas).
#include "core/blas.h"

#include <cblas.h>

namespace attn {

namespace {
inline blasint bi(std::size_t n) { return static_cast<blasint>(n); }
inline CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }
}  // namespace

void gemv(bool trans, std::size_t rows, std::size_t cols, float alpha, const float* A, std::size_t lda, const float* x,
          std::size_t incx, float beta, float* y, std::size_t incy) {
  if (rows == 0 || cols == 0) {
    // Empty product: y = beta·y (the reference BLAS does the same; OpenBLAS may not).
    std::size_t n = trans ? cols : rows;
    for (std::size_t i = 0; i < n; ++i) y[i * incy] = beta == 0.0f ? 0.0f : beta * y[i * incy];
    return;
  }
  cblas_sgemv(CblasRowMajor, tr(trans), bi(rows), bi(cols), alpha, A, bi(lda), x, bi(incx), beta, y, bi(incy));
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
  cblas_sgemm(CblasRowMajor, tr(trans_a), tr(trans_b), bi(M), bi(N), bi(K), alpha, A, bi(lda), B, bi(ldb), beta, C,
              bi(ldc));
}

void cblas_sgemm_raw(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha,
                     const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C,
                     std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, tr(trans_a), tr(trans_b), bi(M), bi(N), bi(K), alpha, A, bi(lda), B, bi(ldb), beta, C,
              bi(ldc));
}

}  // namespace attn
