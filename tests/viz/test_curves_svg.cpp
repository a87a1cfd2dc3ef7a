// write_curves_svg: one panel per metric present, one line per run, a legend of file names.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "core/error.h"
#include "viz/axis.h"
#include "viz/curves_svg.h"
#include "xml_check.h"

using namespace attn;
using namespace attn::viz_testing;

namespace {

viz::training_log run(const std::string& label, int steps, bool validation) {
  viz::training_log l;
  l.label = label;
  for (int s = 1; s <= steps; ++s) {
    l.metrics["train loss"].step.push_back(s);
    l.metrics["train loss"].value.push_back(4.0 / s + (s % 3) * 0.1);
    l.metrics["lr"].step.push_back(s);
    l.metrics["lr"].value.push_back(0.001 * s / steps);
    l.metrics["tokens/s"].step.push_back(s);
    l.metrics["tokens/s"].value.push_back(5000 + 10 * s);
  }
  if (validation)
    for (const char* m : {"valid loss", "valid perplexity", "valid accuracy"}) {
      l.metrics[m].step = {10, 20};
      l.metrics[m].value = {2.0, 1.5};
    }
  return l;
}

}  // namespace

TEST_CASE("panels for the metrics present, one polyline per run that has the metric, legend labels escaped") {
  const std::vector<viz::training_log> logs = {run("a <&> run.csv", 40, true), run("b.csv", 25, false)};
  std::ostringstream out;
  viz::write_curves_svg(logs, out);
  const std::string svg = out.str();
  CHECK(xml_problem(svg) == "");
  const auto panels = sections(svg, "<g class=\"panel\"", "</g>");
  REQUIRE(panels.size() == 6);  // train loss, valid loss/perplexity/accuracy, lr, tokens/s (no bits per byte)
  CHECK(svg.find("id=\"panel-valid-bits-per-byte\"") == std::string::npos);
  for (const auto& p : panels) {
    const bool validation = p.find("panel-valid-") != std::string::npos;
    CHECK(count(p, "<polyline class=\"line ") == (validation ? 1u : 2u));
    CHECK(count(p, "class=\"line run-0\"") == 1);
    CHECK(count(p, "class=\"xlabel\"") == 1);
    CHECK(count(p, "class=\"ytick\"") >= 2);
    CHECK(count(p, "class=\"xtick\"") >= 2);
  }
  CHECK(count(panels[0], "<polyline class=\"raw ") == 2);  // the training loss raw, under the smoothed line
  CHECK(panels[0].find("loss (nats/token)") != std::string::npos);
  const auto legend = sections(svg, "<g class=\"legend\">", "</g>");
  REQUIRE(legend.size() == 1);
  CHECK(count(legend[0], "<text class=\"label\"") == 2);
  CHECK(legend[0].find(">a &lt;&amp;&gt; run.csv</text>") != std::string::npos);
  CHECK(legend[0].find(">b.csv</text>") != std::string::npos);
}

TEST_CASE("smoothing 0 draws the raw values; nothing to plot is an error") {
  const std::vector<viz::training_log> logs = {run("a.csv", 5, false)};
  std::ostringstream raw, smooth;
  viz::write_curves_svg(logs, raw, {0.0});
  viz::write_curves_svg(logs, smooth, {0.9});
  const auto line = [](const std::string& svg) {
    const auto p = sections(svg, "<polyline class=\"line run-0\"", "/>");
    return p.at(0).substr(p.at(0).find("points="));
  };
  const auto raw_points = sections(raw.str(), "<polyline class=\"raw run-0\"", "/>").at(0);
  CHECK(raw_points.substr(raw_points.find("points=")) == line(raw.str()));
  CHECK(line(smooth.str()) != line(raw.str()));
  std::ostringstream none;
  viz::training_log empty;
  empty.label = "empty.csv";
  CHECK_THROWS_AS(viz::write_curves_svg({empty}, none), error);
  CHECK_THROWS_AS(viz::write_curves_svg(logs, none, {1.0}), error);
}

TEST_CASE("a log of 200,000 steps draws a few thousand points a line, its extremes and ends among them") {
  viz::training_log l;
  l.label = "long.csv";
  auto& loss = l.metrics["train loss"];
  for (int s = 1; s <= 200000; ++s) {
    loss.step.push_back(s);
    loss.value.push_back(3.0 + ((s * 7919) % 1000) / 1000.0);  // in [3, 4): every column spans it
  }
  loss.value[123456] = 9.0;  // one spike, the highest point
  loss.value[654] = 0.5;     // one dip, the lowest
  viz::curves_options o;
  o.smoothing = 0;  // the raw values drawn once, as the line
  std::ostringstream out;
  viz::write_curves_svg({l}, out, o);
  const std::string svg = out.str();
  CHECK(xml_problem(svg) == "");
  CHECK(svg.size() < 200000);  // every point would be about 2.6 MB
  const auto lines = sections(svg, "<polyline class=\"line run-0\"", "/>");
  REQUIRE(lines.size() == 1);
  const std::size_t points = count(lines[0], ",");
  CHECK(points >= 1000);
  CHECK(points <= 4 * 1408 + 8);  // 4 points in each quarter-pixel column of the 352-pixel plot
  // the spike and the dip are drawn: the line's y range is the whole plot's (top and bottom ticks)
  std::istringstream pts(lines[0].substr(lines[0].find("points=\"") + 8));
  double y_min = 1e9, y_max = -1e9, x_first = 0, x_last = 0;
  std::string pair;
  bool first = true;
  while (pts >> pair && pair.find(',') != std::string::npos) {
    const double x = std::stod(pair.substr(0, pair.find(','))), y = std::stod(pair.substr(pair.find(',') + 1));
    if (first) x_first = x, first = false;
    x_last = x, y_min = std::min(y_min, y), y_max = std::max(y_max, y);
  }
  // in pixels (the plot is 352 × 198 inside its panel): the spike and the dip are drawn, so the
  // line spans 8.5 of the y axis's range; the first and the last step are drawn, so it spans the
  // x axis's 199,999 steps
  const viz::axis xa = viz::nice_axis(1, 200000, 6), ya = viz::nice_axis(0.5, 9.0, 5);
  CHECK(y_max - y_min == doctest::Approx(8.5 / (ya.hi - ya.lo) * 198).epsilon(0.01));
  CHECK(x_last - x_first == doctest::Approx(199999 / (xa.hi - xa.lo) * 352).epsilon(0.01));
}
