#include "text/escape.h"

#include <cstdint>

#include "text/utf8.h"

namespace attn {

namespace {

constexpr std::string_view space_mark = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

// Code points shown as \x escapes because they are invisible or confusable with a space.
bool invisible(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x206F) ||
         cp == 0x2581 || cp == 0x3000 || cp == 0xFEFF || cp >= invalid_byte_base;
}

void hex_byte(std::string& out, unsigned char b) {
  static const char digits[] = "0123456789ABCDEF";
  out += "\\x";
  out.push_back(digits[b >> 4]);
  out.push_back(digits[b & 15]);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void escape_token(std::string_view token, std::string& out) {
  const char* p = token.data();
  const char* end = p + token.size();
  while (p < end) {
    uint32_t cp;
    const int n = utf8_decode(p, end, cp);
    if (cp == ' ') {
      out += space_mark;
    } else if (cp == '\\') {
      out += "\\\\";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (invisible(cp)) {
      for (int i = 0; i < n; ++i) hex_byte(out, static_cast<unsigned char>(p[i]));
    } else {
      out.append(p, n);
    }
    p += n;
  }
}

std::string escape_token(std::string_view token) {
  std::string out;
  escape_token(token, out);
  return out;
}

bool unescape_token(std::string_view text, std::string& out, std::string* why) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, space_mark.size(), space_mark) == 0) {
      out.push_back(' ');
      i += space_mark.size();
      continue;
    }
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (why) *why = "unescaped whitespace in a token";
      return false;
    }
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= text.size()) {
      if (why) *why = "token ends with a lone backslash";
      return false;
    }
    const char e = text[i + 1];
    if (e == '\\' || e == 't' || e == 'n' || e == 'r') {
      out.push_back(e == '\\' ? '\\' : e == 't' ? '\t' : e == 'n' ? '\n' : '\r');
      i += 2;
    } else if (e == 'x' && i + 3 < text.size() && hex_value(text[i + 2]) >= 0 && hex_value(text[i + 3]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 2]) * 16 + hex_value(text[i + 3])));
      i += 4;
    } else {
      if (why) *why = "bad escape '\\" + std::string(1, e) + "' (use \\\\, \\t, \\n, \\r or \\xHH)";
      return false;
    }
  }
  return true;
}

}  // namespace attn
