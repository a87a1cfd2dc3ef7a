#include <doctest/doctest.h>

#include "nn/layer_norm.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("layer_norm: names, init, no decay") {
  parameter_store store;
  nn::layer_norm ln(store, "enc.layers.0.ln1", 5);
  const parameter& g = store.at("enc.layers.0.ln1.gain");
  const parameter& b = store.at("enc.layers.0.ln1.bias");
  CHECK_FALSE(g.decay);
  CHECK_FALSE(b.decay);
  for (float v : g.value) CHECK(v == 1.0f);
  for (float v : b.value) CHECK(v == 0.0f);
}

TEST_CASE("layer_norm: output rows have zero mean and unit variance at init") {
  parameter_store store;
  nn::layer_norm ln(store, "ln", 8);
  rng gen(3);
  matrix x = matrix::from_shape({3, 8});
  fill_normal(x, gen, 3.0f);
  tape t;
  var y = ln.forward(t.constant(x));
  for (std::size_t i = 0; i < 3; ++i) {
    double m = 0, v = 0;
    for (std::size_t j = 0; j < 8; ++j) m += y.value()(i, j);
    m /= 8;
    for (std::size_t j = 0; j < 8; ++j) v += (y.value()(i, j) - m) * (y.value()(i, j) - m);
    CHECK(m == doctest::Approx(0.0).epsilon(1e-5).scale(1));
    CHECK(v / 8 == doctest::Approx(1.0).epsilon(1e-3));
  }
}

TEST_CASE("layer_norm: gradients of gain, bias and input") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    rng gen(seed);
    const std::size_t n = 1 + gen.below(4), d = 3 + gen.below(6);
    parameter_store store, inputs;
    nn::layer_norm ln(store, "ln", d);
    fill_normal(store.at("ln.gain").value, gen);  // away from the init so every term matters
    fill_normal(store.at("ln.bias").value, gen);
    parameter& x = input_param(inputs, "x", n, d, gen);
    check_gradients({&store, &inputs}, [&](tape& t) { return ln.forward(t.param(x)); });
  }
}
