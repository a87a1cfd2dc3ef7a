#include "viz/axis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace attn::viz {

axis nice_axis(double min, double max, int target) {
  if (!std::isfinite(min) || !std::isfinite(max)) min = 0, max = 1;
  if (min > max) std::swap(min, max);
  if (min == max) {
    const double pad = min == 0 ? 1 : std::abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  target = std::max(target, 2);
  const double rough = (max - min) / (target - 1);
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  double step = power;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= rough) {
      step = m * power;
      break;
    }
  axis a;
  a.lo = std::floor(min / step + 1e-9) * step;
  a.hi = std::ceil(max / step - 1e-9) * step;
  const long n = std::lround((a.hi - a.lo) / step);
  for (long i = 0; i <= n; ++i) {
    double t = a.lo + static_cast<double>(i) * step;
    if (std::abs(t) < step * 1e-9) t = 0;  // no "-0" or "1e-17"
    a.ticks.push_back(t);
  }
  a.lo = std::min(a.lo, min);  // rounding must not cut the data's own ends
  a.hi = std::max(a.hi, max);
  return a;
}

std::string tick_label(double v, double spacing) {
  char text[32];
  const double magnitude = std::max(std::abs(v), std::abs(spacing));
  if (magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e6)) {
    std::snprintf(text, sizeof text, "%.3g", v);
  } else {
    int decimals = 0;  // the fewest that write the spacing exactly (0.25 -> 2)
    while (decimals < 6 && spacing > 0) {
      const double scaled = spacing * std::pow(10.0, decimals);
      if (std::abs(scaled - std::round(scaled)) < 1e-6 * scaled) break;
      ++decimals;
    }
    std::snprintf(text, sizeof text, "%.*f", decimals, v);
  }
  return text;
}

}  // namespace attn::viz
