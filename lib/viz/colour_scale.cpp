#include "viz/colour_scale.h"

#include <cmath>
#include <cstdio>

namespace attn::viz {

namespace {

// matplotlib's viridis sampled at 10 evenly spaced points (viridis(np.linspace(0, 1, 10))),
// linearly interpolated in between: within 2/255 of the full 256-entry table.
const rgb viridis_stops[] = {{0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x49, 0x89}, {0x31, 0x68, 0x8e},
                             {0x26, 0x82, 0x8e}, {0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6e, 0xce, 0x58},
                             {0xb5, 0xde, 0x2b}, {0xfd, 0xe7, 0x25}};

const rgb tab10[] = {{0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
                     {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
                     {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf}};

unsigned char mix(unsigned char a, unsigned char b, double f) {
  return static_cast<unsigned char>(std::lround(a + (b - a) * f));
}

}  // namespace

rgb viridis(double t) {
  if (!(t > 0)) t = 0;  // also NaN
  if (t > 1) t = 1;
  constexpr std::size_t last = sizeof viridis_stops / sizeof viridis_stops[0] - 1;
  const double x = t * last;
  const std::size_t i = x >= last ? last - 1 : static_cast<std::size_t>(x);
  const double f = x - static_cast<double>(i);
  const rgb a = viridis_stops[i], b = viridis_stops[i + 1];
  return {mix(a.r, b.r, f), mix(a.g, b.g, f), mix(a.b, b.b, f)};
}

std::string hex(rgb c) {
  char text[8];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", c.r, c.g, c.b);
  return text;
}

rgb category_colour(std::size_t i) {
  return tab10[i % (sizeof tab10 / sizeof tab10[0])];
}

}  // namespace attn::viz
