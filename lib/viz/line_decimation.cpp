#include "viz/line_decimation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace attn::viz {

std::vector<std::size_t> m4_points(const std::vector<double>& xs, const std::vector<double>& ys, double x_lo,
                                   double x_hi, std::size_t columns) {
  if (xs.size() != ys.size()) throw error("m4_points: " + std::to_string(xs.size()) + " x values for " +
                                          std::to_string(ys.size()) + " y values");
  const std::size_t n = xs.size();
  std::vector<std::size_t> keep;
  const double span = x_hi - x_lo;
  if (columns == 0 || !(span > 0) || !std::isfinite(span) || n <= 4 * columns) {
    keep.resize(n);
    for (std::size_t i = 0; i < n; ++i) keep[i] = i;
    return keep;
  }
  const double scale = static_cast<double>(columns) / span;
  // a point's column (one past either edge for a point outside [x_lo, x_hi]); a non-finite
  // point has none and stays a run of its own
  constexpr long long none = std::numeric_limits<long long>::min();
  auto column_of = [&](std::size_t i) -> long long {
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) return none;
    return static_cast<long long>(std::clamp(std::floor((xs[i] - x_lo) * scale), -1.0, static_cast<double>(columns)));
  };
  keep.reserve(std::min(n, 4 * columns + 16));
  std::size_t i = 0;
  while (i < n) {
    const long long c = column_of(i);
    std::size_t end = i + 1;
    if (c != none)
      while (end < n && column_of(end) == c) ++end;
    // the run [i, end): first, lowest, highest, last, in index order, each once
    std::size_t lo = i, hi = i;
    for (std::size_t j = i + 1; j < end; ++j) {
      if (ys[j] < ys[lo]) lo = j;
      if (ys[j] > ys[hi]) hi = j;
    }
    std::size_t picks[4] = {i, std::min(lo, hi), std::max(lo, hi), end - 1};
    for (const std::size_t p : picks)
      if (keep.empty() || keep.back() < p) keep.push_back(p);
    i = end;
  }
  return keep;
}

}  // namespace attn::viz
