// viridis() and the categorical palette.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "viz/colour_scale.h"

using namespace attn::viz;

namespace {
double luminance(rgb c) {
  return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
}
}  // namespace

TEST_CASE("viridis runs from dark purple to yellow, brighter all the way, clamped outside [0, 1]") {
  CHECK(hex(viridis(0)) == "#440154");
  CHECK(hex(viridis(1)) == "#fde725");
  CHECK(hex(viridis(-3)) == "#440154");
  CHECK(hex(viridis(7)) == "#fde725");
  CHECK(hex(viridis(0.0 / 0.0)) == "#440154");  // NaN
  double last = -1;
  std::set<std::string> distinct;
  for (int i = 0; i <= 100; ++i) {
    const rgb c = viridis(i / 100.0);
    CHECK(luminance(c) > last);  // perceptual order: a brighter colour means a larger weight
    last = luminance(c);
    distinct.insert(hex(c));
  }
  CHECK(distinct.size() > 90);
}

TEST_CASE("hex writes #rrggbb and the palette cycles through 10 distinct colours") {
  CHECK(hex(rgb{0, 15, 255}) == "#000fff");
  std::set<std::string> colours;
  for (std::size_t i = 0; i < 10; ++i) colours.insert(hex(category_colour(i)));
  CHECK(colours.size() == 10);
  CHECK(hex(category_colour(10)) == hex(category_colour(0)));
}
