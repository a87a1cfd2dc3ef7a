#pragma once
// Parsing the SVG the viz writers produce with a real XML parser: xmllint (libxml2-utils) when
// installed, else python3's xml.etree. Neither is linked into the build; the tests run them.
#include <cstdlib>
#include <string>

#include "test_helpers.h"

namespace attn::viz_testing {

// "" when `xml` parses, else the parser's message; "no parser" when neither tool is present.
inline std::string xml_problem(const std::string& xml) {
  attn::testing::temp_dir d;
  const std::string file = d.write("doc.xml", xml), report = d.path("report.txt");
  std::string command;
  if (std::system("command -v xmllint >/dev/null 2>&1") == 0)
    command = "xmllint --noout '" + file + "' 2>'" + report + "'";
  else if (std::system("command -v python3 >/dev/null 2>&1") == 0)
    command =
        "python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' '" + file + "' 2>'" + report + "'";
  else
    return "no parser";
  if (std::system(command.c_str()) == 0) return "";
  const std::string why = attn::testing::read_file(report);
  return why.empty() ? "the parser failed" : why;
}

// How many times `needle` occurs in `text`.
inline std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// The pieces of `text` from each `open` up to the next `close` (non-nested groups).
inline std::vector<std::string> sections(const std::string& text, const std::string& open, const std::string& close) {
  std::vector<std::string> out;
  for (std::size_t at = text.find(open); at != std::string::npos; at = text.find(open, at + 1)) {
    const std::size_t end = text.find(close, at);
    out.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
  }
  return out;
}

}  // namespace attn::viz_testing
