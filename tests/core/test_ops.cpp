// Finite-difference gradient checks for every op in core/ops.h, over random shapes with
// batch > 1, padding, causal masks, several heads, label smoothing and pad targets.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "core/error.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/threads.h"

using namespace attn;
using attn::testing::check_gradients;
using attn::testing::fill_normal;
using attn::testing::normal_param;
using attn::testing::fill_uniform;

namespace {

std::size_t dim(rng& gen, std::size_t lo, std::size_t hi) {
  return lo + static_cast<std::size_t>(gen.below(hi - lo + 1));
}

// A second store with copies of the named parameters' values; both stores' gradients zeroed. For
// comparing a fused op with the ops it replaces.
parameter_store twin_of(parameter_store& ps, std::initializer_list<const char*> names) {
  parameter_store twin;
  for (const char* name : names) {
    const matrix& v = ps.at(name).value;
    twin.add(name, v.shape()[0], v.shape()[1]).value = v;
  }
  ps.zero_grad();
  twin.zero_grad();
  return twin;
}

// The named parameters' gradients in a and b are the same bit for bit.
void check_same_grads(parameter_store& a, parameter_store& b, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    CAPTURE(name);
    const matrix& ga = a.at(name).grad;
    const matrix& gb = b.at(name).grad;
    REQUIRE(ga.size() == gb.size());
    CHECK(std::memcmp(ga.data(), gb.data(), ga.size() * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("linear: gradients with and without bias") {
  rng gen(1);
  for (int rep = 0; rep < 3; ++rep) {
    const std::size_t N = dim(gen, 1, 7), in = dim(gen, 1, 9), out = dim(gen, 1, 8);
    parameter_store ps;
    auto& x = normal_param(ps, "x", N, in, gen);
    auto& w = normal_param(ps, "w", in, out, gen);
    auto& b = normal_param(ps, "b", 1, out, gen);
    check_gradients(ps, [&](tape& t) { return linear(t.param(x), t.param(w), t.param(b)); });
    check_gradients(ps, [&](tape& t) { return linear(t.param(x), t.param(w), var{}); });
  }
}

TEST_CASE("linear: forward matches a naive product") {
  rng gen(2);
  parameter_store ps;
  auto& x = normal_param(ps, "x", 3, 4, gen);
  auto& w = normal_param(ps, "w", 4, 5, gen);
  auto& b = normal_param(ps, "b", 1, 5, gen);
  tape t;
  var y = linear(t.param(x), t.param(w), t.param(b));
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 5; ++j) {
      double s = b.value(0, j);
      for (std::size_t k = 0; k < 4; ++k) s += static_cast<double>(x.value(i, k)) * w.value(k, j);
      CHECK(y.value()(i, j) == doctest::Approx(s).epsilon(1e-5));
    }
  CHECK_THROWS_AS(linear(t.param(w), t.param(w), var{}), attn::error);
}

TEST_CASE("matmul: gradients for all transpose combinations") {
  rng gen(3);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const std::size_t M = dim(gen, 1, 6), K = dim(gen, 1, 6), N = dim(gen, 1, 6);
      parameter_store ps;
      auto& a = normal_param(ps, "a", ta ? K : M, ta ? M : K, gen);
      auto& b = normal_param(ps, "b", tb ? N : K, tb ? K : N, gen);
      CAPTURE(ta);
      CAPTURE(tb);
      check_gradients(ps, [&](tape& t) { return matmul(t.param(a), t.param(b), ta, tb); });
    }
}

TEST_CASE("matmul: the same node on both sides accumulates both gradients") {
  rng gen(4);
  parameter_store ps;
  auto& a = normal_param(ps, "a", 4, 4, gen);
  check_gradients(ps, [&](tape& t) {
    var x = scale(t.param(a), 1.0f);  // an intermediate node, so its gradient buffer is the tape's
    return matmul(x, x, false, true);
  });
}

TEST_CASE("add, mul, scale: same shape and row broadcast") {
  rng gen(5);
  parameter_store ps;
  auto& a = normal_param(ps, "a", 5, 3, gen);
  auto& b = normal_param(ps, "b", 5, 3, gen);
  auto& r = normal_param(ps, "r", 1, 3, gen);
  check_gradients(ps, [&](tape& t) { return add(t.param(a), t.param(b)); });
  check_gradients(ps, [&](tape& t) { return add(t.param(a), t.param(r)); });
  check_gradients(ps, [&](tape& t) { return mul(t.param(a), t.param(b)); });
  check_gradients(ps, [&](tape& t) { return mul(t.param(a), t.param(r)); });
  check_gradients(ps, [&](tape& t) { return scale(t.param(a), -1.7f); });
  check_gradients(ps, [&](tape& t) {
    var x = scale(t.param(a), 2.0f);
    return add(x, x);
  });
  tape t;
  CHECK_THROWS_AS(add(t.param(a), t.param(ps.add("bad", 2, 3))), attn::error);
}

TEST_CASE("concat_cols, split_cols, concat_rows, slice_rows") {
  rng gen(6);
  parameter_store ps;
  auto& a = normal_param(ps, "a", 4, 2, gen);
  auto& b = normal_param(ps, "b", 4, 3, gen);
  auto& c = normal_param(ps, "c", 2, 3, gen);
  check_gradients(ps, [&](tape& t) { return concat_cols({t.param(a), t.param(b)}); });
  check_gradients(ps, [&](tape& t) { return concat_rows({t.param(b), t.param(c), t.param(b)}); });
  check_gradients(ps, [&](tape& t) {
    auto parts = split_cols(t.param(b), {1, 2});
    return concat_cols({parts[1], parts[0], parts[1]});
  });
  // One split output unused: its share of the gradient is zero.
  check_gradients(ps, [&](tape& t) { return gelu(split_cols(concat_cols({t.param(a), t.param(b)}), {3, 2})[1]); });
  check_gradients(ps, [&](tape& t) { return slice_rows(concat_rows({t.param(b), t.param(c)}), 1, 4); });

  tape t;
  var s = concat_cols({t.param(a), t.param(b)});
  CHECK(s.value()(2, 0) == a.value(2, 0));
  CHECK(s.value()(2, 4) == b.value(2, 2));
  CHECK_THROWS_AS(slice_rows(t.param(a), 3, 2), attn::error);
  CHECK_THROWS_AS(split_cols(t.param(a), {1, 2}), attn::error);
  CHECK_THROWS_AS(concat_cols({t.param(a), t.param(c)}), attn::error);
}

TEST_CASE("gather_rows and embedding scatter-add repeated rows") {
  rng gen(7);
  parameter_store ps;
  auto& table = normal_param(ps, "table", 6, 4, gen);
  const std::vector<std::int32_t> ids{3, 0, 3, 5, 3, 1};
  check_gradients(ps, [&](tape& t) { return embedding(t.param(table), ids); });
  check_gradients(ps, [&](tape& t) { return gather_rows(t.param(table), {5, 5, 2}); });

  // Direct check of the scatter-add: with an all-ones output gradient, row r gets count(r).
  ps.zero_grad();
  tape t;
  var e = embedding(t.param(table), ids);
  matrix ones_r = matrix::from_shape({1, ids.size()});
  ones_r.fill(1.0f);
  matrix ones_c = matrix::from_shape({4, 1});
  ones_c.fill(1.0f);
  t.backward(matmul(matmul(t.constant(ones_r), e), t.constant(ones_c)));
  CHECK(table.grad(3, 2) == 3.0f);
  CHECK(table.grad(0, 0) == 1.0f);
  CHECK(table.grad(2, 1) == 0.0f);
  CHECK(table.grad(4, 3) == 0.0f);
  CHECK_THROWS_AS(embedding(t.param(table), {6}), attn::error);
  CHECK_THROWS_AS(embedding(t.param(table), {-1}), attn::error);
}

TEST_CASE("pack_rows and unpack_rows move the valid rows of a padded batch, and their gradients back") {
  rng gen(17);
  const std::size_t B = 4, T = 3, d = 5;
  const std::vector<std::int32_t> lengths{3, 1, 0, 2};
  const row_packing p = pack_layout(B, T, lengths);
  REQUIRE(p.rows() == 6);
  CHECK(p.offsets == std::vector<std::int32_t>{0, 3, 4, 4, 6});
  parameter_store ps;
  auto& padded = normal_param(ps, "padded", B * T, d, gen);
  auto& packed = normal_param(ps, "packed", 6, d, gen);
  check_gradients(ps, [&](tape& t) { return pack_rows(t.param(padded), p); });
  check_gradients(ps, [&](tape& t) { return unpack_rows(t.param(packed), p); });
  // a round trip through both, and a product after it, so that both backward passes add
  check_gradients(
      ps, [&](tape& t) { return matmul(unpack_rows(pack_rows(t.param(padded), p), p), t.param(padded), true); });
  // split_cols unpacking as it splits: each block of columns unpacked; one output without gradient
  check_gradients(ps, [&](tape& t) {
    std::vector<var> parts = split_cols(t.param(packed), {2, 1, 2}, &p);
    return concat_cols({parts[0], parts[2]});
  });
  {
    tape t;
    std::vector<var> parts = split_cols(t.param(packed), {2, 3}, &p);
    const matrix& whole = unpack_rows(t.param(packed), p).value();
    for (std::size_t r = 0; r < B * T; ++r)
      for (std::size_t c = 0; c < 3; ++c) CHECK(parts[1].value()(r, c) == whole(r, c + 2));
    CHECK_THROWS_AS(split_cols(t.param(padded), {2, 3}, &p), attn::error);
  }

  tape t;
  const matrix& v = pack_rows(t.param(padded), p).value();
  const matrix& u = unpack_rows(t.param(packed), p).value();
  // packed row i is item b's row r: (b, r) = (0,0) (0,1) (0,2) (1,0) (3,0) (3,1)
  const std::size_t from[6] = {0, 1, 2, 3, 9, 10};
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t c = 0; c < d; ++c) {
      CHECK(v(i, c) == padded.value(from[i], c));
      CHECK(u(from[i], c) == packed.value(i, c));
    }
  for (std::size_t r : {4, 5, 6, 7, 8, 11})  // padding rows of the unpacked batch
    for (std::size_t c = 0; c < d; ++c) CHECK(u(r, c) == 0.0f);
  CHECK_THROWS_AS(pack_rows(t.param(packed), p), attn::error);
  CHECK_THROWS_AS(unpack_rows(t.param(padded), p), attn::error);
  CHECK_THROWS_AS(pack_layout(B, T, {3, 1, 4, 2}), attn::error);
  CHECK_THROWS_AS(pack_layout(B, T, {3, 1}), attn::error);
  CHECK(pack_layout(2, 3, {}).rows() == 6);
}

TEST_CASE("mean_pool over padded sequences") {
  rng gen(8);
  const std::size_t B = 3, T = 4, d = 5;
  parameter_store ps;
  auto& x = normal_param(ps, "x", B * T, d, gen);
  const std::vector<std::int32_t> lengths{4, 2, 1};
  check_gradients(ps, [&](tape& t) { return mean_pool(t.param(x), B, T, lengths); });
  check_gradients(ps, [&](tape& t) { return mean_pool(t.param(x), B, T, {}); });
  tape t;
  var y = mean_pool(t.param(x), B, T, {4, 2, 0});
  CHECK(y.value()(1, 3) == doctest::Approx((x.value(4, 3) + x.value(5, 3)) / 2));
  CHECK(y.value()(2, 0) == 0.0f);
}

TEST_CASE("layer_norm: gradients of x, gain and bias") {
  rng gen(9);
  for (int rep = 0; rep < 3; ++rep) {
    const std::size_t N = dim(gen, 1, 6), d = dim(gen, 2, 37);
    parameter_store ps;
    auto& x = normal_param(ps, "x", N, d, gen, 2.0f);
    auto& g = normal_param(ps, "gain", 1, d, gen);
    auto& b = normal_param(ps, "bias", 1, d, gen);
    for (std::size_t i = 0; i < x.value.size(); ++i) x.value.data()[i] += 3.0f;  // a non-zero mean
    check_gradients(ps, [&](tape& t) { return layer_norm(t.param(x), t.param(g), t.param(b)); });
    check_gradients(ps, [&](tape& t) { return layer_norm(t.param(x), var{}, var{}); });
  }
}

TEST_CASE("layer_norm: normalised rows have mean 0 and variance 1") {
  rng gen(10);
  parameter_store ps;
  auto& x = normal_param(ps, "x", 4, 64, gen, 5.0f);
  tape t;
  var y = layer_norm(t.param(x), var{}, var{}, 0.0f);
  for (std::size_t i = 0; i < 4; ++i) {
    double m = 0, v = 0;
    for (std::size_t j = 0; j < 64; ++j) m += y.value()(i, j);
    m /= 64;
    for (std::size_t j = 0; j < 64; ++j) v += (y.value()(i, j) - m) * (y.value()(i, j) - m);
    CHECK(m == doctest::Approx(0.0).epsilon(1e-5).scale(1));
    CHECK(v / 64 == doctest::Approx(1.0).epsilon(1e-4));
  }
}

TEST_CASE("elementwise nonlinearities: gradients and values") {
  rng gen(11);
  // 37 columns: a full SIMD batch plus a tail.
  parameter_store ps;
  auto& x = normal_param(ps, "x", 3, 37, gen, 2.0f);
  // Keep relu's inputs away from its kink at 0 (finite differences straddle it otherwise).
  for (std::size_t i = 0; i < x.value.size(); ++i)
    if (std::fabs(x.value.data()[i]) < 0.05f) x.value.data()[i] = 0.3f;
  check_gradients(ps, [&](tape& t) { return gelu(t.param(x)); });
  check_gradients(ps, [&](tape& t) { return relu(t.param(x)); });
  check_gradients(ps, [&](tape& t) { return attn::tanh(t.param(x)); });
  check_gradients(ps, [&](tape& t) { return sigmoid(t.param(x)); });
  check_gradients(ps, [&](tape& t) { return softmax(t.param(x)); });

  tape t;
  var px = t.param(x);
  var g = gelu(px), r = relu(px), th = attn::tanh(px), s = sigmoid(px), sm = softmax(px);
  for (std::size_t j = 0; j < 37; ++j) {
    const double v = x.value(1, j);
    const double ge = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    CHECK(g.value()(1, j) == doctest::Approx(ge).epsilon(1e-5).scale(1));
    CHECK(r.value()(1, j) == (v > 0 ? static_cast<float>(v) : 0.0f));
    CHECK(th.value()(1, j) == doctest::Approx(std::tanh(v)).epsilon(1e-5).scale(1));
    CHECK(s.value()(1, j) == doctest::Approx(1 / (1 + std::exp(-v))).epsilon(1e-5).scale(1));
  }
  double sum = 0;
  for (std::size_t j = 0; j < 37; ++j) sum += sm.value()(2, j);
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("dropout: inverted scaling, identity cases, gradient through the kept mask") {
  rng gen(12);
  parameter_store ps;
  auto& x = normal_param(ps, "x", 40, 50, gen);
  check_gradients(ps, [&](tape& t) {
    rng g(99);  // the same mask on every evaluation
    return dropout(t.param(x), 0.3f, g);
  });

  tape t;
  rng g(5);
  var px = t.param(x);
  CHECK(dropout(px, 0.0f, g).id == px.id);
  {
    no_grad ng(t);
    CHECK(dropout(px, 0.5f, g).id == px.id);
  }
  var y = dropout(px, 0.25f, g);
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < x.value.size(); ++i) {
    const float v = y.value().data()[i];
    if (v == 0.0f)
      ++zeros;
    else
      CHECK(v == doctest::Approx(x.value.data()[i] / 0.75f));
  }
  // 2000 Bernoulli(0.25) draws: mean 500, sd ~19.
  CHECK(zeros > 400);
  CHECK(zeros < 600);
  CHECK_THROWS_AS(dropout(px, 1.0f, g), attn::error);
}

TEST_CASE("dropout: the mask is its definition, element by element, for any chunking") {
  // Element i keeps iff half (i % 2) of splitmix64(seed + (i/2 + 1)·φ) is >= p·2³²: the
  // definition resumed runs and recomputed blocks rely on, whatever the vectorisation.
  auto mix = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  for (const float p : {0.1f, 0.5f, 0.9f}) {
    for (const std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{512}, std::size_t{1001}}) {
      const std::uint64_t seed = 12345 + n;
      const std::uint32_t threshold = static_cast<std::uint32_t>(static_cast<double>(p) * 4294967296.0);
      const std::size_t pairs = (n + 1) / 2;
      std::vector<float> whole(n), chunked(n);
      detail::dropout_mask(seed, p, n, 0, pairs, whole.data());
      for (std::size_t k = 0; k < pairs; k += 97)  // chunks not aligned with any block size
        detail::dropout_mask(seed, p, n, k, std::min(pairs, k + 97), chunked.data() + 2 * k);
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t h = mix(seed + (i / 2 + 1) * 0x9e3779b97f4a7c15ULL);
        const std::uint32_t draw = static_cast<std::uint32_t>(i % 2 == 0 ? h : h >> 32);
        const float expected = draw >= threshold ? 1.0f / (1.0f - p) : 0.0f;
        if (whole[i] != expected || chunked[i] != expected) ++wrong;
      }
      CHECK_MESSAGE(wrong == 0, "p=" << p << " n=" << n);
    }
  }
}

TEST_CASE("dropout_matmul: dropout()'s mask, gradients through a fixed mask, no mask off the record") {
  rng gen(14);
  parameter_store ps;
  auto& x = normal_param(ps, "x", 23, 9, gen);  // an odd element count: the last pair is half used
  auto& a = normal_param(ps, "a", 9, 3, gen);
  // the mask is fixed by the seed: the same function on every evaluation
  check_gradients(ps, [&](tape& t) { return dropout_matmul(t.param(x), t.param(a), 0.4f, 777); });

  // The same mask as dropout() drawing its seed from an rng, so the product is bit for bit the same.
  tape t;
  rng g1(3), g2(3);
  var y = dropout_matmul(t.param(x), t.param(a), 0.4f, g1.next_u64());
  var ref = matmul(dropout(t.param(x), 0.4f, g2), t.param(a));
  REQUIRE(y.value().size() == ref.value().size());
  CHECK(std::memcmp(y.value().data(), ref.value().data(), y.value().size() * sizeof(float)) == 0);
  // p = 0, or not recording: matmul(x, a), no mask
  var plain = matmul(t.param(x), t.param(a));
  var zero = dropout_matmul(t.param(x), t.param(a), 0.0f, 1);
  CHECK(std::memcmp(zero.value().data(), plain.value().data(), plain.value().size() * sizeof(float)) == 0);
  {
    no_grad ng(t);
    var off = dropout_matmul(t.param(x), t.param(a), 0.5f, 1);
    CHECK(std::memcmp(off.value().data(), plain.value().data(), plain.value().size() * sizeof(float)) == 0);
  }
  CHECK_THROWS_AS(dropout_matmul(t.param(x), t.param(a), 1.0f, 1), attn::error);
  CHECK_THROWS_AS(dropout_matmul(t.param(a), t.param(a), 0.5f, 1), attn::error);
}

TEST_CASE("add_low_rank: w + s·a·b, gradients of w, a and b; a frozen w gets no gradient") {
  rng gen(15);
  parameter_store ps;
  auto& w = normal_param(ps, "w", 5, 7, gen);
  auto& a = normal_param(ps, "a", 5, 2, gen);
  auto& b = normal_param(ps, "b", 2, 7, gen);
  check_gradients(ps, [&](tape& t) { return add_low_rank(t.param(w), t.param(a), t.param(b), 0.75f); });

  tape t;
  var y = add_low_rank(t.param(w), t.param(a), t.param(b), 0.75f);
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 7; ++j) {
      const float ab = a.value(i, 0) * b.value(0, j) + a.value(i, 1) * b.value(1, j);
      CHECK(y.value()(i, j) == doctest::Approx(w.value(i, j) + 0.75f * ab).epsilon(1e-5));
    }
  // b = 0 (a fresh adapter): exactly w
  matrix wb = b.value;
  b.value.fill(0.0f);
  t.reset();
  var same = add_low_rank(t.param(w), t.param(a), t.param(b), 0.75f);
  CHECK(std::memcmp(same.value().data(), w.value.data(), w.value.size() * sizeof(float)) == 0);
  b.value = wb;
  // frozen w: its gradient buffer stays empty, a's and b's fill
  ps.zero_grad();
  w.trainable = false;
  ps.zero_grad();
  t.reset();
  var z = add_low_rank(t.param(w), t.param(a), t.param(b), 0.75f);
  matrix ones_r = matrix::from_shape({1, 5}), ones_c = matrix::from_shape({7, 1});
  ones_r.fill(1.0f);
  ones_c.fill(1.0f);
  t.backward(matmul(matmul(t.constant(ones_r), z), t.constant(ones_c)));
  CHECK(w.grad.size() == 0);
  CHECK(a.grad.size() == a.value.size());
}

TEST_CASE("attention: gradients over batches, heads, padding and causal masks") {
  rng gen(13);
  struct cfg {
    std::size_t B, Tq, Tk, H, dh, dv;
    bool causal;
    std::vector<std::int32_t> lengths;
    scoring sc;
  };
  const std::vector<cfg> cases{
      {1, 3, 3, 1, 4, 4, false, {}, scoring::scaled_dot},     {2, 4, 5, 2, 3, 2, false, {5, 3}, scoring::scaled_dot},
      {3, 4, 4, 2, 4, 3, true, {}, scoring::scaled_dot},      {2, 5, 5, 3, 2, 2, true, {5, 2}, scoring::dot},
      {2, 2, 5, 2, 3, 3, true, {4, 5}, scoring::scaled_dot},   // KV-cache shape: Tq < Tk
      {2, 3, 4, 1, 4, 4, false, {0, 4}, scoring::scaled_dot},  // a fully padded item
      {2, 4, 2, 2, 3, 3, true, {}, scoring::scaled_dot},       // Tk < Tq: first rows fully masked
      {3, 1, 6, 2, 4, 3, true, {6, 2, 4}, scoring::scaled_dot},  // one decoding step: gemv paths
  };
  for (const cfg& c : cases) {
    CAPTURE(c.B);
    CAPTURE(c.Tq);
    CAPTURE(c.Tk);
    CAPTURE(c.H);
    CAPTURE(c.causal);
    parameter_store ps;
    auto& q = normal_param(ps, "q", c.B * c.Tq, c.H * c.dh, gen);
    auto& k = normal_param(ps, "k", c.B * c.Tk, c.H * c.dh, gen);
    auto& v = normal_param(ps, "v", c.B * c.Tk, c.H * c.dv, gen);
    attention_shape s{c.B, c.Tq, c.Tk, c.H, c.causal, c.lengths};
    check_gradients(ps, [&](tape& t) { return attention(t.param(q), t.param(k), t.param(v), s, c.sc); });
  }
}

TEST_CASE("additive_attention: gradients with padding, causal mask and batches") {
  rng gen(14);
  struct cfg {
    std::size_t B, Tq, Tk, a, dv;
    bool causal;
    std::vector<std::int32_t> lengths;
  };
  const std::vector<cfg> cases{
      {1, 1, 4, 3, 2, false, {}}, {2, 3, 5, 4, 3, false, {5, 2}}, {3, 1, 6, 5, 4, false, {6, 1, 3}},
      {2, 4, 4, 3, 2, true, {}},  {2, 2, 3, 3, 2, false, {0, 3}},
  };
  for (const cfg& c : cases) {
    CAPTURE(c.B);
    CAPTURE(c.Tq);
    CAPTURE(c.Tk);
    parameter_store ps;
    auto& qp = normal_param(ps, "qp", c.B * c.Tq, c.a, gen);
    auto& kp = normal_param(ps, "kp", c.B * c.Tk, c.a, gen);
    auto& sv = normal_param(ps, "score_v", 1, c.a, gen);
    auto& vals = normal_param(ps, "values", c.B * c.Tk, c.dv, gen);
    attention_shape s{c.B, c.Tq, c.Tk, 1, c.causal, c.lengths};
    check_gradients(
        ps, [&](tape& t) { return additive_attention(t.param(qp), t.param(kp), t.param(sv), t.param(vals), s); });
  }
}

TEST_CASE("rope: gradients, norm preservation and relative-position property") {
  rng gen(15);
  const std::size_t B = 2, T = 5, H = 2, dh = 6;
  parameter_store ps;
  auto& x = normal_param(ps, "x", B * T, H * dh, gen);
  check_gradients(ps, [&](tape& t) { return rope(t.param(x), B, T, H, 0); });
  check_gradients(ps, [&](tape& t) { return rope(t.param(x), B, T, H, 7); });

  tape t;
  var y = rope(t.param(x), B, T, H, 3);
  // A rotation keeps each pair's norm; position 0 of offset 0 is the identity.
  for (std::size_t r = 0; r < B * T; ++r)
    for (std::size_t i = 0; i < H * dh; i += 2) {
      const double nx = std::hypot(x.value(r, i), x.value(r, i + 1));
      const double ny = std::hypot(y.value()(r, i), y.value()(r, i + 1));
      CHECK(ny == doctest::Approx(nx).epsilon(1e-5));
    }
  var y0 = rope(t.param(x), B, T, H, 0);
  CHECK(y0.value()(0, 3) == x.value(0, 3));
  // <rope(q, m), rope(k, n)> depends on m - n only.
  matrix qk = matrix::from_shape({2, dh});
  for (std::size_t i = 0; i < qk.size(); ++i) qk.data()[i] = gen.normal();
  auto dot_at = [&](std::size_t m, std::size_t n) {
    matrix a = matrix::from_shape({1, dh}), b = matrix::from_shape({1, dh});
    for (std::size_t j = 0; j < dh; ++j) {
      a(0, j) = qk(0, j);
      b(0, j) = qk(1, j);
    }
    var ra = rope(t.constant(a), 1, 1, 1, m), rb = rope(t.constant(b), 1, 1, 1, n);
    double s = 0;
    for (std::size_t j = 0; j < dh; ++j) s += ra.value()(0, j) * rb.value()(0, j);
    return s;
  };
  CHECK(dot_at(5, 2) == doctest::Approx(dot_at(13, 10)).epsilon(1e-4));
}

TEST_CASE("lstm_cell: gradients through two chained steps") {
  rng gen(16);
  const std::size_t B = 3, H = 4;
  parameter_store ps;
  auto& gx1 = normal_param(ps, "gates_x1", B, 4 * H, gen);
  auto& gx2 = normal_param(ps, "gates_x2", B, 4 * H, gen);
  auto& h0 = normal_param(ps, "h0", B, H, gen);
  auto& c0 = normal_param(ps, "c0", B, H, gen);
  auto& w = normal_param(ps, "w_hh", H, 4 * H, gen, 0.5f);
  // Output h2 and c2 side by side, so both outputs' gradient paths are exercised.
  check_gradients(ps, [&](tape& t) {
    var whh = t.param(w);
    auto [h1, c1] = lstm_cell(t.param(gx1), t.param(h0), t.param(c0), whh);
    auto [h2, c2] = lstm_cell(t.param(gx2), h1, c1, whh);
    return concat_cols({h2, c2});
  });
  // Only h used (the last cell's c gets no gradient).
  check_gradients(ps, [&](tape& t) {
    var whh = t.param(w);
    auto hc = lstm_cell(t.param(gx1), t.param(h0), t.param(c0), whh);
    return lstm_cell(t.param(gx2), hc.first, hc.second, whh).first;
  });
}

TEST_CASE("lstm_cell: forward matches the gate equations") {
  rng gen(17);
  const std::size_t B = 2, H = 3;
  parameter_store ps;
  auto& gx = normal_param(ps, "gx", B, 4 * H, gen);
  auto& h0 = normal_param(ps, "h0", B, H, gen);
  auto& c0 = normal_param(ps, "c0", B, H, gen);
  auto& w = normal_param(ps, "w", H, 4 * H, gen);
  tape t;
  auto [h, c] = lstm_cell(t.param(gx), t.param(h0), t.param(c0), t.param(w));
  auto sig = [](double z) { return 1 / (1 + std::exp(-z)); };
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < H; ++j) {
      double g[4];
      for (std::size_t k = 0; k < 4; ++k) {
        g[k] = gx.value(b, k * H + j);
        for (std::size_t m = 0; m < H; ++m) g[k] += static_cast<double>(h0.value(b, m)) * w.value(m, k * H + j);
      }
      const double cc = sig(g[1]) * c0.value(b, j) + sig(g[0]) * std::tanh(g[2]);
      CHECK(c.value()(b, j) == doctest::Approx(cc).epsilon(1e-5));
      CHECK(h.value()(b, j) == doctest::Approx(sig(g[3]) * std::tanh(cc)).epsilon(1e-5));
    }
}

TEST_CASE("softmax_cross_entropy: gradients with pad targets and label smoothing") {
  rng gen(18);
  const std::size_t N = 7, V = 19;
  parameter_store ps;
  auto& logits = normal_param(ps, "logits", N, V, gen, 2.0f);
  const std::vector<std::int32_t> targets{3, 0, 18, 0, 7, 7, 1};  // pad id 0 below
  for (float eps : {0.0f, 0.1f})
    for (std::int32_t pad : {-1, 0}) {
      CAPTURE(eps);
      CAPTURE(pad);
      check_gradients(ps, [&](tape& t) { return softmax_cross_entropy(t.param(logits), targets, pad, eps); });
    }
}

TEST_CASE("softmax_cross_entropy: value against a direct computation") {
  rng gen(19);
  const std::size_t N = 5, V = 40;
  parameter_store ps;
  auto& logits = normal_param(ps, "logits", N, V, gen, 3.0f);
  const std::vector<std::int32_t> targets{4, -1, 39, 0, -1};
  const float eps = 0.2f;
  tape t;
  std::size_t tokens = 0;
  var loss = softmax_cross_entropy(t.param(logits), targets, -1, eps, &tokens);
  CHECK(tokens == 3);
  double total = 0;
  for (std::size_t r = 0; r < N; ++r) {
    if (targets[r] < 0) continue;
    double m = -1e30, s = 0;
    for (std::size_t j = 0; j < V; ++j) m = std::max(m, static_cast<double>(logits.value(r, j)));
    for (std::size_t j = 0; j < V; ++j) s += std::exp(logits.value(r, j) - m);
    const double lse = m + std::log(s);
    for (std::size_t j = 0; j < V; ++j) {
      const double qj = (1 - eps) * (static_cast<std::int32_t>(j) == targets[r]) + eps / V;
      total -= qj * (logits.value(r, j) - lse);
    }
  }
  CHECK(loss.value()(0, 0) == doctest::Approx(total / 3).epsilon(1e-5));

  // All rows padded: loss 0, zero gradient.
  ps.zero_grad();
  tape t2;
  var l2 = softmax_cross_entropy(t2.param(logits), {-1, -1, -1, -1, -1});
  CHECK(l2.value()(0, 0) == 0.0f);
  t2.backward(l2);
  for (std::size_t i = 0; i < logits.grad.size(); ++i) REQUIRE(logits.grad.data()[i] == 0.0f);
  CHECK_THROWS_AS(softmax_cross_entropy(t2.param(logits), {1, 2, 3, 4, 40}), attn::error);
  CHECK_THROWS_AS(softmax_cross_entropy(t2.param(logits), {1, 2}), attn::error);
}

TEST_CASE("projected_cross_entropy: gradients of h, w and bias, both weight layouts, pad rows, smoothing") {
  rng gen(21);
  const std::size_t N = 6, d = 5, V = 13;
  parameter_store ps;
  auto& h = normal_param(ps, "h", N, d, gen, 1.0f);
  auto& w = normal_param(ps, "w", d, V, gen, 1.0f);   // a linear layer [d,V]
  auto& e = normal_param(ps, "e", V, d, gen, 1.0f);   // a tied embedding [V,d]
  auto& bias = normal_param(ps, "bias", 1, V, gen, 0.5f);
  const std::vector<std::int32_t> targets{3, 0, 12, 5, 0, 1};
  for (float eps : {0.0f, 0.1f})
    for (std::int32_t pad : {-1, 0}) {
      CAPTURE(eps);
      CAPTURE(pad);
      check_gradients(ps, [&](tape& t) {
        return add(projected_cross_entropy(t.param(h), t.param(w), t.param(bias), false, targets, pad, eps),
                   projected_cross_entropy(t.param(h), t.param(e), var{}, true, targets, pad, eps));
      });
    }
}

TEST_CASE("projected_cross_entropy: logits in several chunks of rows, and a loss scaled afterwards") {
  // V = 40,000 classes: chunks of 64 rows (2^21 / V is less), so 150 rows take three chunks.
  rng gen(23);
  const std::size_t N = 150, d = 4, V = 40000;
  for (bool tied : {false, true}) {
    CAPTURE(tied);
    parameter_store a;
    auto& ha = normal_param(a, "h", N, d, gen, 1.0f);
    auto& wa = normal_param(a, "w", tied ? V : d, tied ? d : V, gen, 1.0f);
    auto& ba = normal_param(a, "bias", 1, V, gen, 1.0f);
    parameter_store b = twin_of(a, {"h", "w", "bias"});
    parameter &hb = b.at("h"), &wb = b.at("w"), &bb = b.at("bias");
    std::vector<std::int32_t> targets(N);
    for (std::size_t r = 0; r < N; ++r) targets[r] = r % 7 == 3 ? 0 : static_cast<std::int32_t>((r * 7919) % V);
    tape ta, tb;
    var la = scale(projected_cross_entropy(ta.param(ha), ta.param(wa), tied ? var{} : ta.param(ba), tied, targets, 0,
                                           0.1f),
                   2.5f);
    var logits =
        tied ? matmul(tb.param(hb), tb.param(wb), false, true) : linear(tb.param(hb), tb.param(wb), tb.param(bb));
    var lb = scale(softmax_cross_entropy(logits, targets, 0, 0.1f), 2.5f);
    CHECK(la.value()(0, 0) == doctest::Approx(lb.value()(0, 0)).epsilon(1e-5));
    ta.backward(la);
    tb.backward(lb);
    auto close = [](const matrix& x, const matrix& y) {
      double worst = 0, largest = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        worst = std::max(worst, static_cast<double>(std::abs(x.data()[i] - y.data()[i])));
        largest = std::max(largest, static_cast<double>(std::abs(y.data()[i])));
      }
      return worst <= 1e-4 * largest;
    };
    CHECK(close(ha.grad, hb.grad));
    CHECK(close(wa.grad, wb.grad));
    if (!tied) CHECK(close(ba.grad, bb.grad));
  }
}

TEST_CASE("projected_cross_entropy: the loss, gradients and counts of softmax_cross_entropy over the logits") {
  rng gen(22);
  const std::size_t N = 9, d = 8, V = 31;
  for (bool tied : {false, true}) {
    CAPTURE(tied);
    parameter_store a, b;
    auto& ha = normal_param(a, "h", N, d, gen, 1.0f);
    auto& wa = normal_param(a, "w", tied ? V : d, tied ? d : V, gen, 1.0f);
    auto& ba = normal_param(a, "bias", 1, V, gen, 1.0f);
    auto& hb = b.add("h", N, d);
    auto& wb = b.add("w", tied ? V : d, tied ? d : V);
    auto& bb = b.add("bias", 1, V);
    hb.value = ha.value;
    wb.value = wa.value;
    bb.value = ba.value;
    const std::vector<std::int32_t> targets{4, 0, 30, 7, 0, 1, 2, 9, 15};
    a.zero_grad();
    b.zero_grad();
    tape ta, tb;
    std::size_t tok_a = 0, tok_b = 0, correct = 0;
    var la = projected_cross_entropy(ta.param(ha), ta.param(wa), tied ? var{} : ta.param(ba), tied, targets, 0, 0.1f,
                                     &tok_a, &correct);
    var logits = tied ? matmul(tb.param(hb), tb.param(wb), false, true) : linear(tb.param(hb), tb.param(wb), tb.param(bb));
    var lb = softmax_cross_entropy(logits, targets, 0, 0.1f, &tok_b);
    CHECK(tok_a == 7);
    CHECK(tok_a == tok_b);
    CHECK(la.value()(0, 0) == doctest::Approx(lb.value()(0, 0)).epsilon(1e-5));
    std::size_t expect_correct = 0;
    for (std::size_t r = 0; r < N; ++r) {
      if (targets[r] == 0) continue;
      const float* x = logits.value().data() + r * V;
      if (std::max_element(x, x + V) - x == targets[r]) ++expect_correct;
    }
    CHECK(correct == expect_correct);
    ta.backward(la);
    tb.backward(lb);
    for (std::size_t i = 0; i < ha.grad.size(); ++i) CHECK(ha.grad.data()[i] == doctest::Approx(hb.grad.data()[i]).epsilon(1e-4));
    for (std::size_t i = 0; i < wa.grad.size(); ++i) CHECK(wa.grad.data()[i] == doctest::Approx(wb.grad.data()[i]).epsilon(1e-4));
    if (!tied)
      for (std::size_t i = 0; i < ba.grad.size(); ++i)
        CHECK(ba.grad.data()[i] == doctest::Approx(bb.grad.data()[i]).epsilon(1e-4));
  }
  tape t;
  parameter_store ps;
  auto& h = normal_param(ps, "h", 2, 3, gen, 1.0f);
  auto& w = normal_param(ps, "w", 3, 4, gen, 1.0f);
  CHECK_THROWS_AS(projected_cross_entropy(t.param(h), t.param(w), var{}, true, {1, 2}), attn::error);  // [3,4] has 3 classes as rows, width 4 != 3
  CHECK_THROWS_AS(projected_cross_entropy(t.param(h), t.param(w), var{}, false, {1, 9}), attn::error);
  CHECK_THROWS_AS(projected_cross_entropy(t.param(h), t.param(w), var{}, false, {1}), attn::error);
}

TEST_CASE("activated_linear: gradients for gelu and relu, and the values and gradients of linear(act(x))") {
  rng gen(23);
  const std::size_t N = 5, k = 7, out = 4;
  parameter_store ps;
  auto& x = normal_param(ps, "x", N, k, gen, 1.0f);
  auto& w = normal_param(ps, "w", k, out, gen, 1.0f);
  auto& b = normal_param(ps, "b", 1, out, gen, 0.5f);
  for (activation_fn act : {activation_fn::gelu, activation_fn::relu}) {
    CAPTURE(act == activation_fn::gelu);
    check_gradients(ps, [&](tape& t) {
      var y = activated_linear(t.param(x), act, t.param(w), t.param(b));
      var y2 = activated_linear(t.param(x), act, t.param(w), var{});
      return softmax_cross_entropy(add(mul(y, y), y2), {0, 3, 1, 2, 3});  // dense, non-constant output gradient
    });
    check_gradients(ps, [&](tape& t) {
      // x through an op: the first backward closure to reach h writes its gradient in place (the
      // second activated_linear's), the other adds to it
      var h = add(t.param(x), t.constant(matrix(xt::zeros<float>({N, k}))));  // x + 0
      var y = activated_linear(h, act, t.param(w), t.param(b));
      var y2 = activated_linear(h, act, t.param(w), var{});
      return softmax_cross_entropy(add(mul(y, y), y2), {0, 3, 1, 2, 3});
    });
    // Same numbers as the unfused ops.
    parameter_store p2 = twin_of(ps, {"x", "w", "b"});
    parameter &x2 = p2.at("x"), &w2 = p2.at("w"), &b2 = p2.at("b");
    tape t1, t2;
    var y1 = activated_linear(t1.param(x), act, t1.param(w), t1.param(b));
    var a = act == activation_fn::gelu ? gelu(t2.param(x2)) : relu(t2.param(x2));
    var y2 = linear(a, t2.param(w2), t2.param(b2));
    for (std::size_t i = 0; i < y1.value().size(); ++i)
      CHECK(y1.value().data()[i] == doctest::Approx(y2.value().data()[i]).epsilon(1e-5));
    t1.backward(softmax_cross_entropy(mul(y1, y1), {0, 3, 1, 2, 3}));
    t2.backward(softmax_cross_entropy(mul(y2, y2), {0, 3, 1, 2, 3}));
    for (const char* name : {"x", "w", "b"}) {
      CAPTURE(name);
      const matrix& g1 = ps.at(name).grad;
      const matrix& g2 = p2.at(name).grad;
      for (std::size_t i = 0; i < g1.size(); ++i) CHECK(g1.data()[i] == doctest::Approx(g2.data()[i]).epsilon(1e-4));
    }
  }
  tape t;
  CHECK_THROWS_AS(activated_linear(t.param(x), activation_fn::gelu, t.param(b), var{}), attn::error);
}

TEST_CASE("activated_linear with dropout: gradients, and the values and gradients of linear(dropout(act(x)))") {
  rng gen(24);
  const std::size_t N = 6, k = 9, out = 4;  // N·k = 54: pairs of mask draws across rows
  parameter_store ps;
  auto& x = normal_param(ps, "x", N, k, gen, 1.0f);
  auto& w = normal_param(ps, "w", k, out, gen, 1.0f);
  auto& b = normal_param(ps, "b", 1, out, gen, 0.5f);
  const std::vector<std::int32_t> labels = {0, 3, 1, 2, 3, 0};
  for (activation_fn act : {activation_fn::gelu, activation_fn::relu}) {
    CAPTURE(act == activation_fn::gelu);
    check_gradients(ps, [&](tape& t) {  // a fixed seed: the same mask on every evaluation
      var y = activated_linear(t.param(x), act, t.param(w), t.param(b), 0.3f, 4242);
      return softmax_cross_entropy(mul(y, y), labels);
    });
    check_gradients(ps, [&](tape& t) {  // x through an op (+ 0): its gradient written in place
      var h = add(t.param(x), t.constant(matrix(xt::zeros<float>({N, k}))));
      var y = activated_linear(h, act, t.param(w), t.param(b), 0.3f, 4242);
      return softmax_cross_entropy(mul(y, y), labels);
    });
    // Bit for bit the unfused ops drawing the same seed from the same rng.
    parameter_store p2 = twin_of(ps, {"x", "w", "b"});
    parameter &x2 = p2.at("x"), &w2 = p2.at("w"), &b2 = p2.at("b");
    tape t1, t2;
    rng g1(77), g2(77);
    var y1 = activated_linear(t1.param(x), act, t1.param(w), t1.param(b), 0.3f, g1.next_u64());
    var a = act == activation_fn::gelu ? gelu(t2.param(x2)) : relu(t2.param(x2));
    var y2 = linear(dropout(a, 0.3f, g2), t2.param(w2), t2.param(b2));
    CHECK(std::memcmp(y1.value().data(), y2.value().data(), y1.value().size() * sizeof(float)) == 0);
    t1.backward(softmax_cross_entropy(mul(y1, y1), labels));
    t2.backward(softmax_cross_entropy(mul(y2, y2), labels));
    check_same_grads(ps, p2, {"x", "w", "b"});
    // Off the record it is activated_linear without dropout.
    tape t3;
    no_grad off(t3);
    var y3 = activated_linear(t3.param(x), act, t3.param(w), t3.param(b), 0.3f, 4242);
    var y4 = activated_linear(t3.param(x), act, t3.param(w), t3.param(b));
    CHECK(std::memcmp(y3.value().data(), y4.value().data(), y3.value().size() * sizeof(float)) == 0);
  }
  tape t;
  CHECK_THROWS_AS(activated_linear(t.param(x), activation_fn::relu, t.param(w), t.param(b), 1.0f, 1), attn::error);
}

TEST_CASE("activated_linear with dropout over many mask blocks: the values and gradients of the unfused ops") {
  // 61 × 303 = 18,483 elements: an odd count, pairs straddling rows, the mask drawn in many
  // blocks and over more than one thread's share.
  rng gen(25);
  const std::size_t N = 61, k = 303, out = 5;
  parameter_store ps;
  normal_param(ps, "x", N, k, gen, 1.0f);
  normal_param(ps, "w", k, out, gen, 0.1f);
  normal_param(ps, "b", 1, out, gen, 0.5f);
  std::vector<std::int32_t> labels(N);
  for (std::size_t r = 0; r < N; ++r) labels[r] = static_cast<std::int32_t>(r % out);
  for (activation_fn act : {activation_fn::gelu, activation_fn::relu}) {
    CAPTURE(act == activation_fn::gelu);
    ps.zero_grad();
    parameter_store p2 = twin_of(ps, {"x", "w", "b"});
    tape t1, t2;
    rng g1(78), g2(78);
    var y1 = activated_linear(t1.param(ps.at("x")), act, t1.param(ps.at("w")), t1.param(ps.at("b")), 0.3f,
                              g1.next_u64());
    var a = act == activation_fn::gelu ? gelu(t2.param(p2.at("x"))) : relu(t2.param(p2.at("x")));
    var y2 = linear(dropout(a, 0.3f, g2), t2.param(p2.at("w")), t2.param(p2.at("b")));
    CHECK(std::memcmp(y1.value().data(), y2.value().data(), y1.value().size() * sizeof(float)) == 0);
    t1.backward(softmax_cross_entropy(y1, labels));
    t2.backward(softmax_cross_entropy(y2, labels));
    check_same_grads(ps, p2, {"x", "w", "b"});
  }
}

TEST_CASE("activated_linear over its input (reuse_x): gradients, and the same values and gradients as without") {
  // 61 × 303: many mask blocks, pairs straddling rows, more than one thread's share.
  rng gen(26);
  const std::size_t N = 61, k = 303, out = 5;
  parameter_store ps;
  auto& x = normal_param(ps, "x", N, k, gen, 1.0f);
  normal_param(ps, "w", k, out, gen, 0.1f);
  normal_param(ps, "b", 1, out, gen, 0.5f);
  std::vector<std::int32_t> labels(N);
  for (std::size_t r = 0; r < N; ++r) labels[r] = static_cast<std::int32_t>(r % out);
  const matrix zeros = xt::zeros<float>({N, k});
  for (activation_fn act : {activation_fn::gelu, activation_fn::relu})
    for (const float p : {0.0f, 0.3f}) {
      CAPTURE(act == activation_fn::gelu);
      CAPTURE(p);
      // x + 0: an op's output, which the op may write over
      auto run = [&](tape& t, parameter_store& s, bool reuse) {
        var h = add(t.param(s.at("x")), t.constant(zeros));
        var y = activated_linear(h, act, t.param(s.at("w")), t.param(s.at("b")), p, 4242, reuse);
        return std::make_pair(h, y);
      };
      ps.zero_grad();
      parameter_store p2 = twin_of(ps, {"x", "w", "b"});
      tape t1, t2;
      const auto [h1, y1] = run(t1, ps, true);
      const auto [h2, y2] = run(t2, p2, false);
      CHECK(std::memcmp(y1.value().data(), y2.value().data(), y1.value().size() * sizeof(float)) == 0);
      // relu: x's buffer holds relu(x) ⊙ mask; gelu (whose backward needs x): x untouched
      std::size_t changed = 0;
      for (std::size_t i = 0; i < N * k; ++i) {
        const float xi = x.value.data()[i], hi = h1.value().data()[i];
        if (act == activation_fn::gelu) {
          REQUIRE(hi == xi);
        } else {
          REQUIRE((hi == 0.0f || hi == xi * (1.0f / (1.0f - p))));
          if (xi <= 0.0f) REQUIRE(hi == 0.0f);
          changed += hi != xi;
        }
      }
      if (act == activation_fn::relu) CHECK(changed > N * k / 3);
      CHECK(std::memcmp(h2.value().data(), x.value.data(), N * k * sizeof(float)) == 0);
      t1.backward(softmax_cross_entropy(y1, labels));
      t2.backward(softmax_cross_entropy(y2, labels));
      if (act == activation_fn::relu) {
        check_same_grads(ps, p2, {"x", "w", "b"});
      } else {
        // gelu over a spent x draws gelu'(x) in the pass that draws gelu(x) again (another kernel
        // than gelu_backward_in_place, the same formula): equal up to the compiler's choice of
        // fused multiply-adds, which may differ between CPUs
        for (const char* name : {"x", "w", "b"}) {
          CAPTURE(name);
          const matrix& g1 = ps.at(name).grad;
          const matrix& g2 = p2.at(name).grad;
          for (std::size_t i = 0; i < g1.size(); ++i)
            CHECK(g1.data()[i] == doctest::Approx(g2.data()[i]).epsilon(1e-5).scale(1e-6));
        }
      }
    }
  // a parameter's value is never written over; without gradients any activation is
  parameter_store small;
  auto& xs = normal_param(small, "x", 3, 4, gen, 1.0f);
  auto& ws = normal_param(small, "w", 4, 2, gen, 1.0f);
  const matrix before = xs.value;
  tape t;
  activated_linear(t.param(xs), activation_fn::relu, t.param(ws), var{}, 0.0f, 0, true);
  CHECK(std::memcmp(before.data(), xs.value.data(), before.size() * sizeof(float)) == 0);
  no_grad off(t);
  var h = add(t.param(xs), t.constant(matrix(xt::zeros<float>({3, 4}))));
  var y_over = activated_linear(h, activation_fn::gelu, t.param(ws), var{}, 0.0f, 0, true);
  var y_kept = activated_linear(t.param(xs), activation_fn::gelu, t.param(ws), var{});
  CHECK(std::memcmp(y_over.value().data(), y_kept.value().data(), y_kept.value().size() * sizeof(float)) == 0);
  CHECK(std::memcmp(h.value().data(), before.data(), before.size() * sizeof(float)) != 0);
}

TEST_CASE("activated_linear over its input (reuse_x): finite-difference gradients") {
  rng gen(27);
  const std::size_t N = 6, k = 9, out = 4;
  parameter_store ps;
  auto& x = normal_param(ps, "x", N, k, gen, 1.0f);
  auto& w = normal_param(ps, "w", k, out, gen, 1.0f);
  auto& b = normal_param(ps, "b", 1, out, gen, 0.5f);
  const std::vector<std::int32_t> labels = {0, 3, 1, 2, 3, 0};
  for (activation_fn act : {activation_fn::gelu, activation_fn::relu})
    for (const float p : {0.0f, 0.3f}) {
      CAPTURE(act == activation_fn::gelu);
      CAPTURE(p);
      check_gradients(ps, [&](tape& t) {
        var h = add(t.param(x), t.constant(matrix(xt::zeros<float>({N, k}))));
        var y = activated_linear(h, act, t.param(w), t.param(b), p, 4242, true);
        return softmax_cross_entropy(mul(y, y), labels);
      });
    }
}

TEST_CASE("add_dropout: gradients, and the values and gradients of add(x, dropout(a))") {
  rng gen(25);
  parameter_store ps;
  auto& x = normal_param(ps, "x", 7, 5, gen, 1.0f);
  auto& a = normal_param(ps, "a", 7, 5, gen, 1.0f);
  check_gradients(ps, [&](tape& t) {
    var y = add_dropout(t.param(x), t.param(a), 0.4f, 99);
    return softmax_cross_entropy(mul(y, y), {0, 1, 2, 3, 4, 0, 1});
  });
  parameter_store p2 = twin_of(ps, {"x", "a"});
  parameter &x2 = p2.at("x"), &a2 = p2.at("a");
  tape t1, t2;
  rng g1(5), g2(5);
  var y1 = add_dropout(t1.param(x), t1.param(a), 0.4f, g1.next_u64());
  var y2 = add(t2.param(x2), dropout(t2.param(a2), 0.4f, g2));
  CHECK(std::memcmp(y1.value().data(), y2.value().data(), y1.value().size() * sizeof(float)) == 0);
  const matrix y1_value = y1.value();  // the backward pass releases it
  t1.backward(softmax_cross_entropy(mul(y1, y1), {0, 1, 2, 3, 4, 0, 1}));
  t2.backward(softmax_cross_entropy(mul(y2, y2), {0, 1, 2, 3, 4, 0, 1}));
  for (const char* name : {"x", "a"}) {
    CAPTURE(name);
    CHECK(std::memcmp(ps.at(name).grad.data(), p2.at(name).grad.data(), ps.at(name).grad.size() * sizeof(float)) == 0);
  }
  // Some elements dropped, some kept: the mask did something.
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < x.value.size(); ++i) dropped += y1_value.data()[i] == x.value.data()[i];
  CHECK(dropped > 0);
  CHECK(dropped < x.value.size());
  tape t;
  CHECK_THROWS_AS(add_dropout(t.param(x), t.param(a), -0.1f, 1), attn::error);
  var z = add_dropout(t.param(x), t.param(x), 0.0f, 1);  // p = 0: add
  CHECK(z.value()(0, 0) == 2.0f * x.value(0, 0));
}

TEST_CASE("bias broadcast and bias gradient split over threads equal the serial loops bit for bit") {
  const std::size_t N = 777, out = 1000;  // several threads' shares, a partial column block
  rng gen(8);
  std::vector<float> bias(out), dY(N * out);
  for (float& v : bias) v = gen.normal();
  for (float& v : dY) v = gen.normal();
  std::vector<float> db_serial(out, 0.5f);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = 0; j < out; ++j) db_serial[j] += dY[i * out + j];
  for (const int threads : {1, 2}) {
    CAPTURE(threads);
    set_threads(threads);
    std::vector<float> Y(N * out, -1.0f), db(out, 0.5f);
    detail::broadcast_rows(N, out, bias.data(), Y.data());
    detail::add_bias_grad(N, out, dY.data(), db.data());
    set_threads(1);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < N; ++i) wrong += std::memcmp(Y.data() + i * out, bias.data(), out * sizeof(float)) != 0;
    CHECK(wrong == 0);
    CHECK(std::memcmp(db.data(), db_serial.data(), out * sizeof(float)) == 0);
  }
}
