// Thread setting and parallel_for; results do not depend on the thread count.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/ops_lstm.h"
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

TEST_CASE("shape ops, the LSTM ops and zero_grad give identical values and gradients with 1 and 2 threads") {
  rng gen(5);
  // Sizes that split every pass: a gather with repeated rows (its backward split by columns),
  // concat_rows across its parts, overlapping slices (their gradients added), add, and an LSTM
  // whose ranks run for different numbers of steps (chunks of unequal size, lstm_sequence) and a
  // step of 64 rows of 4 x 128 gates (lstm_cell).
  const std::size_t V = 50, d = 256, n = 3000, B = 40, H = 64;
  parameter_store ps;
  auto& table = ps.add("table", V, d);
  auto& extra = ps.add("extra", 7, d);
  const std::vector<std::size_t> steps{40, 40, 37, 30, 22, 22, 9, 5, 2, 1};  // ranks running each step
  std::size_t N = 0;
  for (std::size_t s : steps) N += s;
  auto& gx = ps.add("gx", N, 4 * H);
  auto& h0 = ps.add("h0", B, H);
  auto& c0 = ps.add("c0", B, H);
  auto& whh = ps.add("whh", H, 4 * H);
  auto& gx2 = ps.add("gx2", B, 4 * H);
  auto& wide = ps.add("wide", 64, 2 * H);
  auto& whh2 = ps.add("whh2", 2 * H, 8 * H);
  auto& gx3 = ps.add("gx3", 64, 8 * H);
  for (auto* p : {&table, &extra, &gx, &h0, &c0, &whh, &gx2, &wide, &whh2, &gx3})
    attn::testing::fill_normal(p->value, gen, 0.5f);
  std::vector<std::int32_t> ids(n), targets(n + 7 + 1000), lstm_targets(N + B), cell_targets(64);
  for (auto& i : ids) i = static_cast<std::int32_t>(gen.below(V));
  for (auto& y : targets) y = static_cast<std::int32_t>(gen.below(d));
  for (auto& y : lstm_targets) y = static_cast<std::int32_t>(gen.below(H));
  for (auto& y : cell_targets) y = static_cast<std::int32_t>(gen.below(2 * H));
  auto run = [&](int threads_n) {
    set_threads(threads_n);
    ps.zero_grad();
    tape t;
    var e = gather_rows(t.param(table), ids);                                                  // [3000, d]
    var parts = concat_rows({slice_rows(e, 0, n), t.param(extra), slice_rows(e, 500, 1000)});  // [4007, d]
    var x = add(parts, parts);
    const lstm_sequence_output o = lstm_sequence(t.param(gx), t.param(h0), t.param(c0), t.param(whh), steps);
    auto [h2, c2] = lstm_cell(t.param(gx2), o.h_last, o.c_last, t.param(whh));
    auto [h3, c3] = lstm_cell(t.param(gx3), t.param(wide), t.param(wide), t.param(whh2));
    var loss = add(add(softmax_cross_entropy(x, targets, -1, 0.0f),
                       softmax_cross_entropy(concat_rows({o.h, h2}), lstm_targets, -1, 0.0f)),
                   softmax_cross_entropy(h3, cell_targets, -1, 0.0f));
    (void)c2;
    (void)c3;
    std::vector<matrix> out{e.value(), x.value(), o.h.value(), h2.value()};  // before the backward pass releases them
    t.backward(loss);
    out.push_back(loss.value());
    for (auto* p : {&table, &extra, &gx, &h0, &c0, &whh, &gx2, &wide, &whh2, &gx3}) out.push_back(p->grad);
    return out;
  };
  const int before = threads();
  auto one = run(1), two = run(2);
  // Exactly equal, except what goes through a product of over 2^20 multiply-adds (the second
  // cell's gates and gradients, w_hh's gradient), which two threads split into OpenBLAS calls
  // whose blocking may round differently on another CPU's kernel (to within float rounding, as
  // for linear below). The rest runs on attn's own kernels, bit for bit on any thread count.
  const std::vector<std::size_t> through_split_products{10, 12, 13, 14};  // whh, wide, whh2, gx3
  for (std::size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    if (std::find(through_split_products.begin(), through_split_products.end(), i) == through_split_products.end()) {
      CHECK(one[i] == two[i]);
      continue;
    }
    double worst = 0, scale = 0;
    for (std::size_t e = 0; e < one[i].size(); ++e) {
      worst = std::max(worst, static_cast<double>(std::fabs(one[i].data()[e] - two[i].data()[e])));
      scale = std::max(scale, static_cast<double>(std::fabs(one[i].data()[e])));
    }
    CHECK(worst <= 1e-5 * scale);
  }
  // zero_grad clears every gradient on two threads, however the parameters' sizes fall on the chunks
  for (auto* p : {&table, &extra, &gx, &h0, &c0, &whh, &gx2, &wide, &whh2, &gx3}) p->grad.fill(1.0f);
  ps.zero_grad();
  for (auto* p : {&table, &extra, &gx, &h0, &c0, &whh, &gx2, &wide, &whh2, &gx3})
    CHECK(std::all_of(p->grad.begin(), p->grad.end(), [](float g) { return g == 0.0f; }));
  set_threads(before);
}

TEST_CASE("inside a parallel_for chunk (a decoding worker) the LSTM runs as on one thread, every rank") {
  // lstm_sequence splits its ranks among the threads; inside a chunk its own parallel_for runs
  // inline, as one call, so it must not split (it once computed the first chunk's ranks only)
  rng gen(9);
  const std::size_t B = 16, H = 32;
  const std::vector<std::size_t> steps{16, 16, 12, 9, 4};
  std::size_t N = 0;
  for (std::size_t s : steps) N += s;
  parameter_store ps;
  auto& gx = ps.add("gx", N, 4 * H);
  auto& h0 = ps.add("h0", B, H);
  auto& c0 = ps.add("c0", B, H);
  auto& whh = ps.add("whh", H, 4 * H);
  for (auto* p : {&gx, &h0, &c0, &whh}) attn::testing::fill_normal(p->value, gen, 0.5f);
  std::vector<std::int32_t> targets(N);
  for (auto& y : targets) y = static_cast<std::int32_t>(gen.below(H));
  auto run = [&] {
    ps.zero_grad();
    tape t;
    const lstm_sequence_output o = lstm_sequence(t.param(gx), t.param(h0), t.param(c0), t.param(whh), steps);
    std::vector<matrix> out{o.h.value(), o.h_last.value(), o.c_last.value()};
    t.backward(softmax_cross_entropy(o.h, targets, -1, 0.0f));
    for (auto* p : {&gx, &h0, &c0, &whh}) out.push_back(p->grad);
    return out;
  };
  const int before = threads();
  set_threads(1);
  const std::vector<matrix> one = run();
  if (set_threads(2) == 2) {
    std::vector<matrix> inside;
    parallel_for(2, 1, [&](std::size_t first, std::size_t) {
      if (first == 0) inside = run();
    });
    REQUIRE(inside.size() == one.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      CAPTURE(i);
      CHECK(inside[i] == one[i]);
    }
  }
  set_threads(before);
}

// On two threads the backward passes of linear, activated_linear and projected_cross_entropy cut
// their two weight-sized products into pieces that the threads share (gemm_pair, blas.h).
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
    const matrix y_value = y.value();  // the backward pass releases it
    t.backward(projected_cross_entropy(h, t.param(w3), t.param(b3), false, targets, 0, 0.1f));
    return std::vector<matrix>{y_value, x.grad, w.grad, b.grad, w2.grad, b2.grad, w3.grad, b3.grad};
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
