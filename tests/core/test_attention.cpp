// Attention weights: rows sum to one, masked positions exactly zero, agreement with a naive
// implementation, KV-cache causal offsets, fully masked rows, and attention dumps.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "core/attention_layout.h"
#include "core/error.h"
#include "core/gradcheck.h"
#include "core/ops.h"

using namespace attn;
using attn::testing::fill_normal;

namespace {

matrix random_matrix(std::size_t r, std::size_t c, rng& gen) {
  matrix m = matrix::from_shape({r, c});
  fill_normal(m, gen);
  return m;
}

// Naive reference, in double: out [B*Tq, H*dv] and weights [B*H*Tq, Tk].
void naive_attention(const matrix& q, const matrix& k, const matrix& v, const attention_shape& s, bool scaled,
                     std::vector<double>& out, std::vector<double>& w) {
  const std::size_t B = s.batch, Tq = s.q_len, Tk = s.k_len, H = s.heads;
  const std::size_t dh = cols(q) / H, dv = cols(v) / H;
  out.assign(B * Tq * H * dv, 0.0);
  w.assign(B * H * Tq * Tk, 0.0);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < H; ++h)
      for (std::size_t i = 0; i < Tq; ++i) {
        std::vector<double> e(Tk);
        std::vector<bool> ok(Tk);
        double m = -1e300;
        for (std::size_t j = 0; j < Tk; ++j) {
          ok[j] = (s.k_lengths.empty() || static_cast<std::int32_t>(j) < s.k_lengths[b]) &&
                  (!s.causal || static_cast<long>(j) <= static_cast<long>(i + Tk) - static_cast<long>(Tq));
          double d = 0;
          for (std::size_t c = 0; c < dh; ++c)
            d += static_cast<double>(q(b * Tq + i, h * dh + c)) * k(b * Tk + j, h * dh + c);
          e[j] = scaled ? d / std::sqrt(static_cast<double>(dh)) : d;
          if (ok[j]) m = std::max(m, e[j]);
        }
        double z = 0;
        for (std::size_t j = 0; j < Tk; ++j) z += ok[j] ? std::exp(e[j] - m) : 0.0;
        for (std::size_t j = 0; j < Tk; ++j) {
          const double p = ok[j] ? std::exp(e[j] - m) / z : 0.0;
          w[((b * H + h) * Tq + i) * Tk + j] = p;
          for (std::size_t c = 0; c < dv; ++c) out[(b * Tq + i) * H * dv + h * dv + c] += p * v(b * Tk + j, h * dv + c);
        }
      }
}

}  // namespace

TEST_CASE("attention: weights sum to 1 per unmasked row, masked weights are exactly 0") {
  rng gen(1);
  const std::size_t B = 3, T = 7, H = 2, dh = 5;
  attention_shape s{B, T, T, H, true, {7, 4, 1}};
  tape t;
  var q = t.constant(random_matrix(B * T, H * dh, gen));
  var k = t.constant(random_matrix(B * T, H * dh, gen));
  var v = t.constant(random_matrix(B * T, H * dh, gen));
  attention_weights keep;
  attention(q, k, v, s, scoring::scaled_dot, &keep);
  REQUIRE(rows(keep.w) == B * H * T);
  REQUIRE(cols(keep.w) == T);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < H; ++h)
      for (std::size_t i = 0; i < T; ++i) {
        const std::size_t r = (b * H + h) * T + i;
        double sum = 0;
        for (std::size_t j = 0; j < T; ++j) {
          const bool masked = static_cast<std::int32_t>(j) >= s.k_lengths[b] || j > i;
          if (masked)
            REQUIRE(keep.w(r, j) == 0.0f);
          else
            REQUIRE(keep.w(r, j) > 0.0f);
          sum += keep.w(r, j);
        }
        CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
      }
}

TEST_CASE("attention: forward matches a naive implementation") {
  rng gen(2);
  struct cfg {
    std::size_t B, Tq, Tk, H, dh, dv;
    bool causal, scaled;
    std::vector<std::int32_t> lengths;
  };
  for (const cfg& c : std::vector<cfg>{{2, 5, 6, 3, 4, 2, false, true, {6, 3}},
                                       {2, 6, 6, 2, 8, 8, true, true, {}},
                                       {1, 2, 9, 4, 3, 5, true, false, {}},
                                       {3, 4, 4, 1, 16, 16, true, true, {2, 4, 3}}}) {
    attention_shape s{c.B, c.Tq, c.Tk, c.H, c.causal, c.lengths};
    matrix qm = random_matrix(c.B * c.Tq, c.H * c.dh, gen), km = random_matrix(c.B * c.Tk, c.H * c.dh, gen),
           vm = random_matrix(c.B * c.Tk, c.H * c.dv, gen);
    tape t;
    attention_weights keep;
    var out = attention(t.constant(qm), t.constant(km), t.constant(vm), s,
                        c.scaled ? scoring::scaled_dot : scoring::dot, &keep);
    std::vector<double> ref_out, ref_w;
    naive_attention(qm, km, vm, s, c.scaled, ref_out, ref_w);
    for (std::size_t i = 0; i < ref_out.size(); ++i)
      REQUIRE(out.value().data()[i] == doctest::Approx(ref_out[i]).epsilon(1e-4).scale(1));
    for (std::size_t i = 0; i < ref_w.size(); ++i)
      REQUIRE(keep.w.data()[i] == doctest::Approx(ref_w[i]).epsilon(1e-4).scale(1));
  }
}

TEST_CASE("attention: a causal query block at the end of a KV cache sees the same keys as full attention") {
  rng gen(3);
  const std::size_t T = 6, H = 2, dh = 4, B = 2;
  matrix qm = random_matrix(B * T, H * dh, gen), km = random_matrix(B * T, H * dh, gen),
         vm = random_matrix(B * T, H * dh, gen);
  tape t;
  var full = attention(t.constant(qm), t.constant(km), t.constant(vm), {B, T, T, H, true, {}}, scoring::scaled_dot);
  // Decoding steps: only the last Tq queries, all T keys cached (Tq = 1 takes the gemv paths).
  no_grad ng(t);
  for (std::size_t Tq : {1, 2}) {
    CAPTURE(Tq);
    matrix q_last = matrix::from_shape({B * Tq, H * dh});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t i = 0; i < Tq; ++i)
        for (std::size_t c = 0; c < H * dh; ++c) q_last(b * Tq + i, c) = qm(b * T + T - Tq + i, c);
    var step =
        attention(t.constant(q_last), t.constant(km), t.constant(vm), {B, Tq, T, H, true, {}}, scoring::scaled_dot);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t i = 0; i < Tq; ++i)
        for (std::size_t c = 0; c < H * dh; ++c)
          REQUIRE(step.value()(b * Tq + i, c) == doctest::Approx(full.value()(b * T + T - Tq + i, c)).epsilon(1e-5));
  }
}

TEST_CASE("attention: fully masked rows give zero output and zero gradients") {
  rng gen(4);
  const std::size_t B = 2, T = 3, H = 2, dh = 2;
  parameter_store ps;
  auto& q = ps.add("q", B * T, H * dh);
  auto& k = ps.add("k", B * T, H * dh);
  auto& v = ps.add("v", B * T, H * dh);
  for (auto* p : {&q, &k, &v}) fill_normal(p->value, gen);
  ps.zero_grad();
  tape t;
  var out = attention(t.param(q), t.param(k), t.param(v), {B, T, T, H, false, {3, 0}}, scoring::scaled_dot);
  for (std::size_t i = T; i < 2 * T; ++i)
    for (std::size_t c = 0; c < H * dh; ++c) REQUIRE(out.value()(i, c) == 0.0f);
  matrix R = random_matrix(B * T, H * dh, gen);
  t.backward(attn::testing::project_to_scalar(t, out, R));
  for (std::size_t i = T; i < 2 * T; ++i)
    for (std::size_t c = 0; c < H * dh; ++c) {
      REQUIRE(q.grad(i, c) == 0.0f);
      REQUIRE(k.grad(i, c) == 0.0f);
      REQUIRE(v.grad(i, c) == 0.0f);
    }
  // The unmasked item still gets gradients.
  double norm = 0;
  for (std::size_t c = 0; c < H * dh; ++c) norm += std::fabs(q.grad(0, c));
  CHECK(norm > 0);
}

TEST_CASE("additive_attention: weights sum to 1, masked zero, forward matches the formula") {
  rng gen(5);
  const std::size_t B = 2, Tq = 3, Tk = 5, a = 4, dv = 3;
  matrix qp = random_matrix(B * Tq, a, gen), kp = random_matrix(B * Tk, a, gen), sv = random_matrix(1, a, gen),
         vals = random_matrix(B * Tk, dv, gen);
  attention_shape s{B, Tq, Tk, 1, false, {5, 2}};
  tape t;
  attention_weights keep;
  var out = additive_attention(t.constant(qp), t.constant(kp), t.constant(sv), t.constant(vals), s, &keep);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t i = 0; i < Tq; ++i) {
      std::vector<double> e(Tk);
      double z = 0;
      for (std::size_t j = 0; j < static_cast<std::size_t>(s.k_lengths[b]); ++j) {
        double d = 0;
        for (std::size_t c = 0; c < a; ++c) d += sv(0, c) * std::tanh(qp(b * Tq + i, c) + kp(b * Tk + j, c));
        e[j] = std::exp(d);
        z += e[j];
      }
      double sum = 0;
      for (std::size_t j = 0; j < Tk; ++j) {
        const float w = keep.w(b * Tq + i, j);
        if (static_cast<std::int32_t>(j) >= s.k_lengths[b])
          REQUIRE(w == 0.0f);
        else
          REQUIRE(w == doctest::Approx(e[j] / z).epsilon(1e-5));
        sum += w;
      }
      CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
      for (std::size_t c = 0; c < dv; ++c) {
        double o = 0;
        for (std::size_t j = 0; j < Tk; ++j) o += keep.w(b * Tq + i, j) * vals(b * Tk + j, c);
        CHECK(out.value()(b * Tq + i, c) == doctest::Approx(o).epsilon(1e-5));
      }
    }
}

TEST_CASE("attention: shape errors are reported") {
  tape t;
  matrix m = matrix::from_shape({6, 4});
  m.fill(0.0f);
  var x = t.constant(m);
  CHECK_THROWS_AS(attention(x, x, x, {2, 3, 3, 3, false, {}}, scoring::dot), attn::error);      // 4 % 3 heads
  CHECK_THROWS_AS(attention(x, x, x, {2, 4, 3, 1, false, {}}, scoring::dot), attn::error);      // rows
  CHECK_THROWS_AS(attention(x, x, x, {2, 3, 3, 1, false, {3}}, scoring::dot), attn::error);     // lengths size
  CHECK_THROWS_AS(attention(x, x, x, {2, 3, 3, 1, false, {3, 4}}, scoring::dot), attn::error);  // length > Tk
}

namespace {

// Spreads compact K/V rows [B*Tk, d] into a cache-like layout: `n_items` items of R rows each,
// batch item b stored as item items[b]; every other row holds `fill` (NaN: must never be read).
matrix spread_items(const matrix& compact, std::size_t B, std::size_t Tk, std::size_t R, std::size_t n_items,
                    const std::vector<std::int32_t>& items, float fill) {
  const std::size_t d = cols(compact);
  matrix out = matrix::from_shape({n_items * R, d});
  out.fill(fill);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < Tk; ++j)
      for (std::size_t c = 0; c < d; ++c) out(static_cast<std::size_t>(items[b]) * R + j, c) = compact(b * Tk + j, c);
  return out;
}

}  // namespace

TEST_CASE("attention: K/V items with a row stride and an item map give exactly the compact layout's result") {
  rng gen(21);
  const std::size_t B = 3, Tk = 5, H = 2, dh = 4, R = 8, n_items = 5;
  const std::vector<std::int32_t> items = {4, 0, 2};  // spare items 1 and 3: never read
  for (const std::size_t Tq : {1, 3}) {
    CAPTURE(Tq);
    matrix qm = random_matrix(B * Tq, H * dh, gen), km = random_matrix(B * Tk, H * dh, gen),
           vm = random_matrix(B * Tk, H * dh, gen), qp = random_matrix(B * Tq, H * dh, gen),
           sv = random_matrix(1, H * dh, gen);
    const matrix ks = spread_items(km, B, Tk, R, n_items, items, NAN);
    const matrix vs = spread_items(vm, B, Tk, R, n_items, items, NAN);
    attention_shape compact{B, Tq, Tk, H, true, {5, 3, 4}};
    tape t;
    no_grad ng(t);
    for (const bool map : {false, true}) {
      CAPTURE(map);
      attention_shape strided = compact;
      strided.k_item_rows = R;
      if (map) strided.k_items = items;
      const matrix& kk = map ? ks : spread_items(km, B, Tk, R, B, {0, 1, 2}, NAN);
      const matrix& vv = map ? vs : spread_items(vm, B, Tk, R, B, {0, 1, 2}, NAN);
      const matrix a = attention(t.constant(qm), t.constant(km), t.constant(vm), compact, scoring::scaled_dot).value();
      const matrix b = attention(t.constant(qm), t.constant(kk), t.constant(vv), strided, scoring::scaled_dot).value();
      REQUIRE(a.shape() == b.shape());
      for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-6));
      attention_shape one_head = compact, one_head_strided = strided;
      one_head.heads = one_head_strided.heads = 1;
      const matrix c =
          additive_attention(t.constant(qp), t.constant(km), t.constant(sv), t.constant(vm), one_head).value();
      const matrix d =
          additive_attention(t.constant(qp), t.constant(kk), t.constant(sv), t.constant(vv), one_head_strided).value();
      for (std::size_t i = 0; i < c.size(); ++i) REQUIRE(d.data()[i] == doctest::Approx(c.data()[i]).epsilon(1e-6));
    }
  }
}

TEST_CASE("attention: gradients through strided, shared K/V items (beams reading one sentence's K/V)") {
  rng gen(22);
  const std::size_t B = 4, Tq = 2, Tk = 3, H = 2, dh = 3, R = 5, n_items = 3;
  attention_shape s{B, Tq, Tk, H, false, {3, 2, 3, 1}};
  s.k_item_rows = R;
  s.k_items = {1, 0, 1, 1};  // item 2 unread; item 1 shared by three batch items
  parameter_store ps;
  auto& q = ps.add("q", B * Tq, H * dh);
  auto& k = ps.add("k", n_items * R, H * dh);
  auto& v = ps.add("v", n_items * R, H * dh);
  for (auto* p : {&q, &k, &v}) fill_normal(p->value, gen);
  for (const scoring sc : {scoring::scaled_dot, scoring::dot})
    attn::testing::check_gradients(ps, [&](tape& t) { return attention(t.param(q), t.param(k), t.param(v), s, sc); });
  attention_shape a = s;
  a.heads = 1;
  auto& sv = ps.add("score_v", 1, H * dh);
  fill_normal(sv.value, gen);
  attn::testing::check_gradients(
      ps, [&](tape& t) { return additive_attention(t.param(q), t.param(k), t.param(sv), t.param(v), a); });
  // rows never read (past k_len, spare items) get no gradient
  for (std::size_t r = 0; r < n_items * R; ++r)
    if (r % R >= Tk || r / R == 2)
      for (std::size_t c = 0; c < H * dh; ++c) {
        REQUIRE(k.grad(r, c) == 0.0f);
        REQUIRE(v.grad(r, c) == 0.0f);
      }
}

TEST_CASE("attention: K/V layout errors are reported") {
  tape t;
  matrix m = matrix::from_shape({8, 4});
  m.fill(0.0f);
  var x = t.constant(m), q = t.constant(matrix::from_shape({2, 4}));
  attention_shape s{2, 1, 3, 1, false, {}};
  s.k_item_rows = 4;
  CHECK_NOTHROW(attention(q, x, x, s, scoring::dot));
  s.k_item_rows = 2;  // less than k_len
  CHECK_THROWS_AS(attention(q, x, x, s, scoring::dot), attn::error);
  s.k_item_rows = 3;  // 8 rows are not 2 items of 3
  CHECK_THROWS_AS(attention(q, x, x, s, scoring::dot), attn::error);
  s.k_item_rows = 4;
  s.k_items = {1, 2};  // only items 0 and 1 exist
  CHECK_THROWS_AS(attention(q, x, x, s, scoring::dot), attn::error);
  s.k_items = {1};  // one per batch item
  CHECK_THROWS_AS(attention(q, x, x, s, scoring::dot), attn::error);
  s.k_items = {1, 1};
  CHECK_NOTHROW(attention(q, x, x, s, scoring::dot));
}

TEST_CASE("attention: a paged cache whose neighbouring items share pages (beams) equals the compact layout") {
  // 5 items, 3 pages of R rows each: items 0-2 share page 0 (a group), 0 and 1 also page 1;
  // item 3 starts a group of its own, item 4 shares its first page; lengths cut some items short
  rng gen(29);
  const std::size_t B = 5, R = 16, n = 3, Tk = 40, H = 4, dh = 64, dv = 32, storage_pages = 9;
  const std::vector<std::int32_t> pages = {0, 1, 2, 0, 1, 3, 0, 4, 5, 6, 7, 8, 6, 8, 7};
  const std::vector<std::int32_t> lengths = {40, 33, 17, 40, 9};
  const matrix km = random_matrix(storage_pages * R, H * dh, gen), vm = random_matrix(storage_pages * R, H * dv, gen);
  // item b's keys as one run of Tk rows
  matrix kc = xt::zeros<float>({B * Tk, H * dh}), vc = xt::zeros<float>({B * Tk, H * dv});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < Tk; ++j) {
      const std::size_t row = static_cast<std::size_t>(pages[b * n + j / R]) * R + j % R;
      std::copy_n(km.data() + row * H * dh, H * dh, kc.data() + (b * Tk + j) * H * dh);
      std::copy_n(vm.data() + row * H * dv, H * dv, vc.data() + (b * Tk + j) * H * dv);
    }
  for (const std::size_t Tq : {1, 3}) {
    CAPTURE(Tq);
    attention_shape paged{B, Tq, Tk, H, Tq > 1, lengths}, compact = paged;
    paged.k_item_rows = R;
    paged.k_items = pages;
    const matrix qm = random_matrix(B * Tq, H * dh, gen);
    tape t;
    no_grad ng(t);
    attention_weights wa, wb;
    const matrix a =
        detail::untiled_attention(t.constant(qm), t.constant(kc), t.constant(vc), compact, scoring::scaled_dot, &wa)
            .value();
    const matrix b = attention(t.constant(qm), t.constant(km), t.constant(vm), paged, scoring::scaled_dot, &wb).value();
    const matrix c = attention(t.constant(qm), t.constant(km), t.constant(vm), paged, scoring::scaled_dot).value();
    REQUIRE(a.shape() == b.shape());
    for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-5));
    for (std::size_t i = 0; i < wa.w.size(); ++i)
      REQUIRE(wb.w.data()[i] == doctest::Approx(wa.w.data()[i]).epsilon(1e-5));
    REQUIRE(std::memcmp(b.data(), c.data(), b.size() * sizeof(float)) == 0);  // with or without weights kept
  }
}

TEST_CASE("attention: the decode path (a few query rows, no gradients) equals the untiled path") {
  rng gen(23);
  const std::size_t B = 3, Tk = 37, H = 4, R = 40, n_items = 4;
  // head widths for each of decode_attention's kernels: in registers (multiples of the SIMD width,
  // whole blocks of rows and a tail), and any width
  const std::size_t widths[][2] = {{16, 8}, {64, 64}, {32, 24}, {5, 3}};
  for (const auto& width : widths)
    for (const std::size_t Tq : {1, 2, 4}) {
      const std::size_t dh = width[0], dv = width[1];  // not a structured binding: CAPTURE takes it by reference
      for (const bool causal : {false, true}) {
        CAPTURE(dh);
        CAPTURE(dv);
        CAPTURE(Tq);
        CAPTURE(causal);
        attention_shape s{B, Tq, Tk, H, causal, {37, 0, 20}};  // an empty item: zeros
        s.k_item_rows = R;
        s.k_items = std::vector<std::int32_t>{3, 1, 3};  // shared and spare items
        const matrix qm = random_matrix(B * Tq, H * dh, gen), km = random_matrix(n_items * R, H * dh, gen),
                     vm = random_matrix(n_items * R, H * dv, gen);
        tape t;
        no_grad ng(t);
        attention_weights wa, wb;
        const matrix a =
            detail::untiled_attention(t.constant(qm), t.constant(km), t.constant(vm), s, scoring::scaled_dot, &wa)
                .value();
        const matrix b = attention(t.constant(qm), t.constant(km), t.constant(vm), s, scoring::scaled_dot, &wb).value();
        REQUIRE(a.shape() == b.shape());
        for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-5));
        for (std::size_t i = 0; i < wa.w.size(); ++i)
          REQUIRE(wb.w.data()[i] == doctest::Approx(wa.w.data()[i]).epsilon(1e-5));
        for (std::size_t i = 0; i < Tq * H * dv; ++i) REQUIRE(b.data()[Tq * H * dv + i] == 0.0f);  // item 1: no keys
      }
    }
}
