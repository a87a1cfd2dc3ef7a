#include <doctest/doctest.h>

#include "nn/linear.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("linear: parameter names, shapes and init") {
  parameter_store store;
  rng gen(1);
  nn::linear l(store, "enc.proj", 5, 3, gen);
  REQUIRE(store.size() == 2);
  CHECK(store.at("enc.proj.weight").value.shape()[0] == 5);
  CHECK(store.at("enc.proj.weight").value.shape()[1] == 3);
  CHECK(store.at("enc.proj.weight").decay);
  const parameter& b = store.at("enc.proj.bias");
  CHECK(b.value.shape()[0] == 1);
  CHECK(b.value.shape()[1] == 3);
  CHECK_FALSE(b.decay);
  for (float v : b.value) CHECK(v == 0.0f);
  const float a = std::sqrt(6.0f / 8.0f);
  for (float v : store.at("enc.proj.weight").value) CHECK(std::abs(v) <= a);

  parameter_store nobias;
  nn::linear l2(nobias, "x", 4, 4, gen, /*bias=*/false);
  CHECK(nobias.size() == 1);
  CHECK(l2.bias() == nullptr);
}

TEST_CASE("linear: forward is x·W + b") {
  parameter_store store;
  rng gen(2);
  nn::linear l(store, "l", 2, 2, gen);
  store.at("l.weight").value = {{1, 2}, {3, 4}};
  store.at("l.bias").value = {{10, 20}};
  tape t;
  matrix x = {{1, 1}, {2, 0}};
  var y = l.forward(t.constant(x));
  CHECK(y.value()(0, 0) == doctest::Approx(14));
  CHECK(y.value()(0, 1) == doctest::Approx(26));
  CHECK(y.value()(1, 0) == doctest::Approx(12));
  CHECK(y.value()(1, 1) == doctest::Approx(24));
}

TEST_CASE("linear: gradients of weight, bias and input") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    rng gen(seed);
    const std::size_t n = 1 + gen.below(5), in = 1 + gen.below(6), out = 1 + gen.below(6);
    parameter_store store, inputs;
    nn::linear l(store, "l", in, out, gen);
    parameter& x = input_param(inputs, "x", n, in, gen);
    check_gradients({&store, &inputs}, [&](tape& t) { return l.forward(t.param(x)); });
  }
}
