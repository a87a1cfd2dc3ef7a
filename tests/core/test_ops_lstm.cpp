// lstm_sequence (core/ops_lstm.h): the packed recurrence against chained lstm_cell steps,
// finite-difference gradients, and the same result with 1 and 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/gradcheck.h"
#include "core/ops_lstm.h"
#include "core/threads.h"

using namespace attn;
using attn::testing::check_gradients;
using attn::testing::fill_normal;
using attn::testing::normal_param;

namespace {

std::size_t total(const std::vector<std::size_t>& steps) {
  std::size_t n = 0;
  for (std::size_t s : steps) n += s;
  return n;
}

// Everything lstm_sequence returns stacked into one node: h [N,h] over h_last, c_last [B,h].
var stacked(const lstm_sequence_output& o) { return concat_rows({o.h, o.h_last, o.c_last}); }

}  // namespace

TEST_CASE("lstm_sequence equals lstm_cell step by step, finished ranks keep their state") {
  rng gen(31);
  const std::size_t B = 4, H = 3;
  const std::vector<std::size_t> steps = {3, 3, 2, 1};  // rank 3 never runs; rank 0 runs 4 steps
  const std::size_t N = total(steps);
  parameter_store ps;
  auto& gx = normal_param(ps, "gates_x", N, 4 * H, gen);
  auto& h0 = normal_param(ps, "h0", B, H, gen);
  auto& c0 = normal_param(ps, "c0", B, H, gen);
  auto& w = normal_param(ps, "w_hh", H, 4 * H, gen, 0.5f);
  tape t;
  no_grad ng(t);
  lstm_sequence_output o = lstm_sequence(t.param(gx), t.param(h0), t.param(c0), t.param(w), steps);
  REQUIRE(o.h.rows() == N);
  REQUIRE(o.h_last.rows() == B);
  // Reference: lstm_cell on each step's running prefix.
  matrix h = h0.value, c = c0.value;
  std::size_t offset = 0;
  for (std::size_t n : steps) {
    matrix gs = matrix::from_shape({n, 4 * H}), hs = matrix::from_shape({n, H}), cs = matrix::from_shape({n, H});
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < H; ++j) {
        hs(r, j) = h(r, j);
        cs(r, j) = c(r, j);
        for (std::size_t k = 0; k < 4; ++k) gs(r, k * H + j) = gx.value(offset + r, k * H + j);
      }
    auto [hn, cn] = lstm_cell(t.constant(gs), t.constant(hs), t.constant(cs), t.param(w));
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < H; ++j) {
        h(r, j) = hn.value()(r, j);
        c(r, j) = cn.value()(r, j);
        CHECK(o.h.value()(offset + r, j) == doctest::Approx(h(r, j)).epsilon(1e-6));
      }
    offset += n;
  }
  for (std::size_t r = 0; r < B; ++r)
    for (std::size_t j = 0; j < H; ++j) {
      CHECK(o.h_last.value()(r, j) == doctest::Approx(h(r, j)).epsilon(1e-6));
      CHECK(o.c_last.value()(r, j) == doctest::Approx(c(r, j)).epsilon(1e-6));
    }
  // rank 3 never ran: its last state is its initial state, exactly
  for (std::size_t j = 0; j < H; ++j) {
    CHECK(o.h_last.value()(3, j) == h0.value(3, j));
    CHECK(o.c_last.value()(3, j) == c0.value(3, j));
  }
}

TEST_CASE("lstm_sequence: gradients, packed steps, every output or only some") {
  std::uint64_t seed = 40;
  const std::vector<std::vector<std::size_t>> layouts = {{2, 2, 2}, {3, 2, 2, 1}, {1}, {2, 1, 1, 1, 1}};
  for (std::size_t B_extra : {0u, 1u})
    for (const auto& steps : layouts) {
      rng gen(++seed);
      const std::size_t H = 1 + gen.below(3), B = steps[0] + B_extra, N = total(steps);
      parameter_store ps;
      auto& gx = normal_param(ps, "gates_x", N, 4 * H, gen);
      auto& h0 = normal_param(ps, "h0", B, H, gen);
      auto& c0 = normal_param(ps, "c0", B, H, gen);
      auto& w = normal_param(ps, "w_hh", H, 4 * H, gen, 0.5f);
      INFO("steps " << steps.size() << " n0 " << steps[0] << " B " << B << " H " << H);
      auto run = [&](tape& t) { return lstm_sequence(t.param(gx), t.param(h0), t.param(c0), t.param(w), steps); };
      check_gradients(ps, [&](tape& t) { return stacked(run(t)); });
      check_gradients(ps, [&](tape& t) { return run(t).h; });       // final states unused
      check_gradients(ps, [&](tape& t) { return run(t).c_last; });  // only the last cell state
    }
}

TEST_CASE("lstm_sequence: chained after linear, gradients accumulate into shared inputs") {
  // gates_x from a linear layer and h0 also used elsewhere: both receive summed gradients.
  rng gen(50);
  const std::size_t B = 3, H = 2, in = 3;
  const std::vector<std::size_t> steps = {3, 2};
  parameter_store ps;
  auto& x = normal_param(ps, "x", total(steps), in, gen);
  auto& wih = normal_param(ps, "w_ih", in, 4 * H, gen, 0.5f);
  auto& h0 = normal_param(ps, "h0", B, H, gen);
  auto& w = normal_param(ps, "w_hh", H, 4 * H, gen, 0.5f);
  check_gradients(ps, [&](tape& t) {
    var hv = t.param(h0);
    var gates = linear(t.param(x), t.param(wih), var{});
    lstm_sequence_output o = lstm_sequence(gates, hv, hv, t.param(w), steps);
    return concat_rows({o.h, add(o.h_last, hv)});
  });
}

TEST_CASE("lstm_sequence: same values and gradients with 1 and 2 threads") {
  rng gen(60);
  const std::size_t B = 37, H = 24;
  std::vector<std::size_t> steps = {37, 37, 30, 30, 12, 5, 1};
  const std::size_t N = total(steps);
  parameter_store ps;
  auto& gx = normal_param(ps, "gates_x", N, 4 * H, gen);
  auto& h0 = normal_param(ps, "h0", B, H, gen);
  auto& c0 = normal_param(ps, "c0", B, H, gen);
  auto& w = normal_param(ps, "w_hh", H, 4 * H, gen, 0.3f);
  matrix r = matrix::from_shape({N, H});
  fill_normal(r, gen);
  auto run = [&](int n) {
    set_threads(n);
    ps.zero_grad();
    tape t;
    lstm_sequence_output o = lstm_sequence(t.param(gx), t.param(h0), t.param(c0), t.param(w), steps);
    matrix ones_r = matrix::from_shape({1, N}), ones_c = matrix::from_shape({H, 1});
    ones_r.fill(1.0f);
    ones_c.fill(1.0f);
    var l = matmul(matmul(t.constant(ones_r), mul(o.h, t.constant(r))), t.constant(ones_c));
    std::vector<matrix> got{o.h.value(), o.c_last.value()};  // before the backward pass releases them
    t.backward(l);
    for (const parameter* p : {&gx, &h0, &c0, &w}) got.push_back(p->grad);
    return got;
  };
  const int before = threads();
  auto one = run(1), two = run(2);
  set_threads(before);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    double worst = 0, scale = 0;
    for (std::size_t e = 0; e < one[i].size(); ++e) {
      worst = std::max(worst, std::fabs(static_cast<double>(one[i].data()[e]) - two[i].data()[e]));
      scale = std::max(scale, std::fabs(static_cast<double>(one[i].data()[e])));
    }
    CHECK(worst <= 1e-5 * std::max(1.0, scale));
  }
}

TEST_CASE("lstm_sequence: malformed step sizes and shapes are errors") {
  rng gen(70);
  parameter_store ps;
  auto& gx = normal_param(ps, "gates_x", 4, 8, gen);
  auto& h0 = normal_param(ps, "h0", 2, 2, gen);
  auto& w = normal_param(ps, "w_hh", 2, 8, gen);
  tape t;
  auto call = [&](const std::vector<std::size_t>& steps) {
    return lstm_sequence(t.param(gx), t.param(h0), t.param(h0), t.param(w), steps);
  };
  CHECK_NOTHROW(call({2, 2}));
  CHECK_THROWS_AS(call({1, 2, 1}), attn::error);  // increasing
  CHECK_THROWS_AS(call({3, 1}), attn::error);     // more than h0's rows
  CHECK_THROWS_AS(call({2, 1}), attn::error);     // sums to 3, gates_x has 4 rows
  CHECK_THROWS_AS(call({2, 0, 2}), attn::error);  // empty step
  CHECK_THROWS_AS(lstm_sequence(t.param(gx), t.param(h0), t.param(h0), t.param(h0), {2, 2}), attn::error);
}
