#include <doctest/doctest.h>

#include "nn/dropout.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("dropout: identity when p == 0 or not recording") {
  rng gen(1);
  matrix x = matrix::from_shape({4, 5});
  fill_normal(x, gen);
  tape t;
  nn::dropout none{0.0f};
  var a = t.constant(x);
  CHECK(none.forward(a, gen).id == a.id);
  nn::dropout half{0.5f};
  no_grad ng(t);
  var y = half.forward(t.constant(x), gen);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y.value().data()[i] == x.data()[i]);
}

TEST_CASE("dropout: inverted scaling and gradient through the kept units") {
  rng gen(2);
  nn::dropout d{0.3f};
  matrix ones = matrix::from_shape({50, 40});
  ones.fill(1.0f);
  tape t;
  var z = d.forward(t.constant(ones), gen);
  double kept = 0, sum = 0;
  for (float v : z.value()) {
    CHECK((v == 0.0f || v == doctest::Approx(1.0f / 0.7f)));
    kept += v != 0.0f;
    sum += v;
  }
  CHECK(kept / 2000.0 == doctest::Approx(0.7).epsilon(0.06));
  CHECK(sum / 2000.0 == doctest::Approx(1.0).epsilon(0.08));

  parameter_store inputs;
  parameter& x = input_param(inputs, "x", 3, 4, gen);
  check_gradients({&inputs}, [&](tape& tp) {
    rng mask(7);  // same mask on every evaluation
    return d.forward(tp.param(x), mask);
  });
}
