// core/recompute.h: a block computed again in the backward pass gives the values and gradients
// of the same block recorded directly (dropout masks included), and its gradients pass a
// finite-difference check.
#include <doctest/doctest.h>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/recompute.h"

using namespace attn;
using attn::testing::check_gradients;
using attn::testing::fill_normal;

namespace {

// Two inputs a [N,d], b [N,d]: layer_norm(gelu(a·W) + b) · V, with dropout p on gelu's output.
struct block_params {
  parameter_store ps;
  parameter *w, *v, *gain, *bias, *a, *b;
  explicit block_params(std::uint64_t seed) {
    rng gen(seed);
    w = &ps.add("w", 6, 6);
    v = &ps.add("v", 6, 5);
    gain = &ps.add("gain", 1, 6);
    bias = &ps.add("bias", 1, 6);
    a = &ps.add("a", 4, 6);
    b = &ps.add("b", 4, 6);
    for (parameter* p : ps.all()) fill_normal(p->value, gen);
    for (float& g : gain->value) g = 1.0f + 0.1f * g;
  }
  var block(const std::vector<var>& in, rng& gen, float p) {
    tape& t = *in[0].t;
    var h = dropout(gelu(matmul(in[0], t.param(*w))), p, gen);
    return matmul(layer_norm(add(h, in[1]), t.param(*gain), t.param(*bias)), t.param(*v));
  }
};

}  // namespace

TEST_CASE("recompute: the same output and gradients as the block recorded directly, dropout included") {
  for (const float p : {0.0f, 0.3f}) {
    CAPTURE(p);
    block_params direct(7), again(7);
    rng gen_direct(11), gen_again(11);
    matrix r = matrix::from_shape({4, 5});
    rng rg(3);
    fill_normal(r, rg);
    // scalar loss sum(y ⊙ r), through matmul with a ones column
    auto run = [&](block_params& bp, rng& gen, bool checkpointed) {
      bp.ps.zero_grad();
      tape t;
      std::vector<var> in{t.param(*bp.a), t.param(*bp.b)};
      var y = checkpointed ? recompute(in, gen, [&](const std::vector<var>& x, rng& g) { return bp.block(x, g, p); })
                           : bp.block(in, gen, p);
      matrix yv = y.value();
      var l = matmul(matmul(mul(y, t.constant(r)), t.constant(xt::ones<float>({5ul, 1ul}))),
                     t.constant(xt::ones<float>({1ul, 4ul})), true, true);
      t.backward(l);
      return yv;
    };
    const matrix y1 = run(direct, gen_direct, false);
    const matrix y2 = run(again, gen_again, true);
    CHECK(y1 == y2);
    for (std::size_t k = 0; k < direct.ps.all().size(); ++k) {
      CAPTURE(direct.ps.all()[k]->name);
      CHECK(direct.ps.all()[k]->grad == again.ps.all()[k]->grad);
    }
    // gen advanced as the block advances it
    CHECK(gen_direct.next_u64() == gen_again.next_u64());
  }
}

TEST_CASE("recompute: finite-difference gradients of inputs and parameters") {
  block_params bp(5);
  check_gradients(bp.ps, [&](tape& t) {
    rng gen(13);
    return recompute({t.param(*bp.a), t.param(*bp.b)}, gen,
                     [&](const std::vector<var>& x, rng& g) { return bp.block(x, g, 0.2f); });
  });
}

TEST_CASE("recompute: not recording runs the block on the tape itself; bad inputs are refused") {
  block_params bp(9);
  tape t;
  no_grad off(t);
  rng gen(1);
  const std::size_t before = t.size();
  var y = recompute({t.param(*bp.a), t.param(*bp.b)}, gen,
                    [&](const std::vector<var>& x, rng& g) { return bp.block(x, g, 0.5f); });
  CHECK(y.t == &t);
  CHECK(t.size() > before + 3);  // the block's nodes are on t
  CHECK_THROWS_AS(recompute({}, gen, [](const std::vector<var>& x, rng&) { return x[0]; }), error);
  tape other;
  CHECK_THROWS_AS(recompute({t.param(*bp.a), other.param(*bp.b)}, gen,
                            [](const std::vector<var>& x, rng&) { return x[0]; }),
                  error);
}

TEST_CASE("tape::backward_from: a seeded gradient, checked against the shape") {
  parameter_store ps;
  parameter& w = ps.add("w", 3, 2);
  w.value.fill(2.0f);
  ps.zero_grad();
  tape t;
  var y = scale(t.param(w), 3.0f);
  matrix g = xt::ones<float>({3ul, 2ul});
  t.backward_from(y, g);
  CHECK(w.grad == xt::xtensor<float, 2>(xt::ones<float>({3ul, 2ul}) * 3.0f));
  CHECK_THROWS_AS(t.backward_from(y, xt::ones<float>({2ul, 2ul})), error);
}
