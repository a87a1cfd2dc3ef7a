#pragma once
// Small helpers for writing SVG 1.1 (and HTML) by hand: text escaping and compact numbers.
#include <ostream>
#include <string>
#include <string_view>

namespace attn::viz {

// Text safe inside an XML element or a double-quoted attribute: & < > " ' as entities; control
// characters XML 1.0 forbids (and invalid UTF-8 bytes) as "\xNN", so any token can be shown.
std::string xml_escape(std::string_view text);

// A coordinate or size: at most 2 decimals, no trailing zeros ("12", "12.5", "-0.25").
std::string num(double v);

// `<?xml ...?>`, the <svg> element with its size and namespace, and a <style> block; close with
// svg_end(). Sizes are in CSS pixels.
void svg_begin(std::ostream& out, double width, double height, std::string_view style);
void svg_end(std::ostream& out);

// Rough width of `text` drawn at font_size in a sans-serif font (for layout: labels must not
// overlap what is next to them). Counts UTF-8 characters, not bytes.
double text_width(std::string_view text, double font_size);

}  // namespace attn::viz
