// write_curves_svg: one panel per metric present, one line per run, a legend of file names.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "core/error.h"
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
