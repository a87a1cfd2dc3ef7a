// xml_escape, num, svg_begin/svg_end, text_width.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "viz/svg.h"
#include "xml_check.h"

using namespace attn::viz;

TEST_CASE("xml_escape makes any token safe as text and in attributes") {
  CHECK(xml_escape("<&\">'") == "&lt;&amp;&quot;&gt;&#39;");
  CHECK(xml_escape("▁word") == "▁word");  // UTF-8 kept
  CHECK(xml_escape("a\x01"
                   "b") == "a\\x01b");  // control characters XML forbids
  CHECK(xml_escape("a\xff"
                   "b") == "a\\xFFb");                     // invalid UTF-8
  CHECK(xml_escape("\xef\xbf\xbe") == "\\xEF\\xBF\\xBE");  // U+FFFE, not a character in XML
  std::ostringstream svg;
  svg_begin(svg, 10, 10, "");
  svg << "<text title=\"" << xml_escape("\"<&\x02\xc3") << "\">" << xml_escape("]]> <&\">\x7f") << "</text>\n";
  svg_end(svg);
  CHECK(attn::viz_testing::xml_problem(svg.str()) == "");
}

TEST_CASE("num writes at most 2 decimals without trailing zeros") {
  CHECK(num(12) == "12");
  CHECK(num(12.5) == "12.5");
  CHECK(num(-0.25) == "-0.25");
  CHECK(num(1.0 / 3) == "0.33");
  CHECK(num(-0.001) == "0");
  CHECK(num(1.0 / 0.0) == "0");
}

TEST_CASE("svg_begin states the size and the namespace; text_width counts characters, not bytes") {
  std::ostringstream svg;
  svg_begin(svg, 200, 100.5, ".a { fill: red; }");
  svg_end(svg);
  CHECK(svg.str().find("width=\"200\" height=\"100.5\"") != std::string::npos);
  CHECK(svg.str().find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(attn::viz_testing::xml_problem(svg.str()) == "");
  CHECK(text_width("▁▁", 10) == doctest::Approx(text_width("ab", 10)));
  CHECK(text_width("abcd", 10) > text_width("ab", 10));
}
