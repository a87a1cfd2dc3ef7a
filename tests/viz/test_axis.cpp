// nice_axis and tick_label.
#include <doctest/doctest.h>

#include <cmath>

#include "viz/axis.h"

using namespace attn::viz;

TEST_CASE("nice_axis covers the data with evenly spaced round ticks") {
  for (const auto& [lo, hi] : std::vector<std::pair<double, double>>{
           {0, 60}, {2.53, 3.84}, {0.0003, 0.001}, {1, 20000}, {-5, 5}, {0.9, 0.91}, {1e-6, 3e-5}}) {
    const axis a = nice_axis(lo, hi, 5);
    CHECK(a.lo <= lo);
    CHECK(a.hi >= hi);
    REQUIRE(a.ticks.size() >= 2);
    CHECK(a.ticks.size() <= 11);
    CHECK(a.ticks.front() == doctest::Approx(a.lo));
    CHECK(a.ticks.back() == doctest::Approx(a.hi));
    const double step = a.ticks[1] - a.ticks[0];
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    CHECK((std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 || std::abs(mantissa - 5) < 1e-6));
    for (std::size_t i = 1; i < a.ticks.size(); ++i) CHECK(a.ticks[i] - a.ticks[i - 1] == doctest::Approx(step));
  }
  const axis one = nice_axis(3, 3);  // a single value gets a range around it
  CHECK(one.lo < 3);
  CHECK(one.hi > 3);
  const axis bad = nice_axis(NAN, 1);
  CHECK(bad.lo == 0);
  CHECK(bad.hi == 1);
}

TEST_CASE("tick_label is as short as the spacing allows") {
  CHECK(tick_label(2000, 1000) == "2000");
  CHECK(tick_label(0.5, 0.5) == "0.5");
  CHECK(tick_label(2.5, 0.25) == "2.50");
  CHECK(tick_label(0, 0.1) == "0.0");
  CHECK(tick_label(3e-5, 1e-5) == "3e-05");
}
