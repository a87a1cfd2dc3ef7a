#pragma once
// Fewer points for the same picture: a line of a million logged steps drawn in a 352-pixel
// panel needs a few points per pixel column, not thousands (an SVG of every point is tens of MB
// that a browser renders slowly). M4 aggregation (Jugel et al., VLDB 2014): within each run of
// consecutive points that fall in one column, keep the first, the lowest, the highest and the
// last. Every vertical extent and every joint between columns survives, so the line is drawn the
// same at that resolution.
#include <cstddef>
#include <vector>

namespace attn::viz {

// The indices (increasing) of the points of the line (xs[i], ys[i]) that M4 keeps when the x
// range [x_lo, x_hi] is split into `columns` equal columns. A line of at most 4 points per
// column on average keeps every point. A non-finite point is a run of its own (kept); a point
// outside the range falls in a column just past its edge. Throws when xs and ys differ in size.
std::vector<std::size_t> m4_points(const std::vector<double>& xs, const std::vector<double>& ys, double x_lo,
                                   double x_hi, std::size_t columns);

}  // namespace attn::viz
