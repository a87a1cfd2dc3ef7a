// Thread setting and parallel_for; results do not depend on the thread count.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/threads.h"

using namespace attn;

TEST_CASE("set_threads / threads round trip; 0 means all cores") {
  const int before = threads();
  set_threads(1);
  CHECK(threads() == 1);
  set_threads(0);
  CHECK(threads() >= 1);
  set_threads(before);
  CHECK(threads() == before);
}

TEST_CASE("parallel_for covers every index exactly once and propagates exceptions") {
  const int before = threads();
  set_threads(2);
  std::vector<std::atomic<int>> hits(1000);
  parallel_for(1000, 10, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) hits[i]++;
  });
  for (auto& h : hits) REQUIRE(h.load() == 1);
  // Idle workers poll for a fraction of a millisecond, then sleep: after a pause, the next job
  // has to wake them (and the caller may sleep waiting for them).
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    parallel_for(1000, 10, [&](std::size_t b, std::size_t e) {
      if (b > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the caller waits
      for (std::size_t i = b; i < e; ++i) hits[i]++;
    });
  }
  for (auto& h : hits) REQUIRE(h.load() == 4);
  CHECK_THROWS_AS(parallel_for(100, 1,
                               [&](std::size_t b, std::size_t) {
                                 if (b > 0) throw attn::error("boom");
                               }),
                  attn::error);
  set_threads(before);
}

// attn's own parallel loops partition work so that results are bitwise independent of the
// thread count. (OpenBLAS's threaded sgemm is not: linear is checked with a tolerance below.)
TEST_CASE("ops give identical values and gradients with 1 and 2 threads (parallel paths engaged)") {
  rng gen(1);
  // Big enough that attention, layer_norm, gelu, softmax, dropout and the loss split into chunks.
  const std::size_t B = 8, T = 128, H = 2, dh = 32, d = H * dh;
  parameter_store ps;
  auto& q = ps.add("q", B * T, d);
  auto& k = ps.add("k", B * T, d);
  auto& v = ps.add("v", B * T, d);
  auto& g = ps.add("g", 1, d);
  auto& w = ps.add("w", d, 4 * d);
  auto& kp = ps.add("kp", B * T, d);
  auto& sv = ps.add("sv", 1, d);
  for (auto* p : {&q, &k, &v, &g, &w, &kp, &sv}) attn::testing::fill_normal(p->value, gen, 0.5f);
  std::vector<std::int32_t> lengths{128, 3, 50, 1, 127, 64, 0, 100}, targets(B * T);
  for (auto& y : targets) y = static_cast<std::int32_t>(gen.below(4 * d));
  auto run = [&](int n) {
    set_threads(n);
    ps.zero_grad();
    tape t;
    rng drop(3);
    // without weights to return at T = 128 the tiled path (flash_attention.h), with them the untiled one
    attention_weights keep;
    const attention_shape s{B, T, T, H, true, lengths};
    var a = add(attention(t.param(q), t.param(k), t.param(v), s, scoring::scaled_dot),
                attention(t.param(v), t.param(q), t.param(k), s, scoring::scaled_dot, &keep));
    var b = additive_attention(t.param(q), t.param(kp), t.param(sv), t.param(v), {B, T, T, 1, false, lengths});
    var y = layer_norm(add(a, b), t.param(g), var{});
    var h = dropout(gelu(concat_cols({y, y, y, y})), 0.2f, drop);
    var loss = softmax_cross_entropy(add(h, softmax(h)), targets, 0, 0.1f);
    t.backward(loss);
    return std::vector<matrix>{loss.value(), q.grad, k.grad, v.grad, g.grad, w.grad, kp.grad, sv.grad};
  };
  const int before = threads();
  auto one = run(1), two = run(2);
  set_threads(before);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    CHECK(one[i] == two[i]);
  }
}

// On two threads the backward passes of linear, activated_linear and projected_cross_entropy run
// their two weight-sized products side by side, one thread each (detail::side_by_side).
TEST_CASE("linear, activated_linear and projected_cross_entropy with 1 and 2 BLAS threads agree to rounding") {
  rng gen(2);
  parameter_store ps;
  auto& x = ps.add("x", 512, 96);
  auto& w = ps.add("w", 96, 200);
  auto& b = ps.add("b", 1, 200);
  auto& w2 = ps.add("w2", 200, 64);
  auto& b2 = ps.add("b2", 1, 64);
  auto& w3 = ps.add("w3", 64, 300);
  auto& b3 = ps.add("b3", 1, 300);
  for (auto* p : {&x, &w, &b, &w2, &b2, &w3, &b3}) attn::testing::fill_normal(p->value, gen, 0.3f);
  std::vector<std::int32_t> targets(512);
  for (auto& y : targets) y = static_cast<std::int32_t>(gen.below(300));
  targets[5] = targets[77] = 0;  // pad rows
  auto run = [&](int n) {
    set_threads(n);
    ps.zero_grad();
    tape t;
    var y = linear(t.param(x), t.param(w), t.param(b));
    var h = activated_linear(y, activation_fn::relu, t.param(w2), t.param(b2), 0.1f, 99);
    t.backward(projected_cross_entropy(h, t.param(w3), t.param(b3), false, targets, 0, 0.1f));
    return std::vector<matrix>{y.value(), x.grad, w.grad, b.grad, w2.grad, b2.grad, w3.grad, b3.grad};
  };
  const int before = threads();
  auto one = run(1), two = run(2);
  set_threads(before);
  for (std::size_t i = 0; i < one.size(); ++i) {
    double worst = 0, scale = 0;
    for (std::size_t e = 0; e < one[i].size(); ++e) {
      worst = std::max(worst, static_cast<double>(std::fabs(one[i].data()[e] - two[i].data()[e])));
      scale = std::max(scale, static_cast<double>(std::fabs(one[i].data()[e])));
    }
    CAPTURE(i);
    CHECK(worst <= 1e-5 * scale);
  }
}
