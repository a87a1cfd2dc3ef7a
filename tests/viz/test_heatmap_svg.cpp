// write_heatmap_svg: valid XML, one cell per (query, key) of every map, labels escaped.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "decode/loaded_helpers.h"
#include "pictures_helpers.h"
#include "viz/colour_scale.h"
#include "viz/heatmap_svg.h"
#include "viz/svg.h"
#include "xml_check.h"

using namespace attn;
using namespace attn::viz_testing;

TEST_CASE("each map is a group of queries x keys cells with its labels and title; the SVG parses") {
  const auto pictures = sample_pictures();
  std::ostringstream out;
  viz::write_heatmap_svg(pictures, out);
  const std::string svg = out.str();
  CHECK(xml_problem(svg) == "");
  const auto maps = sections(svg, "<g class=\"map\">", "</g>");
  REQUIRE(maps.size() == 4);
  std::size_t i = 0;
  for (const auto& sentence : pictures)
    for (const viz::picture_map& m : sentence.maps) {
      const std::string& g = maps[i++];
      CHECK(count(g, "<rect class=\"cell\"") == m.query_tokens.size() * m.key_tokens.size());
      CHECK(count(g, "<text class=\"query\"") == m.query_tokens.size());
      CHECK(count(g, "<text class=\"key\"") == m.key_tokens.size());
      CHECK(g.find(">" + viz::xml_escape(m.title()) + "</text>") != std::string::npos);
    }
  // The token <&"> shows escaped, never raw; the heading names the 0-based sentence.
  CHECK(count(svg, "&lt;&amp;&quot;&gt;") > 0);
  CHECK(svg.find("<&\">") == std::string::npos);
  CHECK(svg.find(">sentence 3</text>") != std::string::npos);
  CHECK(svg.find("layer 1 head mean") != std::string::npos);
  // the legend: a viridis gradient from 0 to 1
  CHECK(svg.find("<linearGradient id=\"viridis\"") != std::string::npos);
  CHECK(svg.find("stop-color=\"#440154\"") != std::string::npos);
  CHECK(svg.find("stop-color=\"#fde725\"") != std::string::npos);
  // a weight's colour: the largest weight of a row is brighter than the rest
  CHECK(count(svg, "fill=\"" + viz::hex(viz::viridis(0.5 + 0.5 / 4)) + "\"") >= 3);
}

TEST_CASE("a real model's dump draws; no maps is an empty but valid picture") {
  loaded_model m = decode_testing::random_model("lm");
  viz::picture_collector maps;
  std::istringstream in("abc\n");
  attend_maps(m, in, attend_options{}, maps.sink());
  std::ostringstream out;
  viz::write_heatmap_svg(maps.sentences(), out);
  CHECK(xml_problem(out.str()) == "");
  CHECK(count(out.str(), "<rect class=\"cell\"") == 2 * 2 * 4 * 4);  // 2 layers x 2 heads x (<eos> a b c)^2
  std::ostringstream none;
  viz::write_heatmap_svg({}, none);
  CHECK(xml_problem(none.str()) == "");
  CHECK(count(none.str(), "class=\"cell\"") == 0);
}
