// write_viewer_html / viewer_json: one self-contained page with the maps as compact JSON.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "pictures_helpers.h"
#include "viz/viewer_html.h"
#include "xml_check.h"

using namespace attn;
using namespace attn::viz_testing;

namespace {

std::string page(const std::vector<viz::sentence_pictures>& s, const std::string& title) {
  std::ostringstream out;
  viz::write_viewer_html(s, title, out);
  return out.str();
}

}  // namespace

TEST_CASE("the JSON holds every map's weights in per mille, tokens stored once per sentence") {
  const auto pictures = sample_pictures();
  const nlohmann::json j = nlohmann::json::parse(viz::viewer_json(pictures));
  REQUIRE(j["sentences"].size() == 2);
  CHECK(j["sentences"][1]["sentence"] == 3);
  const auto& s0 = j["sentences"][0];
  CHECK(s0["tokens"].size() == 2);  // the target and the source list, shared by the three maps
  REQUIRE(s0["maps"].size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& m = s0["maps"][i];
    const viz::picture_map& p = pictures[0].maps[i];
    CHECK(m["module"] == p.module);
    CHECK(m["head"] == p.head);
    CHECK(s0["tokens"][m["q"].get<std::size_t>()].get<std::vector<std::string>>() == p.query_tokens);
    CHECK(s0["tokens"][m["k"].get<std::size_t>()].get<std::vector<std::string>>() == p.key_tokens);
    const auto w = m["w"].get<std::vector<int>>();
    REQUIRE(w.size() == p.weights.size());
    for (std::size_t k = 0; k < w.size(); ++k) CHECK(w[k] == static_cast<int>(std::lround(p.weights[k] * 1000)));
  }
  CHECK(j["sentences"][1]["maps"][0]["head"] == "mean");
}

TEST_CASE("the page is self-contained: inline script and style, nothing fetched, data safe inside <script>") {
  auto pictures = sample_pictures();
  pictures[0].maps[0].query_tokens[0] = "</script><script>alert(1)</script>";
  const std::string html = page(pictures, "attention of <model>.ckpt");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<title>attention of &lt;model&gt;.ckpt") != std::string::npos);
  for (const char* fetch : {"http://", "https://", "src=", "href=", "@import", "fetch(", "XMLHttpRequest"})
    CHECK_MESSAGE(html.find(fetch) == std::string::npos, fetch);
  // exactly the page's own two <script> elements close: a token cannot end the data early
  CHECK(count(html, "</script>") == 2);
  const std::size_t open = html.find("<script type=\"application/json\" id=\"data\">");
  REQUIRE(open != std::string::npos);
  const std::size_t begin = html.find('>', open) + 1, end = html.find("</script>", begin);
  const nlohmann::json j = nlohmann::json::parse(html.substr(begin, end - begin));
  CHECK(j["sentences"][0]["tokens"][0][0] == "</script><script>alert(1)</script>");
  // the controls and the views the page offers
  for (const char* part : {"id=\"sentence\"", "id=\"module\"", "id=\"layer\"", "id=\"heads\"", "data-view=\"matrix\"",
                           "data-view=\"lines\"", "autotest", "data-picture"})
    CHECK_MESSAGE(html.find(part) != std::string::npos, part);
}

TEST_CASE("a 6-layer x 8-head map set over 60 tokens stays compact") {
  std::vector<std::string> tokens;
  for (int i = 0; i < 60; ++i) tokens.push_back("▁tok" + std::to_string(i));
  std::vector<viz::sentence_pictures> s(1);
  for (int layer = 0; layer < 6; ++layer)
    for (long head = 0; head < 8; ++head)
      s[0].maps.push_back(make_map("encoder.layers." + std::to_string(layer) + ".attn", head, tokens, tokens));
  const std::string html = page(s, "big");
  // 172,800 weights: at most about 4 bytes each (3 digits and a comma), tokens stored once
  CHECK(html.size() < 172800 * 4 + 40000);
  CHECK(count(html, "▁tok59") == 1);
}
