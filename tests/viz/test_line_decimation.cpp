// m4_points: per run of points in one column, the first, lowest, highest and last survive.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/error.h"
#include "viz/line_decimation.h"

using namespace attn;

namespace {

// the column of x when [lo, hi] is cut into `columns` (as m4_points cuts it)
long long column(double x, double lo, double hi, std::size_t columns) {
  return static_cast<long long>(std::floor((x - lo) * static_cast<double>(columns) / (hi - lo)));
}

}  // namespace

TEST_CASE("a short line keeps every point") {
  const std::vector<double> xs = {1, 2, 3, 4, 5, 6, 7, 8}, ys = {3, 1, 4, 1, 5, 9, 2, 6};
  const auto kept = viz::m4_points(xs, ys, 0, 10, 2);  // 8 points, 2 columns: 4 a column
  REQUIRE(kept.size() == 8);
  for (std::size_t i = 0; i < kept.size(); ++i) CHECK(kept[i] == i);
  CHECK(viz::m4_points(xs, ys, 0, 10, 0).size() == 8);  // no columns, or no x range: nothing to cut
  CHECK(viz::m4_points(xs, ys, 5, 5, 1).size() == 8);
  CHECK_THROWS_AS(viz::m4_points(xs, {1, 2}, 0, 10, 2), error);
}

TEST_CASE("a long noisy line keeps each column's first, lowest, highest and last point, in order") {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 1);
  const std::size_t n = 100000, columns = 300;
  std::vector<double> xs(n), ys(n);
  for (std::size_t i = 0; i < n; ++i) xs[i] = static_cast<double>(i + 1), ys[i] = 5 * std::exp(-1e-5 * i) + noise(rng);
  const double lo = 0, hi = 100000;
  const auto kept = viz::m4_points(xs, ys, lo, hi, columns);
  CHECK(kept.size() <= 4 * (columns + 1));
  CHECK(kept.size() >= 3 * columns);  // a noisy column has four distinct points (first/last may be min/max)
  CHECK(std::is_sorted(kept.begin(), kept.end()));
  CHECK(std::adjacent_find(kept.begin(), kept.end()) == kept.end());
  // every column's extremes and ends, computed directly from all points
  struct extent {
    std::size_t first, last, lowest, highest;
  };
  std::map<long long, extent> want;
  for (std::size_t i = 0; i < n; ++i) {
    const long long c = column(xs[i], lo, hi, columns);
    auto it = want.find(c);
    if (it == want.end()) {
      want[c] = {i, i, i, i};
      continue;
    }
    extent& e = it->second;
    e.last = i;
    if (ys[i] < ys[e.lowest]) e.lowest = i;
    if (ys[i] > ys[e.highest]) e.highest = i;
  }
  for (const auto& wanted : want) {
    const auto& c = wanted.first;  // not a structured binding: INFO's lambda takes it by reference
    const extent& e = wanted.second;
    for (const std::size_t i : {e.first, e.last, e.lowest, e.highest}) {
      INFO("column ", c, " point ", i);
      CHECK(std::binary_search(kept.begin(), kept.end(), i));
    }
  }
  // and nothing else: each column's kept points are among its four
  for (const std::size_t i : kept) {
    const extent& e = want.at(column(xs[i], lo, hi, columns));
    CHECK((i == e.first || i == e.last || i == e.lowest || i == e.highest));
  }
}

TEST_CASE("a line that comes back to a column, and non-finite points, are kept in their runs") {
  // x goes 0..99 then back 99..0 (a resumed run's steps), with a NaN and an infinity in it
  std::vector<double> xs, ys;
  for (int i = 0; i < 100; ++i) xs.push_back(i), ys.push_back(i % 7);
  for (int i = 99; i >= 0; --i) xs.push_back(i), ys.push_back(10 + i % 5);
  ys[50] = NAN;
  ys[150] = INFINITY;
  const auto kept = viz::m4_points(xs, ys, 0, 100, 5);  // 200 points, 5 columns: cut
  CHECK(kept.size() < xs.size());
  CHECK(std::binary_search(kept.begin(), kept.end(), std::size_t{50}));
  CHECK(std::binary_search(kept.begin(), kept.end(), std::size_t{150}));
  // the way back keeps its own extremes: a high of 14 and a low of 10 between the two columns' turns
  double back_max = -1, back_min = 100;
  for (const std::size_t i : kept)
    if (i >= 100 && std::isfinite(ys[i])) back_max = std::max(back_max, ys[i]), back_min = std::min(back_min, ys[i]);
  CHECK(back_max == 14);
  CHECK(back_min == 10);
  CHECK(kept.front() == 0);
  CHECK(kept.back() == xs.size() - 1);
}
