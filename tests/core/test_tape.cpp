// The tape: parameter leaves alias parameter storage, gradients accumulate, closures run in
// reverse, no_grad records nothing, and buffers are reused across reset().
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/gradcheck.h"
#include "core/init.h"
#include "core/ops.h"

using namespace attn;
using attn::testing::fill_normal;

namespace {
// A small training-like graph touching most ops; returns the loss.
var toy_step(tape& t, parameter_store& ps, rng& dropout_gen) {
  const std::size_t B = 2, T = 5, d = 8, H = 2;
  var emb = embedding(t.param(ps.at("emb")), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  var x = layer_norm(emb, t.param(ps.at("ln.g")), t.param(ps.at("ln.b")));
  auto qkv = split_cols(linear(x, t.param(ps.at("qkv.w")), t.param(ps.at("qkv.b"))), {d, d, d});
  var a = attention(qkv[0], qkv[1], qkv[2], {B, T, T, H, true, {5, 3}}, scoring::scaled_dot);
  var h = add(x, dropout(gelu(a), 0.1f, dropout_gen));
  auto hc = lstm_cell(linear(h, t.param(ps.at("ih")), var{}), h, h, t.param(ps.at("hh")));
  var logits = linear(hc.first, t.param(ps.at("out")), var{});
  return softmax_cross_entropy(logits, {1, 2, 3, 0, 0, 4, 5, 6, 7, 0}, 0, 0.1f);
}

void toy_params(parameter_store& ps) {
  rng gen(3);
  const std::size_t d = 8, V = 11;
  for (auto [name, r, c] : std::vector<std::tuple<const char*, std::size_t, std::size_t>>{{"emb", V, d},
                                                                                          {"ln.g", 1, d},
                                                                                          {"ln.b", 1, d},
                                                                                          {"qkv.w", d, 3 * d},
                                                                                          {"qkv.b", 1, 3 * d},
                                                                                          {"ih", d, 4 * d},
                                                                                          {"hh", d, 4 * d},
                                                                                          {"out", d, V}})
    fill_normal(ps.add(name, r, c).value, gen, 0.5f);
}
}  // namespace

TEST_CASE("param leaves alias the parameter's value; gradients accumulate into parameter::grad") {
  rng gen(1);
  parameter_store ps;
  auto& w = ps.add("w", 3, 2);
  fill_normal(w.value, gen);
  matrix xm = matrix::from_shape({4, 3});
  fill_normal(xm, gen);

  tape t;
  var pw = t.param(w);
  CHECK(&pw.value() == &w.value);
  CHECK(pw.needs_grad());
  CHECK_FALSE(t.constant(xm).needs_grad());

  // Never zeroed: backward allocates the gradient (zeroed) itself.
  CHECK(w.grad.size() == 0);
  matrix R = matrix::from_shape({4, 2});
  fill_normal(R, gen);
  auto run = [&] {
    t.reset();
    var y = matmul(t.constant(xm), t.param(w));
    t.backward(attn::testing::project_to_scalar(t, y, R));
  };
  run();
  REQUIRE(w.grad.shape() == w.value.shape());
  const matrix once = w.grad;
  // dL/dw = xᵀ R
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      double s = 0;
      for (std::size_t r = 0; r < 4; ++r) s += static_cast<double>(xm(r, i)) * R(r, j);
      CHECK(once(i, j) == doctest::Approx(s).epsilon(1e-5));
    }
  run();  // no zero_grad in between: accumulates
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(w.grad.data()[i] == doctest::Approx(2 * once.data()[i]));
  ps.zero_grad();
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(w.grad.data()[i] == 0.0f);

  // The same parameter used twice in one graph gets both contributions.
  t.reset();
  var y = add(matmul(t.constant(xm), t.param(w)), matmul(t.constant(xm), t.param(w)));
  t.backward(attn::testing::project_to_scalar(t, y, R));
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(w.grad.data()[i] == doctest::Approx(2 * once.data()[i]));
}

TEST_CASE("frozen parameters get no gradient") {
  rng gen(2);
  parameter_store ps;
  auto& w = ps.add("w", 3, 3);
  auto& f = ps.add("frozen", 3, 3);
  fill_normal(w.value, gen);
  fill_normal(f.value, gen);
  f.trainable = false;
  tape t;
  var pf = t.param(f);
  CHECK_FALSE(pf.needs_grad());
  var y = matmul(t.param(w), pf);
  t.backward(softmax_cross_entropy(y, {0, 1, 2}));
  CHECK(f.grad.size() == 0);
  CHECK(w.grad.size() == 9);

  // Nothing trainable: backward is a no-op.
  tape t2;
  var only = softmax_cross_entropy(matmul(t2.param(f), t2.param(f)), {0, 1, 2});
  CHECK_FALSE(only.needs_grad());
  CHECK(t2.closures() == 0);
  t2.backward(only);
  CHECK(f.grad.size() == 0);
}

TEST_CASE("no_grad: values only, no closures, no gradient buffers") {
  parameter_store ps;
  toy_params(ps);
  tape ref;
  rng g1(7);
  const float with_grad = toy_step(ref, ps, g1).value()(0, 0);
  CHECK(ref.closures() > 10);

  tape t;
  rng g2(7);
  var loss;
  {
    no_grad ng(t);
    loss = toy_step(t, ps, g2);
  }
  CHECK(t.recording());
  CHECK(t.closures() == 0);
  CHECK_FALSE(loss.needs_grad());
  for (std::size_t i = 0; i < t.size(); ++i) CHECK(t.at(static_cast<int>(i)).own_grad.size() == 0);
  // Dropout is the identity without recording, so the losses differ only through it.
  CHECK(std::isfinite(loss.value()(0, 0)));
  CHECK(loss.value()(0, 0) != with_grad);
  t.backward(loss);  // nothing to do
  for (const parameter* p : ps.all()) CHECK(p->grad.size() == 0);
}

TEST_CASE("reset(): an identical forward/backward allocates nothing new and reuses node buffers") {
  parameter_store ps;
  toy_params(ps);
  tape t;
  rng gen(1);
  std::vector<const float*> first_ptrs;
  float first_loss = 0;
  for (int step = 0; step < 3; ++step) {
    t.reset();
    ps.zero_grad();
    rng g(11);
    var loss = toy_step(t, ps, g);
    t.backward(loss);
    std::vector<const float*> ptrs;
    for (std::size_t i = 0; i < t.size(); ++i) ptrs.push_back(t.at(static_cast<int>(i)).own_value.data());
    if (step == 0) {
      first_ptrs = ptrs;
      first_loss = loss.value()(0, 0);
    } else {
      CHECK(ptrs == first_ptrs);
      CHECK(loss.value()(0, 0) == first_loss);
    }
    if (step == 1) {
      const std::size_t before = t.allocations();
      t.reset();
      ps.zero_grad();
      rng g2(11);
      t.backward(toy_step(t, ps, g2));
      CHECK(t.allocations() == before);
    }
  }
  CHECK(t.allocations() > 0);
}

TEST_CASE("closures run in reverse order and are skipped when their outputs get no gradient") {
  tape t;
  std::vector<int> order;
  var a = t.make(1, 1, true);
  a.mutable_value()(0, 0) = 1.0f;
  t.on_backward([&] { order.push_back(1); });
  var unused = t.make(1, 1, true);
  t.on_backward([&] { order.push_back(99); });
  var b = t.make(1, 1, true);
  t.on_backward([&, a, b] {
    order.push_back(2);
    a.grad()(0, 0) += 3.0f * b.grad()(0, 0);
  });
  (void)unused;
  t.backward(b);
  CHECK(order == std::vector<int>{2, 1});
  CHECK(a.grad()(0, 0) == 3.0f);
  CHECK(b.grad()(0, 0) == 1.0f);
}

TEST_CASE("backward checks its argument") {
  tape t, other;
  var m = t.make(2, 1, true);
  CHECK_THROWS_AS(t.backward(m), attn::error);
  var s = other.make(1, 1, true);
  CHECK_THROWS_AS(t.backward(s), attn::error);
  CHECK_THROWS_AS(t.backward(var{}), attn::error);
}

TEST_CASE("scratch references stay valid as more scratch buffers are requested") {
  tape t;
  matrix& first = t.scratch(3, 3);
  first.fill(7.0f);
  for (int i = 0; i < 100; ++i) t.scratch(2, 2);
  CHECK(first(2, 2) == 7.0f);
  CHECK(rows(first) == 3);
}

TEST_CASE("gradient pool: op outputs' gradients are reused down the chain; leaves keep theirs; release frees all") {
  rng gen(5);
  parameter_store ps;
  parameter& w = ps.add("w", 64, 64);
  init_normal(w.value, gen, 1.0f);
  tape t;
  var leaf = t.make(64, 64, true);  // a leaf made directly, not by an op
  std::fill(leaf.mutable_value().data(), leaf.mutable_value().data() + 64 * 64, 0.5f);
  var x = add(t.param(w), leaf);
  for (int i = 0; i < 10; ++i) x = gelu(x);
  var loss = softmax_cross_entropy(x, std::vector<std::int32_t>(64, 3));
  ps.zero_grad();
  t.backward(loss);
  const std::size_t one = 64 * 64 * sizeof(float);
  // Twelve [64,64] op outputs and the leaf: thirteen values, and at most a few gradients were
  // alive at once (the leaf's among them); the op outputs' are all back in the pool.
  CHECK(t.memory().total() <= 16 * one + 2 * sizeof(float));
  CHECK(t.memory().values + t.memory().pooled >= 12 * one);
  CHECK(t.memory().grads == one);  // held by a node: the leaf's
  // The leaf's gradient is still there: d loss / d leaf = d loss / d w.
  CHECK(leaf.has_grad());
  for (std::size_t i = 0; i < 64 * 64; ++i) REQUIRE(leaf.grad().data()[i] == w.grad.data()[i]);
  // In steady state a step allocates nothing.
  auto step = [&] {
    t.reset();
    ps.zero_grad();
    var l = t.make(64, 64, true);
    std::fill(l.mutable_value().data(), l.mutable_value().data() + 64 * 64, 0.5f);
    var y = add(t.param(w), l);
    for (int i = 0; i < 10; ++i) y = gelu(y);
    t.backward(softmax_cross_entropy(y, std::vector<std::int32_t>(64, 3)));
  };
  step();
  const std::size_t before = t.allocations();
  step();
  step();
  CHECK(t.allocations() == before);
  t.release();
  CHECK(t.memory().total() == 0);
}

TEST_CASE(
    "backward pass: spent values' buffers hold the gradients that come after them; released values cannot be read") {
  rng gen(9);
  parameter_store ps;
  parameter& w = ps.add("w", 64, 64);
  init_normal(w.value, gen, 1.0f);
  tape t;
  const std::size_t one = 64 * 64 * sizeof(float);
  auto held = [&] { return t.memory().total(); };
  // Eight branches from x0 summed, then a chain of ten: the backward pass goes down the chain
  // first (one or two gradients alive), then has the eight branches' gradients alive at once.
  auto forward = [&] {
    var x0 = gelu(t.param(w));
    std::vector<var> branches;
    for (int i = 0; i < 8; ++i) branches.push_back(gelu(x0));
    var s = branches[0];
    for (int i = 1; i < 8; ++i) s = add(s, branches[i]);
    for (int i = 0; i < 10; ++i) s = gelu(s);
    return std::pair<var, var>{s, softmax_cross_entropy(s, std::vector<std::int32_t>(64, 3))};
  };
  ps.zero_grad();
  auto [s, loss] = forward();
  const std::size_t after_forward = held();
  const float loss_value = loss.value()(0, 0);
  t.backward(loss);
  // The eight branch gradients took the buffers of the chain's spent values: the pass added the
  // chain's first two gradients to what the forward pass held (keeping every value, it added nine).
  CHECK(held() <= after_forward + 3 * one);
  CHECK(loss.value()(0, 0) == loss_value);  // the node the pass started from keeps its value
  CHECK_THROWS_AS(s.value(), attn::error);  // an op's output, released: reading it fails loudly
  CHECK(s.rows() == 64);                    // its shape stays
  CHECK_FALSE(t.owns_value(s));
  // The next step on the same tape: its nodes have their buffers back, the same loss and gradient.
  const matrix grad_first = w.grad;
  auto step = [&] {
    t.reset();
    ps.zero_grad();
    auto [s2, loss2] = forward();
    CHECK(loss2.value()(0, 0) == loss_value);
    t.backward(loss2);
    for (std::size_t i = 0; i < w.grad.size(); ++i) REQUIRE(w.grad.data()[i] == grad_first.data()[i]);
  };
  step();
  const std::size_t allocations = t.allocations(), steady = held();
  step();
  step();
  CHECK(t.allocations() == allocations);  // steady state allocates nothing
  CHECK(held() == steady);
}

TEST_CASE("discard: a dead value's buffer serves the next node of its size; gradients and shapes are kept") {
  rng gen(6);
  parameter_store ps;
  parameter& w = ps.add("w", 16, 48);
  init_normal(w.value, gen, 0.3f);
  matrix input = matrix::from_shape({20, 16});
  fill_normal(input, gen);
  const std::size_t packed_bytes = 20 * 48 * sizeof(float);
  // Three layers of "project to [N,48], copy out three [N,16] blocks, sum them": the projection
  // is read only by split_cols, so it can be discarded once split.
  auto forward = [&](tape& t, bool discard) {
    var x = t.constant(input);
    for (int layer = 0; layer < 3; ++layer) {
      var packed = linear(x, t.param(w), var{});
      auto parts = split_cols(packed, {16, 16, 16});
      if (discard) {
        t.discard(packed);
        CHECK(packed.rows() == 20);  // the shape survives the buffer
        CHECK(packed.cols() == 48);
        CHECK_FALSE(t.owns_value(packed));
        CHECK_THROWS_AS(packed.value(), attn::error);  // nothing to read
      }
      x = gelu(add(add(parts[0], parts[1]), parts[2]));
    }
    return softmax_cross_entropy(x, std::vector<std::int32_t>(20, 2));
  };
  tape kept, dropped;
  ps.zero_grad();
  var l1 = forward(kept, false);
  const std::size_t kept_values = kept.memory().values + kept.memory().pooled;
  kept.backward(l1);
  const matrix grad_kept = w.grad;
  ps.zero_grad();
  var l2 = forward(dropped, true);
  // The three projections shared one buffer: after the forward pass, two fewer [20,48] values are held.
  CHECK(kept_values - (dropped.memory().values + dropped.memory().pooled) == 2 * packed_bytes);
  dropped.backward(l2);
  CHECK(l1.value()(0, 0) == l2.value()(0, 0));
  for (std::size_t i = 0; i < w.grad.size(); ++i) REQUIRE(w.grad.data()[i] == grad_kept.data()[i]);
  // Steady state allocates nothing; a step of another shape frees the pooled buffers of the old one
  // at its end.
  for (int step = 0; step < 2; ++step) {
    dropped.reset();
    ps.zero_grad();
    dropped.backward(forward(dropped, true));
  }
  const std::size_t before = dropped.allocations();
  dropped.reset();
  ps.zero_grad();
  dropped.backward(forward(dropped, true));
  CHECK(dropped.allocations() == before);
  const std::size_t big_step_values = dropped.memory().values + dropped.memory().pooled;
  dropped.reset();
  {
    var y = dropped.make(3, 3, false);
    dropped.discard(y);
    dropped.discard(y);  // twice: nothing more happens
    var z = dropped.make(3, 3, false);
    CHECK(z.value().size() == 9);
    dropped.discard(dropped.param(w));  // a parameter's value is never given away
    CHECK(w.value.size() == 16 * 48);
  }
  dropped.reset();  // the [20,48] size was not used in the last step: its pooled buffer is freed
  dropped.reset();
  // (the small step also shrank the constant's node from [20,16] to [3,3]: less than packed_bytes)
  CHECK(dropped.memory().values + dropped.memory().pooled <= big_step_values - packed_bytes);
  tape other;
  CHECK_THROWS_AS(other.discard(l2), attn::error);
}

TEST_CASE("take_value: an output leaves the tape without a copy; a parameter's value is copied") {
  rng gen(8);
  parameter_store ps;
  parameter& w = ps.add("w", 6, 10);
  init_normal(w.value, gen, 0.5f);
  matrix input = matrix::from_shape({4, 6});
  fill_normal(input, gen);
  matrix expected = matrix::from_shape({4, 10});  // input · w
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 10; ++j) {
      float s = 0.0f;
      for (std::size_t k = 0; k < 6; ++k) s += input(i, k) * w.value(k, j);
      expected(i, j) = s;
    }
  tape t;
  no_grad off(t);
  auto step = [&] { return linear(t.constant(input), t.param(w), var{}); };
  var y = step();
  const float* buffer = y.value().data();
  matrix taken = t.take_value(y);
  CHECK(taken.data() == buffer);  // the node's own buffer, moved
  REQUIRE(taken.shape() == expected.shape());
  for (std::size_t i = 0; i < taken.size(); ++i)
    CHECK(taken.data()[i] == doctest::Approx(expected.data()[i]).epsilon(1e-5));
  CHECK(y.rows() == 4);  // the shape stays, the value is gone
  CHECK_THROWS_AS(y.value(), attn::error);
  CHECK_THROWS_AS(t.take_value(y), attn::error);
  // A parameter's value stays with the parameter.
  const matrix copy = t.take_value(t.param(w));
  CHECK(copy.data() != w.value.data());
  CHECK(copy == w.value);
  // The next graph's node gets a buffer of its own again.
  t.reset();
  const std::size_t before = t.allocations();
  var again = step();
  CHECK(t.allocations() == before + 1);
  CHECK(again.value() == taken);
}
