#pragma once
// Axis ticks for plots: "nice" round values (1, 2 or 5 times a power of ten) covering a range.
#include <string>
#include <vector>

namespace attn::viz {

struct axis {
  double lo = 0, hi = 1;      // the range drawn: the data's, widened to the outer ticks
  std::vector<double> ticks;  // lo <= tick <= hi, increasing, evenly spaced
};

// An axis over [min, max] with about `target` ticks (at least 2). A single value (min == max) gets
// a range around it; non-finite input gives [0, 1].
axis nice_axis(double min, double max, int target = 5);

// A tick's label: as short as its spacing allows ("0.5", "2000", "3e-05").
std::string tick_label(double v, double spacing);

}  // namespace attn::viz
