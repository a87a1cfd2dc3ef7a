#pragma once
// Colours for pictures: viridis (perceptually uniform, readable in grey and by most colour-blind
// readers) for weights in [0, 1], and a categorical palette for runs overlaid in one plot.
#include <cstddef>
#include <string>

namespace attn::viz {

struct rgb {
  unsigned char r = 0, g = 0, b = 0;
};

// viridis(0) = dark purple #440154 ... viridis(1) = yellow #fde725; t is clamped to [0, 1] (NaN -> 0).
rgb viridis(double t);

// "#rrggbb".
std::string hex(rgb c);

// The i-th colour of a 10-colour categorical palette (matplotlib's tab10), cycling.
rgb category_colour(std::size_t i);

}  // namespace attn::viz
