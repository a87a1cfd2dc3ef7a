#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "nn/positional.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("positional: sinusoidal table matches Vaswani et al.") {
  const std::size_t d = 6;
  matrix pe = sinusoidal_table(50, d);
  for (std::size_t pos : {0, 1, 7, 49})
    for (std::size_t i = 0; 2 * i < d; ++i) {
      const double angle = pos / std::pow(10000.0, 2.0 * i / d);
      CHECK(pe(pos, 2 * i) == doctest::Approx(std::sin(angle)).epsilon(1e-6));
      CHECK(pe(pos, 2 * i + 1) == doctest::Approx(std::cos(angle)).epsilon(1e-6));
    }
  CHECK(pe(0, 0) == 0.0f);
  CHECK(pe(0, 1) == 1.0f);
  CHECK(pe(1, 0) == doctest::Approx(std::sin(1.0)));             // i = 0: wavelength 2π
  CHECK(pe(3, 2) == doctest::Approx(std::sin(3.0 / std::pow(10000.0, 2.0 / 6))));
  matrix odd = sinusoidal_table(4, 5);                          // odd width: last column is a sine
  CHECK(odd(2, 4) == doctest::Approx(std::sin(2.0 / std::pow(10000.0, 4.0 / 5))));
}

TEST_CASE("positional: hyperbolic table is the formula as stated, unbounded near cos = sin") {
  const std::size_t d = 4;
  matrix pe = hyperbolic_table(40, d);
  for (std::size_t i : {0, 1, 5, 39})
    for (std::size_t j = 0; j < d; ++j) {
      const double a = i / std::pow(10000.0, static_cast<double>(j) / d);
      CHECK(pe(i, j) == doctest::Approx(1.0 / (std::cos(a) - std::sin(a))).epsilon(1e-5));
    }
  CHECK(pe(0, 0) == 1.0f);
  // Column 0 has angle = i; i = 1 is near pi/4 (0.785) -> 1 / (cos 1 - sin 1) ≈ -3.4, and the values
  // grow without bound as the angle approaches pi/4 + k·pi.
  float largest = 0.0f;
  for (float v : hyperbolic_table(2000, 1)) largest = std::max(largest, std::abs(v));
  CHECK(largest > 100.0f);
}

TEST_CASE("positional: forward adds the table per batch item, with offset") {
  parameter_store store;
  rng gen(1);
  positional_encoding pe(store, "pos", positional::sinusoidal, 8, 4, gen);
  CHECK(store.size() == 0);
  matrix table = sinusoidal_table(8, 4);
  tape t;
  matrix zero = matrix::from_shape({2 * 3, 4});
  zero.fill(0.0f);
  var y = pe.forward(t.constant(zero), 2, 3, /*offset=*/2);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t s = 0; s < 3; ++s)
      for (std::size_t j = 0; j < 4; ++j) CHECK(y.value()(b * 3 + s, j) == table(2 + s, j));
  // beyond max_len the fixed table extends itself
  var far = pe.forward(t.constant(zero), 2, 3, 20);
  CHECK(far.value()(4, 1) == doctest::Approx(sinusoidal_table(30, 4)(21, 1)));
}

TEST_CASE("positional: a fixed table costs nothing until read, whatever max_len") {
  // A table of 10^9 positions x 64 would be 256 GB: it must not be computed up front (a forged or
  // careless max_len), only the rows forward() reads, each as the full table would hold it.
  parameter_store store;
  rng gen(1);
  for (const positional kind : {positional::sinusoidal, positional::hyperbolic}) {
    positional_encoding pe(store, "pos", kind, 1000000000, 64, gen);
    tape t;
    matrix zero = matrix::from_shape({3, 64});
    zero.fill(0.0f);
    for (const std::size_t offset : {0, 253, 1000, 70000}) {  // the first rows, across growths
      const matrix full = kind == positional::sinusoidal ? sinusoidal_table(offset + 3, 64)
                                                         : hyperbolic_table(offset + 3, 64);
      var y = pe.forward(t.constant(zero), 1, 3, offset);
      for (std::size_t s = 0; s < 3; ++s)
        for (std::size_t j = 0; j < 64; ++j) CHECK(y.value()(s, j) == full(offset + s, j));
    }
  }
}

TEST_CASE("positional: none and rope leave x unchanged; names by kind") {
  parameter_store store;
  rng gen(1);
  positional_encoding none(store, "p0", positional::none, 8, 4, gen);
  positional_encoding rot(store, "p1", positional::rope, 8, 4, gen);
  CHECK(store.size() == 0);
  CHECK(rot.rotary());
  tape t;
  var x = t.make(6, 4, false);
  CHECK(none.forward(x, 2, 3).id == x.id);
  CHECK(rot.forward(x, 2, 3).id == x.id);
  CHECK(parse_positional("hyperbolic") == positional::hyperbolic);
  CHECK(std::string(positional_name(positional::learned)) == "learned");
  CHECK_THROWS_AS(parse_positional("absolute"), attn::error);
}

TEST_CASE("positional: learned table gradient and bounds") {
  parameter_store store, inputs;
  rng gen(2);
  positional_encoding pe(store, "dec.pos", positional::learned, 6, 3, gen);
  REQUIRE(store.find("dec.pos.weight"));
  CHECK(store.at("dec.pos.weight").value.shape()[0] == 6);
  parameter& x = input_param(inputs, "x", 2 * 4, 3, gen);
  check_gradients({&store, &inputs}, [&](tape& t) { return pe.forward(t.param(x), 2, 4, 1); });
  tape t;
  CHECK_THROWS_AS(pe.forward(t.param(x), 2, 4, 3), attn::error);
}

TEST_CASE("positional: gradient passes through fixed encodings") {
  for (positional kind : {positional::sinusoidal, positional::hyperbolic}) {
    parameter_store store, inputs;
    rng gen(3);
    positional_encoding pe(store, "pos", kind, 5, 4, gen);
    parameter& x = input_param(inputs, "x", 3 * 5, 4, gen);
    check_gradients({&store, &inputs}, [&](tape& t) { return pe.forward(t.param(x), 3, 5); });
  }
}
