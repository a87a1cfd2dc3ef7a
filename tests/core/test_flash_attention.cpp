// Tiled (flash) attention: equal to the untiled path (attention() asked for its weights) in
// outputs and gradients, across tiles, causal and padding masks, K/V layouts; finite-difference
// gradients with several tiles per head; memory kept for the backward pass linear in T.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/flash_attention.h"
#include "core/gradcheck.h"
#include "core/ops.h"

using namespace attn;
using attn::testing::check_gradients;
using attn::testing::fill_normal;
using attn::testing::normal_param;

namespace {

struct case_t {
  std::size_t B, Tq, Tk, H, dh, dv;
  bool causal;
  std::vector<std::int32_t> lengths;
  scoring sc;
  flash_tiles tiles;
};

// The cases of the comparisons: several query blocks and key tiles per head (ragged last ones),
// one tile, causal with Tq = Tk and Tq < Tk (a query block at the end of a KV cache), padding with
// an empty item, unscaled dot scores.
std::vector<case_t> cases() {
  return {{2, 13, 13, 2, 4, 3, true, {}, scoring::scaled_dot, {4, 5}},
          {3, 11, 11, 2, 5, 5, false, {11, 6, 0}, scoring::scaled_dot, {3, 4}},
          {2, 9, 9, 1, 8, 8, true, {9, 4}, scoring::dot, {2, 3}},
          {2, 4, 10, 2, 4, 4, true, {10, 7}, scoring::scaled_dot, {3, 4}},
          {1, 7, 12, 3, 4, 6, false, {}, scoring::scaled_dot, {64, 128}},
          {2, 1, 17, 2, 4, 4, true, {17, 5}, scoring::scaled_dot, {1, 4}},
          {2, 20, 20, 2, 16, 16, true, {}, scoring::scaled_dot, {1, 1}}};
}

struct result {
  matrix out, dq, dk, dv;
};

// Output and the gradients of Σ out ⊙ Rm, through the tiled or the untiled path.
result run(bool tiled, const case_t& c, parameter_store& ps, const matrix& Rm) {
  parameter& q = ps.at("q");
  parameter& k = ps.at("k");
  parameter& v = ps.at("v");
  ps.zero_grad();
  tape t;
  const attention_shape s{c.B, c.Tq, c.Tk, c.H, c.causal, c.lengths};
  attention_weights keep;
  var out = tiled ? flash_attention(t.param(q), t.param(k), t.param(v), s, c.sc, c.tiles)
                  : attention(t.param(q), t.param(k), t.param(v), s, c.sc, &keep);  // weights: the untiled path
  result r{out.value(), {}, {}, {}};
  t.backward(attn::testing::project_to_scalar(t, out, Rm));
  r.dq = q.grad;
  r.dk = k.grad;
  r.dv = v.grad;
  return r;
}

void require_close(const matrix& a, const matrix& b) {
  REQUIRE(a.shape() == b.shape());
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a.data()[i] == doctest::Approx(b.data()[i]).epsilon(1e-5).scale(1));
}

}  // namespace

TEST_CASE("flash_attention: outputs and gradients equal the untiled attention within 1e-5") {
  rng gen(31);
  for (const case_t& c : cases()) {
    CAPTURE(c.Tq);
    CAPTURE(c.Tk);
    CAPTURE(c.tiles.q_rows);
    CAPTURE(c.tiles.k_cols);
    parameter_store ps;
    normal_param(ps, "q", c.B * c.Tq, c.H * c.dh, gen);
    normal_param(ps, "k", c.B * c.Tk, c.H * c.dh, gen);
    normal_param(ps, "v", c.B * c.Tk, c.H * c.dv, gen);
    matrix Rm = matrix::from_shape({c.B * c.Tq, c.H * c.dv});
    fill_normal(Rm, gen);
    const result a = run(true, c, ps, Rm), b = run(false, c, ps, Rm);
    require_close(a.out, b.out);
    require_close(a.dq, b.dq);
    require_close(a.dk, b.dk);
    require_close(a.dv, b.dv);
  }
}

TEST_CASE("flash_attention: rows that see no key give zero output and zero gradients") {
  rng gen(32);
  const std::size_t B = 2, T = 6, H = 2, dh = 3;
  parameter_store ps;
  auto& q = normal_param(ps, "q", B * T, H * dh, gen);
  auto& k = normal_param(ps, "k", B * T, H * dh, gen);
  auto& v = normal_param(ps, "v", B * T, H * dh, gen);
  ps.zero_grad();
  tape t;
  var out = flash_attention(t.param(q), t.param(k), t.param(v), {B, T, T, H, true, {6, 0}}, scoring::scaled_dot,
                            {4, 4});
  matrix Rm = matrix::from_shape({B * T, H * dh});
  fill_normal(Rm, gen);
  const matrix out_value = out.value();  // the backward pass releases it
  t.backward(attn::testing::project_to_scalar(t, out, Rm));
  for (std::size_t i = T; i < 2 * T; ++i)
    for (std::size_t c = 0; c < H * dh; ++c) {
      REQUIRE(out_value(i, c) == 0.0f);
      REQUIRE(q.grad(i, c) == 0.0f);
      REQUIRE(k.grad(i, c) == 0.0f);
      REQUIRE(v.grad(i, c) == 0.0f);
    }
  double norm = 0;
  for (std::size_t c = 0; c < H * dh; ++c) norm += std::fabs(k.grad(0, c));
  CHECK(norm > 0);
}

TEST_CASE("flash_attention: gradients with several tiles per head, causal and padding masks") {
  rng gen(33);
  for (const case_t& c : std::vector<case_t>{{2, 11, 11, 2, 3, 2, true, {11, 7}, scoring::scaled_dot, {4, 3}},
                                             {2, 9, 9, 1, 4, 3, false, {5, 9}, scoring::dot, {2, 4}},
                                             {1, 3, 10, 2, 3, 3, true, {}, scoring::scaled_dot, {2, 4}}}) {
    CAPTURE(c.Tq);
    CAPTURE(c.causal);
    parameter_store ps;
    auto& q = normal_param(ps, "q", c.B * c.Tq, c.H * c.dh, gen);
    auto& k = normal_param(ps, "k", c.B * c.Tk, c.H * c.dh, gen);
    auto& v = normal_param(ps, "v", c.B * c.Tk, c.H * c.dv, gen);
    const attention_shape s{c.B, c.Tq, c.Tk, c.H, c.causal, c.lengths};
    check_gradients(ps,
                    [&](tape& t) { return flash_attention(t.param(q), t.param(k), t.param(v), s, c.sc, c.tiles); });
  }
}

TEST_CASE("flash_attention: strided, shared K/V items (beams of one sentence) as in the untiled path") {
  rng gen(34);
  const std::size_t B = 4, Tq = 5, Tk = 7, H = 2, dh = 3, R = 9, n_items = 3;
  attention_shape s{B, Tq, Tk, H, true, {7, 5, 7, 2}};
  s.k_item_rows = R;
  s.k_items = {1, 0, 1, 1};  // item 2 unread; item 1 shared by three batch items
  parameter_store ps;
  auto& q = normal_param(ps, "q", B * Tq, H * dh, gen);
  auto& k = normal_param(ps, "k", n_items * R, H * dh, gen);
  auto& v = normal_param(ps, "v", n_items * R, H * dh, gen);
  matrix Rm = matrix::from_shape({B * Tq, H * dh});
  fill_normal(Rm, gen);
  std::vector<matrix> got[2];
  for (const bool tiled : {true, false}) {
    ps.zero_grad();
    tape t;
    attention_weights keep;
    var out = tiled ? flash_attention(t.param(q), t.param(k), t.param(v), s, scoring::scaled_dot, {2, 3})
                    : attention(t.param(q), t.param(k), t.param(v), s, scoring::scaled_dot, &keep);
    const matrix out_value = out.value();  // the backward pass releases it
    t.backward(attn::testing::project_to_scalar(t, out, Rm));
    got[tiled] = {out_value, q.grad, k.grad, v.grad};
  }
  for (std::size_t i = 0; i < 4; ++i) require_close(got[1][i], got[0][i]);
  check_gradients(ps, [&](tape& t) {
    return flash_attention(t.param(q), t.param(k), t.param(v), s, scoring::scaled_dot, {2, 3});
  });
}

TEST_CASE("flash_attention: shape and tile errors name the op") {
  tape t;
  var q = t.constant(matrix::from_shape({2, 4})), k = t.constant(matrix::from_shape({6, 4}));
  CHECK_THROWS_WITH_AS(flash_attention(q, k, k, {2, 1, 3, 3, false, {}}, scoring::dot),
                       doctest::Contains("flash_attention"), attn::error);  // 4 columns, 3 heads
  CHECK_THROWS_WITH_AS(flash_attention(q, k, k, {2, 1, 3, 1, false, {}}, scoring::dot, {0, 4}),
                       doctest::Contains("tiles"), attn::error);
  CHECK_THROWS_WITH_AS(attention(q, k, k, {2, 1, 3, 1, false, {4, 1}}, scoring::dot),
                       doctest::Contains("attention: key length 4"), attn::error);
}

TEST_CASE("attention: without weights to return, long contexts keep O(T) floats for the backward pass") {
  rng gen(35);
  const std::size_t B = 2, T = 512, H = 2, dh = 4;
  const attention_shape s{B, T, T, H, true, {}};
  REQUIRE(flash_attention_pays(s));
  parameter_store ps;
  auto& q = normal_param(ps, "q", B * T, H * dh, gen);
  auto& k = normal_param(ps, "k", B * T, H * dh, gen);
  auto& v = normal_param(ps, "v", B * T, H * dh, gen);
  tape t;
  attention(t.param(q), t.param(k), t.param(v), s, scoring::scaled_dot);
  // the log-sum-exp of each query row per head, and one thread's tiles of scores and their
  // gradients; the untiled path keeps B*H*T*T weights
  const flash_tiles tl;
  const std::size_t tiles = 2 * tl.q_rows * tl.k_cols + 3 * tl.q_rows;
  CHECK(t.memory().scratch <= (B * H * T + tiles) * sizeof(float));
  tape u;
  attention_weights keep;
  attention(u.param(q), u.param(k), u.param(v), s, scoring::scaled_dot, &keep);
  CHECK(u.memory().scratch >= B * H * T * T * sizeof(float));
}
