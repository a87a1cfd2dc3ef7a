#include "viz/svg.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "text/utf8.h"

namespace attn::viz {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const auto c = static_cast<unsigned char>(*p);
    switch (c) {
      case '&':
        out += "&amp;";
        ++p;
        continue;
      case '<':
        out += "&lt;";
        ++p;
        continue;
      case '>':
        out += "&gt;";
        ++p;
        continue;
      case '"':
        out += "&quot;";
        ++p;
        continue;
      case '\'':
        out += "&#39;";
        ++p;
        continue;
      default:
        break;
    }
    std::uint32_t cp = 0;
    const int n = c < 0x80 ? 1 : utf8_decode(p, end, cp);
    const bool forbidden =
        c < 0x80 ? (c < 0x20 || c == 0x7f) : (cp >= invalid_byte_base || cp == 0xfffe || cp == 0xffff);
    if (forbidden) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned>(c));
      out += hex;
      ++p;
      continue;
    }
    out.append(p, static_cast<std::size_t>(n));
    p += n;
  }
  return out;
}

std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  std::string s = text;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

void svg_begin(std::ostream& out, double width, double height, std::string_view style) {
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(width) << "\" height=\""
      << num(height) << "\" viewBox=\"0 0 " << num(width) << ' ' << num(height) << "\">\n"
      << "<style type=\"text/css\"><![CDATA[\n"
      << style << "\n]]></style>\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
}

void svg_end(std::ostream& out) {
  out << "</svg>\n";
}

double text_width(std::string_view text, double font_size) {
  std::size_t chars = 0;
  for (const char ch : text) chars += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return static_cast<double>(chars) * font_size * 0.62;
}

}  // namespace attn::viz
