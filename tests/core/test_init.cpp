// Initializers: ranges, moments, determinism under a seed.
#include <doctest/doctest.h>

#include <cmath>

#include "core/init.h"

using namespace attn;

TEST_CASE("xavier uniform: bound sqrt(6/(fan_in+fan_out)), variance bound²/3, deterministic") {
  matrix m = matrix::from_shape({200, 100});
  rng gen(1);
  init_xavier_uniform(m, gen);
  const double a = std::sqrt(6.0 / 300.0);
  double s = 0, ss = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    REQUIRE(std::fabs(m.data()[i]) <= a);
    s += m.data()[i];
    ss += m.data()[i] * m.data()[i];
  }
  const double n = static_cast<double>(m.size());
  CHECK(std::fabs(s / n) < 0.01);
  CHECK(ss / n == doctest::Approx(a * a / 3).epsilon(0.03));

  matrix m2 = matrix::from_shape({200, 100});
  rng gen2(1);
  init_xavier_uniform(m2, gen2);
  CHECK(m2 == m);
  rng gen3(2);
  init_xavier_uniform(m2, gen3);
  CHECK(m2 != m);
}

TEST_CASE("normal init has the requested std; zeros and ones") {
  matrix m = matrix::from_shape({300, 100});
  rng gen(3);
  init_normal(m, gen, 0.02f);
  double ss = 0;
  for (std::size_t i = 0; i < m.size(); ++i) ss += m.data()[i] * m.data()[i];
  CHECK(std::sqrt(ss / m.size()) == doctest::Approx(0.02).epsilon(0.02));
  init_zeros(m);
  CHECK(m(17, 3) == 0.0f);
  init_ones(m);
  CHECK(m(299, 99) == 1.0f);
}
