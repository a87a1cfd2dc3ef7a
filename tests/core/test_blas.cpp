// The gemm/gemv wrapper against a naive triple loop: all transpose combinations, leading
// dimensions wider than the matrices, alpha/beta, the M = 1 / N = 1 gemv paths, attn's kernel for
// small products (every tail of its tiles), one OpenBLAS call, and products large enough to be
// split across two threads (by rows, by columns, with uneven last blocks), and gemm_pair.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/blas.h"
#include "core/rng.h"
#include "core/threads.h"

using namespace attn;

namespace {

// C = alpha·op(A)·op(B) + beta·C on row-major storage, in double.
void naive_gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha, const std::vector<float>& A,
                std::size_t lda, const std::vector<float>& B, std::size_t ldb, float beta, std::vector<double>& C,
                std::size_t ldc) {
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < N; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < K; ++k) {
        const double a = ta ? A[k * lda + i] : A[i * lda + k];
        const double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
      }
      C[i * ldc + j] = alpha * s + beta * C[i * ldc + j];
    }
}

std::vector<float> random_vec(std::size_t n, rng& gen) {
  std::vector<float> v(n);
  for (float& x : v) x = gen.normal();
  return v;
}

void check_case(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, std::size_t pad, float alpha, float beta,
                rng& gen) {
  const std::size_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  const std::vector<float> A = random_vec((ta ? K : M) * lda, gen);
  const std::vector<float> B = random_vec((tb ? N : K) * ldb, gen);
  std::vector<float> C = random_vec(M * ldc, gen);
  std::vector<double> ref(C.begin(), C.end());
  naive_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, ref, ldc);
  const std::vector<float> before = C;
  gemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  for (std::size_t i = 0; i < M; ++i) {
    for (std::size_t j = 0; j < N; ++j)
      REQUIRE(C[i * ldc + j] == doctest::Approx(ref[i * ldc + j]).epsilon(1e-4).scale(1.0));
    // Padding columns of C are never written.
    for (std::size_t j = N; j < ldc; ++j) REQUIRE(C[i * ldc + j] == before[i * ldc + j]);
  }
}

// y = 2·op(A)·x + 0.5·y for both op, x with stride 3 and y with stride 2; A [rows, cols], lda.
void check_gemv(std::size_t rows, std::size_t cols, std::size_t lda, rng& gen) {
  const std::vector<float> A = random_vec(rows * lda, gen);
  for (int trans = 0; trans < 2; ++trans) {
    CAPTURE(trans);
    const std::size_t nx = trans ? rows : cols, ny = trans ? cols : rows;
    const std::vector<float> x = random_vec(nx * 3, gen);  // stride 3
    std::vector<float> y = random_vec(ny * 2, gen);        // stride 2
    const std::vector<float> before = y;
    std::vector<double> ref(ny);
    for (std::size_t i = 0; i < ny; ++i) {
      double s = 0;
      for (std::size_t k = 0; k < nx; ++k) s += static_cast<double>(trans ? A[k * lda + i] : A[i * lda + k]) * x[k * 3];
      ref[i] = 2.0 * s + 0.5 * y[i * 2];
    }
    gemv(trans, rows, cols, 2.0f, A.data(), lda, x.data(), 3, 0.5f, y.data(), 2);
    for (std::size_t i = 0; i < ny; ++i) {
      REQUIRE(y[i * 2] == doctest::Approx(ref[i]).epsilon(1e-4).scale(1.0));
      REQUIRE(y[i * 2 + 1] == before[i * 2 + 1]);  // between the strided entries: untouched
    }
  }
}

}  // namespace

TEST_CASE("gemm matches a naive product for every transpose combination and leading dimension") {
  rng gen(1);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (std::size_t pad : {0, 3}) {
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(pad);
        check_case(ta, tb, 7, 5, 9, pad, 1.0f, 0.0f, gen);
        check_case(ta, tb, 33, 17, 65, pad, 0.5f, 1.0f, gen);
        check_case(ta, tb, 64, 48, 32, pad, -1.5f, 0.25f, gen);
        check_case(ta, tb, 130, 90, 100, pad, 1.0f, 0.5f, gen);  // past the small kernel: one OpenBLAS call
      }
}

TEST_CASE("small products: every tail of the kernel's tiles, both column widths, both packings") {
  // Products of up to 2^20 multiply-adds run on attn's kernel (small_gemm.cpp): tiles of 8 (or
  // 4) rows by one or two batches of 8 or 16 columns, op(B) read in place (B stored [K,N], whole
  // batches of columns; rows 0-2 floats past a batch boundary with the padded ldb) or packed by
  // rows or transposed in 8 x 8 blocks; these sizes leave every kind of remainder, and
  // 128 x 128 x 64 is the largest.
  rng gen(5);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      CAPTURE(ta);
      CAPTURE(tb);
      for (std::size_t M : {2, 3, 4, 5, 9, 20})
        for (std::size_t N : {2, 7, 8, 9, 16, 17, 20, 33, 40, 64})
          for (std::size_t K : {1, 7, 8, 9, 64}) {
            CAPTURE(M);
            CAPTURE(N);
            CAPTURE(K);
            check_case(ta, tb, M, N, K, (M + N + K) % 3, 0.5f, (N % 2) ? 0.0f : -1.0f, gen);
          }
      check_case(ta, tb, 128, 128, 64, 1, 1.0f, 1.0f, gen);
    }
}

TEST_CASE("small products: beta = 0 ignores NaN in C, and threads running them at once agree bit for bit") {
  rng gen(6);
  const std::size_t M = 20, N = 20, K = 64;
  const std::vector<float> A = random_vec(M * K, gen), B = random_vec(N * K, gen);
  std::vector<float> C(M * N, std::nanf("")), from_zero(M * N, 0.0f);
  gemm(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, C.data(), N);
  gemm(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, from_zero.data(), N);
  for (float x : C) REQUIRE(std::isfinite(x));
  CHECK(C == from_zero);  // the NaNs were never read
  // Each thread packs into its own buffer: 64 products of the same operands on two threads give
  // the serial result exactly.
  const int before = threads();
  set_threads(2);
  std::vector<std::vector<float>> out(64, std::vector<float>(M * N));
  parallel_for(out.size(), 1, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i)
      gemm(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, out[i].data(), N);
  });
  set_threads(before);
  for (const auto& o : out) CHECK(o == C);
}

TEST_CASE("gemm: M = 1 and N = 1 go through gemv with the same result") {
  rng gen(2);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (std::size_t pad : {0, 2}) {
        CAPTURE(ta);
        CAPTURE(tb);
        check_case(ta, tb, 1, 37, 19, pad, 1.0f, 0.0f, gen);
        check_case(ta, tb, 1, 8, 40, pad, 2.0f, 1.0f, gen);
        check_case(ta, tb, 23, 1, 11, pad, 1.0f, 0.0f, gen);
        check_case(ta, tb, 6, 1, 30, pad, -0.5f, 0.5f, gen);
        check_case(ta, tb, 1, 1, 13, pad, 1.0f, 1.0f, gen);
      }
}

TEST_CASE("gemm: beta = 0 ignores NaN in C, K = 0 scales C by beta") {
  std::vector<float> A{1, 2, 3, 4}, B{1, 0, 0, 1};
  std::vector<float> C(4, std::nanf(""));
  gemm(false, false, 2, 2, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 2);
  CHECK(C == std::vector<float>{1, 2, 3, 4});
  gemm(false, false, 2, 2, 0, 1.0f, A.data(), 2, B.data(), 2, 0.5f, C.data(), 2);
  CHECK(C == std::vector<float>{0.5f, 1, 1.5f, 2});
  gemm(false, false, 2, 2, 0, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 2);
  CHECK(C == std::vector<float>{0, 0, 0, 0});
}

TEST_CASE("gemv with strides matches a naive product") {
  rng gen(3);
  check_gemv(9, 14, 17, gen);
}

TEST_CASE("on two threads, products large enough to be split give the naive product") {
  // gemm splits the longer side of C in blocks of 32 when each thread gets >= 2^19
  // multiply-adds, gemv its output when each gets >= 2^16 (blas.cpp).
  const int before = threads();
  set_threads(2);
  rng gen(4);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (std::size_t pad : {0, 5}) {
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(pad);
        check_case(ta, tb, 200, 70, 100, pad, 0.5f, 1.0f, gen);  // rows 0-127 and 128-199
        check_case(ta, tb, 40, 300, 100, pad, 1.0f, 0.0f, gen);  // columns 0-159 and 160-299
      }
  check_gemv(300, 500, 509, gen);
  set_threads(before);
}

namespace {

// One product for gemm_pair with its operands (padded leading dimensions) and its naive result.
struct pair_case {
  std::vector<float> A, B, C0;
  std::vector<double> ref;
  gemm_args args;

  pair_case(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float beta, rng& gen) {
    const std::size_t pad = 3, lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    A = random_vec((ta ? K : M) * lda, gen);
    B = random_vec((tb ? N : K) * ldb, gen);
    C0 = random_vec(M * ldc, gen);
    ref.assign(C0.begin(), C0.end());
    naive_gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, beta, ref, ldc);
    args = {ta, tb, M, N, K, 0.5f, A.data(), lda, nullptr, ldb, beta, nullptr, ldc};
    args.B = B.data();
  }
  // A fresh C, for args.C.
  std::vector<float> fresh() const { return C0; }
  void check(const std::vector<float>& C) const {
    for (std::size_t i = 0; i < args.M; ++i) {
      for (std::size_t j = 0; j < args.N; ++j)
        REQUIRE(C[i * args.ldc + j] == doctest::Approx(ref[i * args.ldc + j]).epsilon(1e-4).scale(1.0));
      for (std::size_t j = args.N; j < args.ldc; ++j) REQUIRE(C[i * args.ldc + j] == C0[i * args.ldc + j]);
    }
  }
};

}  // namespace

TEST_CASE("gemm_pair: both products right, the same bits on every run, either may be absent") {
  // Shaped like a layer's dx = dy·wᵀ [300,96] and dw = xᵀ·dy [96,200] (K 200 and 300): large
  // enough to be cut into pieces that the threads take as they come free (blas.cpp).
  const int before = threads();
  rng gen(11);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (float beta : {0.0f, 1.0f}) {
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(beta);
        const pair_case dx(ta, tb, 300, 96, 200, beta, gen), dw(!ta, tb, 96, 200, 300, beta, gen);
        for (int n : {1, 2, 3}) {
          CAPTURE(n);
          set_threads(n);
          std::vector<float> first_x, first_w;
          for (int run = 0; run < 12; ++run) {
            std::vector<float> cx = dx.fresh(), cw = dw.fresh();
            gemm_args a = dx.args, b = dw.args;
            a.C = cx.data();
            b.C = cw.data();
            gemm_pair(&a, &b);
            if (run == 0) {
              dx.check(cx);
              dw.check(cw);
              first_x = cx;
              first_w = cw;
            }
            REQUIRE(cx == first_x);  // whichever thread ran which piece
            REQUIRE(cw == first_w);
          }
          std::vector<float> only = dw.fresh();
          gemm_args b = dw.args;
          b.C = only.data();
          gemm_pair(nullptr, &b);
          dw.check(only);
        }
      }
  // Inside a parallel region the two run one after the other on the calling thread.
  set_threads(2);
  const pair_case p(false, true, 120, 64, 200, 1.0f, gen), q(true, false, 64, 200, 120, 0.0f, gen);
  std::vector<float> cp = p.fresh(), cq = q.fresh();
  parallel_for(2, 1, [&](std::size_t b, std::size_t) {
    if (b != 0) return;
    gemm_args x = p.args, y = q.args;
    x.C = cp.data();
    y.C = cq.data();
    gemm_pair(&x, &y);
  });
  p.check(cp);
  q.check(cq);
  set_threads(before);
}
