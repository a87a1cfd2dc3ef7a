// The only translation unit that includes <cblas.h> (it clashes with xtensor-blas).
#include "core/blas.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <vector>

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

namespace {

// A block of rows (by_rows) or columns of one product's C: [lo, lo + n).
struct gemm_piece {
  const gemm_args* g;
  bool by_rows;
  std::size_t lo, n;
};

// g's pieces: a product too small to be worth cutting (or one gemm() would not send to
// OpenBLAS) is one piece, run through gemm(); a larger one is cut along the longer side of C
// into up to `most` pieces of whole units, each of at least 2^20 multiply-adds.
void cut(const gemm_args& g, std::size_t most, std::vector<gemm_piece>& out) {
  const double work = static_cast<double>(g.M) * static_cast<double>(g.N) * static_cast<double>(g.K);
  const bool by_rows = g.M >= g.N;
  const std::size_t side = by_rows ? g.M : g.N, units = (side + unit - 1) / unit;
  const bool whole = g.M <= 1 || g.N <= 1 || g.K == 0 || detail::is_small_gemm(g.M, g.N, g.K);
  const std::size_t pieces =
      whole ? 1
            : std::max<std::size_t>(1, std::min({most, units, static_cast<std::size_t>(work / (2 * gemm_min_work))}));
  if (pieces == 1) {
    out.push_back({&g, by_rows, 0, side});
    return;
  }
  for (std::size_t p = 0; p < pieces; ++p) {  // units split as evenly as they go
    const std::size_t b = units * p / pieces * unit, e = std::min(side, units * (p + 1) / pieces * unit);
    out.push_back({&g, by_rows, b, e - b});
  }
}

void run_piece(const gemm_piece& p) {
  const gemm_args& g = *p.g;
  if (p.lo == 0 && p.n == (p.by_rows ? g.M : g.N)) {  // the whole product: gemm() picks the kernel
    gemm(g.trans_a, g.trans_b, g.M, g.N, g.K, g.alpha, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc);
  } else if (p.by_rows) {  // rows lo.. of op(A) and C: A stored [M,K] (row offset) or [K,M] (column offset)
    sgemm(g.trans_a, g.trans_b, p.n, g.N, g.K, g.alpha, g.trans_a ? g.A + p.lo : g.A + p.lo * g.lda, g.lda, g.B, g.ldb,
          g.beta, g.C + p.lo * g.ldc, g.ldc);
  } else {  // columns lo.. of op(B) and C: B stored [K,N] (column offset) or [N,K] (row offset)
    sgemm(g.trans_a, g.trans_b, g.M, p.n, g.K, g.alpha, g.A, g.lda, g.trans_b ? g.B + p.lo * g.ldb : g.B + p.lo, g.ldb,
          g.beta, g.C + p.lo, g.ldc);
  }
}

}  // namespace

bool gemm_pair_runs_at_once() {
  return threads() > 1 && !in_parallel_region();
}

void gemm_pair(const gemm_args* first, const gemm_args* second) {
  auto empty = [](const gemm_args* g) { return g == nullptr || g->M == 0 || g->N == 0; };
  if (empty(first) || empty(second) || !gemm_pair_runs_at_once()) {
    for (const gemm_args* g : {first, second})
      if (!empty(g))
        gemm(g->trans_a, g->trans_b, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B, g->ldb, g->beta, g->C, g->ldc);
    return;
  }
  // threads() pieces each: a piece packs its product's other operand whole, so every piece more
  // packs it again (measured, a Transformer step's time in OpenBLAS's packing: 8.7 % on one
  // thread; on two, 12.9 % with 2 × threads pieces, 10.5 % with threads; scaling 88 -> 92 %)
  const auto most = static_cast<std::size_t>(threads());
  std::vector<gemm_piece> a, b, pieces;
  cut(*first, most, a);
  cut(*second, most, b);
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {  // interleaved: both advance at once
    if (i < a.size()) pieces.push_back(a[i]);
    if (i < b.size()) pieces.push_back(b[i]);
  }
  std::atomic<std::size_t> next{0};
  parallel_for(static_cast<std::size_t>(threads()), 1, [&](std::size_t, std::size_t) {
    for (std::size_t i; (i = next.fetch_add(1)) < pieces.size();) run_piece(pieces[i]);
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
