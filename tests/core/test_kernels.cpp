// Row kernels and vector helpers against direct double-precision formulas.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels.h"
#include "core/kernels_inline.h"
#include "core/rng.h"

using namespace attn;

namespace {
std::vector<float> randv(std::size_t n, rng& gen, float std = 1.0f) {
  std::vector<float> v(n);
  for (float& x : v) x = gen.normal(0.0f, std);
  return v;
}
}  // namespace

TEST_CASE("softmax_row with a valid prefix; logsumexp; log_softmax") {
  rng gen(1);
  for (std::size_t n : {1, 5, 16, 17, 100}) {
    auto x = randv(n, gen, 4.0f);
    for (std::size_t valid : {std::size_t{0}, std::size_t{1}, n / 2, n}) {
      std::vector<float> y(n, -5.0f);
      kernels::softmax_row(n, valid, x.data(), y.data());
      double m = -1e30, z = 0;
      for (std::size_t j = 0; j < valid; ++j) m = std::max(m, static_cast<double>(x[j]));
      for (std::size_t j = 0; j < valid; ++j) z += std::exp(x[j] - m);
      for (std::size_t j = 0; j < n; ++j) {
        if (j < valid)
          REQUIRE(y[j] == doctest::Approx(std::exp(x[j] - m) / z).epsilon(1e-5));
        else
          REQUIRE(y[j] == 0.0f);
      }
    }
    double m = -1e30, z = 0;
    for (float v : x) m = std::max(m, static_cast<double>(v));
    for (float v : x) z += std::exp(v - m);
    CHECK(kernels::logsumexp_row(n, x.data()) == doctest::Approx(m + std::log(z)).epsilon(1e-6));
    std::vector<float> ls(n);
    kernels::log_softmax_row(n, x.data(), ls.data());
    CHECK(ls[0] == doctest::Approx(x[0] - (m + std::log(z))).epsilon(1e-5));
  }
  // Large logits do not overflow.
  std::vector<float> big{1000.0f, 1000.0f, -1000.0f};
  std::vector<float> y(3);
  kernels::softmax_row(3, 3, big.data(), y.data());
  CHECK(y[0] == doctest::Approx(0.5));
  CHECK(y[2] == 0.0f);
  CHECK(kernels::logsumexp_row(3, big.data()) == doctest::Approx(1000.0 + std::log(2.0)));
}

TEST_CASE("dot, max, sum_squares, axpy, scale") {
  rng gen(2);
  for (std::size_t n : {1, 15, 16, 33, 1000, 5000}) {
    auto a = randv(n, gen), b = randv(n, gen);
    double d = 0, ss = 0, mx = -1e30;
    for (std::size_t i = 0; i < n; ++i) {
      d += static_cast<double>(a[i]) * b[i];
      ss += static_cast<double>(a[i]) * a[i];
      mx = std::max(mx, static_cast<double>(a[i]));
    }
    CHECK(kernels::dot(n, a.data(), b.data()) == doctest::Approx(d).epsilon(1e-4).scale(1));
    CHECK(kernels::sum_squares(n, a.data()) == doctest::Approx(ss).epsilon(1e-5));
    CHECK(kernels::max(n, a.data()) == static_cast<float>(mx));
    auto y = b;
    kernels::axpy(n, 2.0f, a.data(), y.data());
    CHECK(y[n - 1] == doctest::Approx(b[n - 1] + 2.0f * a[n - 1]));
    kernels::scale(n, 0.5f, y.data());
    CHECK(y[0] == doctest::Approx(0.5f * (b[0] + 2.0f * a[0])));
  }
}

TEST_CASE("add_col_sums with a leading dimension") {
  std::vector<float> x{1, 2, 3, 100, 4, 5, 6, 100};  // [2,3] block, ld 4
  std::vector<float> out{10, 0, 0};
  kernels::add_col_sums(2, 3, x.data(), 4, out.data());
  CHECK(out == std::vector<float>{15, 7, 9});
}

TEST_CASE("cross_entropy_row and its backward") {
  rng gen(4);
  const std::size_t V = 23;
  auto x = randv(V, gen, 2.0f);
  for (float eps : {0.0f, 0.1f}) {
    float lse = 0;
    const float loss = kernels::cross_entropy_row(V, x.data(), 5, eps, &lse);
    double m = -1e30, z = 0;
    for (float v : x) m = std::max(m, static_cast<double>(v));
    for (float v : x) z += std::exp(v - m);
    const double l = m + std::log(z);
    double ref = 0;
    for (std::size_t j = 0; j < V; ++j) ref -= ((1 - eps) * (j == 5) + eps / V) * (x[j] - l);
    CHECK(lse == doctest::Approx(l).epsilon(1e-6));
    CHECK(loss == doctest::Approx(ref).epsilon(1e-5));
    std::vector<float> d(V, 1.0f);
    kernels::cross_entropy_backward_row(V, x.data(), 5, eps, lse, 2.0f, d.data());
    for (std::size_t j = 0; j < V; ++j)
      CHECK(d[j] == doctest::Approx(1.0 + 2.0 * (std::exp(x[j] - l) - ((1 - eps) * (j == 5) + eps / V))).epsilon(1e-5));
  }
}

TEST_CASE("lstm_forward_row and lstm_backward_row against the gate formulas") {
  rng gen(9);
  const std::size_t H = 37;  // not a multiple of the SIMD width
  std::vector<float> pre = randv(4 * H, gen), cp = randv(H, gen), dh = randv(H, gen), dc = randv(H, gen);
  std::vector<float> a = pre, c(H), tc(H), h(H);
  kernels::lstm_forward_row(H, a.data(), cp.data(), c.data(), tc.data(), h.data());
  auto sig = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  for (std::size_t j = 0; j < H; ++j) {
    const double i = sig(pre[j]), f = sig(pre[H + j]), g = std::tanh(pre[2 * H + j]), o = sig(pre[3 * H + j]);
    const double cc = f * cp[j] + i * g;
    CHECK(a[j] == doctest::Approx(i).epsilon(1e-5));
    CHECK(a[H + j] == doctest::Approx(f).epsilon(1e-5));
    CHECK(a[2 * H + j] == doctest::Approx(g).epsilon(1e-5));
    CHECK(a[3 * H + j] == doctest::Approx(o).epsilon(1e-5));
    CHECK(c[j] == doctest::Approx(cc).epsilon(1e-5));
    CHECK(tc[j] == doctest::Approx(std::tanh(cc)).epsilon(1e-5));
    CHECK(h[j] == doctest::Approx(o * std::tanh(cc)).epsilon(1e-5));
  }
  // backward: with and without dh / dc; dc_prev aliasing dc
  for (int variant = 0; variant < 3; ++variant) {
    const float* dhp = variant == 1 ? nullptr : dh.data();
    std::vector<float> dcv = dc, dg(4 * H);
    const bool no_dc = variant == 2;
    kernels::lstm_backward_row(H, a.data(), tc.data(), cp.data(), dhp, no_dc ? nullptr : dcv.data(), dg.data(),
                               dcv.data());
    for (std::size_t j = 0; j < H; ++j) {
      const double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], t = tc[j];
      const double dhj = dhp ? dh[j] : 0.0, dct = (no_dc ? 0.0 : dc[j]) + dhj * o * (1 - t * t);
      CHECK(dg[j] == doctest::Approx(dct * g * i * (1 - i)).epsilon(1e-5));
      CHECK(dg[H + j] == doctest::Approx(dct * cp[j] * f * (1 - f)).epsilon(1e-5));
      CHECK(dg[2 * H + j] == doctest::Approx(dct * i * (1 - g * g)).epsilon(1e-5));
      CHECK(dg[3 * H + j] == doctest::Approx(dhj * t * o * (1 - o)).epsilon(1e-5));
      CHECK(dcv[j] == doctest::Approx(dct * f).epsilon(1e-5));
    }
  }
}

TEST_CASE("row_sums: lane i is the sum of batch i's lanes, for every lane") {
  using batch = xsimd::batch<float>;
  constexpr std::size_t W = batch::size;
  std::vector<float> x(W * W);
  for (std::size_t i = 0; i < W; ++i)  // exact in float: small integers, distinct per row and lane
    for (std::size_t j = 0; j < W; ++j) x[i * W + j] = static_cast<float>(100 * i + j * j);
  batch rows[W];
  for (std::size_t i = 0; i < W; ++i) rows[i] = batch::load_unaligned(x.data() + i * W);
  float sums[W];
  kernels::row_sums(rows).store_unaligned(sums);
  for (std::size_t i = 0; i < W; ++i) {
    float expected = 0.0f;
    for (std::size_t j = 0; j < W; ++j) expected += x[i * W + j];
    CAPTURE(i);
    CHECK(sums[i] == expected);
  }
}

TEST_CASE("relu_dropout_backward: g·keep where y > 0, written or added, any length, dx over g") {
  rng gen(31);
  for (const std::size_t n : {1ul, 15ul, 16ul, 17ul, 100ul, 1029ul}) {
    CAPTURE(n);
    const float keep = 1.0f / 0.7f;
    std::vector<float> y = randv(n, gen), g = randv(n, gen), base = randv(n, gen);
    for (std::size_t i = 0; i < n; i += 3) y[i] = 0.0f;  // dropped (or x ≤ 0): relu ⊙ mask is 0
    std::vector<float> written(n, 7.0f), added = base, over = g;
    kernels::relu_dropout_backward(n, y.data(), g.data(), keep, written.data(), false);
    kernels::relu_dropout_backward(n, y.data(), g.data(), keep, added.data(), true);
    kernels::relu_dropout_backward(n, y.data(), over.data(), keep, over.data(), false);
    for (std::size_t i = 0; i < n; ++i) {
      const float want = y[i] > 0.0f ? g[i] * keep : 0.0f;
      CHECK(written[i] == want);
      CHECK(over[i] == want);
      CHECK(added[i] == base[i] + want);
    }
  }
}

TEST_CASE("argmax: the first maximum, as std::max_element, at any length; NaN passed over") {
  rng gen(32);
  for (const std::size_t n : {1ul, 2ul, 15ul, 16ul, 17ul, 33ul, 4000ul, 10001ul}) {
    CAPTURE(n);
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> x = randv(n, gen);
      if (trial % 4 == 1)  // ties: a few values only
        for (float& v : x) v = std::round(v);
      if (trial % 4 == 2)  // the maximum in the tail, or at the very start
        x[trial % 8 == 2 ? n - 1 : 0] = 100.0f;
      if (trial % 4 == 3)
        for (std::size_t i = 0; i < n; i += 2) x[i] = -INFINITY;
      CHECK(kernels::argmax(n, x.data()) ==
            static_cast<std::size_t>(std::max_element(x.begin(), x.end()) - x.begin()));
    }
    std::vector<float> inf(n, -INFINITY);
    CHECK(kernels::argmax(n, inf.data()) == 0);
    std::vector<float> nan(n, NAN);
    CHECK(kernels::argmax(n, nan.data()) == 0);
    if (n >= 2) {
      nan[n - 1] = -5.0f;  // the one number among NaNs
      CHECK(kernels::argmax(n, nan.data()) == n - 1);
    }
  }
}

// The same formulas in different kernels: equal here bit for bit, asserted to rounding (another CPU's
// build may place its fused multiply-adds differently in the two).
TEST_CASE("gelu_value_and_slope: gelu_forward's values and gelu_backward_in_place's slope, d over x") {
  rng gen(33);
  for (const std::size_t n : {1ul, 15ul, 16ul, 17ul, 1000ul}) {
    CAPTURE(n);
    const std::vector<float> x = randv(n, gen, 3.0f), g = randv(n, gen);
    std::vector<float> y(n), d(n), y_ref(n), g_ref = g;
    kernels::gelu_value_and_slope(n, x.data(), y.data(), d.data());
    kernels::gelu_forward(n, x.data(), y_ref.data());
    kernels::gelu_backward_in_place(n, x.data(), g_ref.data());
    std::vector<float> over = x, y_over(n);
    kernels::gelu_value_and_slope(n, over.data(), y_over.data(), over.data());
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(y[i] == doctest::Approx(y_ref[i]).epsilon(1e-6));
      CHECK(g[i] * d[i] == doctest::Approx(g_ref[i]).epsilon(1e-6));
      CHECK(over[i] == d[i]);  // the same kernel, d written over x
      CHECK(y_over[i] == y[i]);
      // and the slope is gelu's derivative: a central difference in double
      const double h = 1e-3, xi = x[i];
      auto gelu = [](double v) { return 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))); };
      CHECK(d[i] == doctest::Approx((gelu(xi + h) - gelu(xi - h)) / (2 * h)).epsilon(1e-3));
    }
  }
}
