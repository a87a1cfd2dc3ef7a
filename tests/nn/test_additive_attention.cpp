#include <doctest/doctest.h>

#include <cmath>

#include "nn/additive_attention.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("additive_attention: names and the Bahdanau formula") {
  rng gen(1);
  parameter_store store;
  nn::additive_attention a(store, "decoder.attn", 3, 2, 4, gen);
  CHECK(store.size() == 4);
  const matrix& w1 = store.at("decoder.attn.keys.weight").value;  // [dk, a]
  const matrix& w2 = store.at("decoder.attn.query.weight").value; // [dq, a]
  const matrix& bq = store.at("decoder.attn.query.bias").value;
  matrix& v = store.at("decoder.attn.v").value;
  store.at("decoder.attn.query.bias").value(0, 1) = 0.3f;
  CHECK(w1.shape()[0] == 2);
  CHECK(w2.shape()[0] == 3);
  CHECK(v.shape()[1] == 4);

  const std::size_t Tk = 3;
  matrix x = matrix::from_shape({Tk, 2}), y = matrix::from_shape({1, 3});
  fill_normal(x, gen);
  fill_normal(y, gen);
  tape t;
  auto keys = a.precompute_keys(t.constant(x), 1, Tk);
  attention_weights w;
  var ctx = a.attend(keys, t.constant(y), &w);
  // reference in double
  std::vector<double> e(Tk);
  double z = 0;
  for (std::size_t j = 0; j < Tk; ++j) {
    double s = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      double pre = bq(0, k);
      for (std::size_t i = 0; i < 2; ++i) pre += x(j, i) * w1(i, k);
      for (std::size_t i = 0; i < 3; ++i) pre += y(0, i) * w2(i, k);
      s += v(0, k) * std::tanh(pre);
    }
    e[j] = std::exp(s);
    z += e[j];
  }
  for (std::size_t c = 0; c < 2; ++c) {
    double ref = 0;
    for (std::size_t j = 0; j < Tk; ++j) ref += e[j] / z * x(j, c);
    CHECK(ctx.value()(0, c) == doctest::Approx(ref).epsilon(1e-5));
  }
  for (std::size_t j = 0; j < Tk; ++j) CHECK(w.w(0, j) == doctest::Approx(e[j] / z).epsilon(1e-5));
}

TEST_CASE("additive_attention: step-by-step attend equals all queries at once; padding masked") {
  rng gen(2);
  parameter_store store;
  const std::size_t B = 2, Tk = 4, Tq = 3, dq = 3, dk = 5;
  nn::additive_attention a(store, "att", dq, dk, 6, gen);
  matrix mem = matrix::from_shape({B * Tk, dk}), q = matrix::from_shape({B * Tq, dq});
  fill_normal(mem, gen);
  fill_normal(q, gen);
  const std::vector<std::int32_t> lengths = {4, 2};
  tape t;
  no_grad ng(t);
  auto keys = a.precompute_keys(t.constant(mem), B, Tk, lengths);
  attention_weights w;
  const matrix all = a.attend(keys, t.constant(q), &w).value();
  for (std::size_t r = 0; r < B * Tq; ++r) {
    double sum = 0;
    for (std::size_t j = 0; j < Tk; ++j) sum += w.w(r, j);
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  }
  for (std::size_t s = 0; s < Tq; ++s) CHECK(w.w(Tq + s, 3) == 0.0f);  // item 1 has 2 keys
  for (std::size_t s = 0; s < Tq; ++s) {
    matrix qs = matrix::from_shape({B, dq});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < dq; ++j) qs(b, j) = q(b * Tq + s, j);
    const matrix one = a.attend(keys, t.constant(qs)).value();
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < dk; ++j) CHECK(one(b, j) == doctest::Approx(all(b * Tq + s, j)).epsilon(1e-5));
  }
}

TEST_CASE("additive_attention: gradients of all parameters, keys and queries") {
  for (bool pad : {false, true}) {
    rng gen(pad ? 3 : 4);
    const std::size_t B = 1 + gen.below(3), Tk = 2 + gen.below(3), Tq = 1 + gen.below(2);
    parameter_store store, inputs;
    nn::additive_attention a(store, "att", 3, 4, 5, gen);
    parameter& mem = input_param(inputs, "memory", B * Tk, 4, gen);
    parameter& q = input_param(inputs, "query", B * Tq, 3, gen);
    std::vector<std::int32_t> lengths;
    if (pad)
      for (std::size_t b = 0; b < B; ++b) lengths.push_back(static_cast<std::int32_t>(1 + gen.below(Tk)));
    check_gradients({&store, &inputs}, [&](tape& t) {
      auto keys = a.precompute_keys(t.param(mem), B, Tk, lengths);
      return a.attend(keys, t.param(q));
    });
  }
}
