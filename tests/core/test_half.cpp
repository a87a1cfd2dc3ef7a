#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/half.h"
#include "core/rng.h"

using namespace attn;

namespace {

float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

bool is_nan_half(std::uint16_t h) {
  return (h & 0x7c00u) == 0x7c00u && (h & 0x03ffu) != 0;
}

}  // namespace

TEST_CASE("from_half: every finite half is a float that rounds back to itself; NaN stays NaN") {
  std::size_t finite = 0;
  for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
    const std::uint16_t bits = static_cast<std::uint16_t>(h);
    const float f = from_half(bits);
    if (is_nan_half(bits)) {
      CHECK(std::isnan(f));
      CHECK(is_nan_half(to_half(f)));
      continue;
    }
    CHECK(to_half(f) == bits);
    if (std::isfinite(f)) ++finite;
  }
  CHECK(finite == 63488);  // 2 x (31 exponents x 1024 mantissas), the zeros included
  CHECK(from_half(0x3c00) == 1.0f);
  CHECK(from_half(0x7bff) == half_max);
  CHECK(from_half(0x0001) == std::ldexp(1.0f, -24));  // the smallest subnormal
  CHECK(from_half(0x0400) == std::ldexp(1.0f, -14));  // the smallest normal
  CHECK(std::signbit(from_half(0x8000)));
  CHECK(from_half(0xfc00) == -std::numeric_limits<float>::infinity());
}

TEST_CASE("to_half rounds to the nearest half, ties to even, and saturates to infinity from 65520") {
  CHECK(to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // tie: 1 (even) rather than 1 + 2^-10
  CHECK(to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie: 1 + 2^-9 (even)
  CHECK(to_half(1.0f + std::ldexp(1.2f, -11)) == 0x3c01);      // past the tie: up
  CHECK(to_half(65519.0f) == 0x7bff);
  CHECK(to_half(65520.0f) == 0x7c00);  // the tie between 65504 and 65536 goes to 65536 = infinity
  CHECK(to_half(-1e30f) == 0xfc00);
  CHECK(to_half(std::ldexp(1.0f, -25)) == 0x0000);      // tie between 0 and 2^-24: 0 (even)
  CHECK(to_half(3 * std::ldexp(1.0f, -25)) == 0x0002);  // tie between 2^-24 and 2^-23: 2^-23 (even)
  CHECK(to_half(std::ldexp(1.0f, -26)) == 0x0000);
  CHECK(to_half(std::ldexp(1023.5f, -24)) == 0x0400);  // the largest subnormals round up into the normals
  CHECK(to_half(-0.0f) == 0x8000);
  CHECK(is_nan_half(to_half(std::numeric_limits<float>::quiet_NaN())));

  // Random floats of every magnitude the halves cover, and some beyond: the nearest half, no
  // other half nearer (ties to the even one), and the array conversion (F16C when the build has
  // it) gives the same bits as the scalar one at every position of a run not a multiple of 8.
  rng gen(11);
  std::vector<float> x;
  for (int i = 0; i < 20000; ++i) {
    const float m = gen.uniform(-1.0f, 1.0f);
    x.push_back(std::ldexp(m, static_cast<int>(gen.next_u64() % 44) - 27));  // 2^-28 .. 2^16
  }
  for (std::uint32_t u : {0x477fefffu, 0x477ff000u, 0x387fffffu, 0x33800000u, 0x33800001u})
    x.push_back(bits_to_float(u));
  std::vector<std::uint16_t> y(x.size());
  const bool in_range = to_half(x.data(), y.data(), x.size());
  bool beyond = false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::uint16_t h = to_half(x[i]);
    CHECK(y[i] == h);
    const double got = from_half(h);
    if (std::isinf(got)) {
      CHECK(std::fabs(x[i]) >= 65520.0f);
      beyond = true;
      continue;
    }
    const double err = std::fabs(got - x[i]);
    for (const int step : {-1, 1}) {  // the neighbouring halves (same sign) are no nearer
      const std::uint16_t mag = static_cast<std::uint16_t>(h & 0x7fffu);
      if ((step < 0 && mag == 0) || mag + step >= 0x7c00) continue;
      const std::uint16_t other = static_cast<std::uint16_t>((h & 0x8000u) | static_cast<std::uint16_t>(mag + step));
      const double other_err = std::fabs(static_cast<double>(from_half(other)) - x[i]);
      CHECK(err <= other_err);
      if (err == other_err) CHECK((h & 1u) == 0);  // a tie went to the even mantissa
    }
  }
  CHECK(beyond);  // the sample reaches past 65504: to_half's range check has something to see
  CHECK_FALSE(in_range);
}

TEST_CASE("to_half over an array reports finite values beyond the half range, not infinities or NaNs") {
  std::vector<std::uint16_t> y(3);
  const std::vector<float> ok = {65504.0f, -65519.0f, 1.0f};
  CHECK(to_half(ok.data(), y.data(), 3));
  const std::vector<float> special = {std::numeric_limits<float>::infinity(), std::nanf(""), 0.0f};
  CHECK(to_half(special.data(), y.data(), 3));
  for (const float big : {65520.0f, -70000.0f, 1e20f}) {
    std::vector<float> x(11, 0.5f);  // the value past the first 8 (the scalar tail) and within them
    for (const std::size_t at : {std::size_t{2}, std::size_t{9}}) {
      std::vector<float> v = x;
      v[at] = big;
      std::vector<std::uint16_t> h(v.size());
      CHECK_FALSE(to_half(v.data(), h.data(), v.size()));
    }
  }
  std::vector<float> back(3);
  const std::vector<std::uint16_t> h = {0x3c00, 0xc000, 0x0001};
  from_half(h.data(), back.data(), 3);
  CHECK(back[0] == 1.0f);
  CHECK(back[1] == -2.0f);
  CHECK(back[2] == std::ldexp(1.0f, -24));
}
