#include <doctest/doctest.h>

#include <string>

#include "text/utf8.h"

using namespace attn;

namespace {
uint32_t decode_one(const std::string& s, int* len = nullptr) {
  uint32_t cp;
  const int n = utf8_decode(s.data(), s.data() + s.size(), cp);
  if (len) *len = n;
  return cp;
}
}  // namespace

TEST_CASE("valid sequences decode to their code points") {
  int n;
  CHECK(decode_one("A", &n) == 'A');
  CHECK(n == 1);
  CHECK(decode_one("\xC3\xA9", &n) == 0xE9);
  CHECK(n == 2);
  CHECK(decode_one("\xE6\x97\xA5", &n) == 0x65E5);
  CHECK(n == 3);
  CHECK(decode_one("\xF0\x9F\x98\x80", &n) == 0x1F600);
  CHECK(n == 4);
  CHECK(decode_one(std::string("\0", 1), &n) == 0);
}

TEST_CASE("invalid sequences decode one byte at a time") {
  int n;
  CHECK(decode_one("\xFF", &n) == invalid_byte_base + 0xFF);
  CHECK(n == 1);
  CHECK(decode_one("\xC3", &n) == invalid_byte_base + 0xC3);              // truncated
  CHECK(decode_one("\xC3(", &n) == invalid_byte_base + 0xC3);             // bad continuation
  CHECK(decode_one("\xC0\xAF", &n) == invalid_byte_base + 0xC0);          // overlong '/'
  CHECK(decode_one("\xE0\x80\xAF", &n) == invalid_byte_base + 0xE0);      // overlong
  CHECK(decode_one("\xED\xA0\x80", &n) == invalid_byte_base + 0xED);      // surrogate
  CHECK(decode_one("\xF4\x90\x80\x80", &n) == invalid_byte_base + 0xF4);  // above U+10FFFF
  CHECK(decode_one("\x80", &n) == invalid_byte_base + 0x80);              // lone continuation
  CHECK(n == 1);
}

TEST_CASE("decode then append reproduces any byte string") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  all += "\xE6\x97\xA5\xF0\x9F\x98\x80\xC3";
  std::string back;
  const char* p = all.data();
  while (p < all.data() + all.size()) {
    uint32_t cp;
    p += utf8_decode(p, all.data() + all.size(), cp);
    utf8_append(back, cp);
  }
  CHECK(back == all);
}

TEST_CASE("lowercase maps ASCII, accented Latin, Greek and Cyrillic and keeps other bytes") {
  std::string out;
  utf8_lowercase(
      "HeLLo \xC3\x89T\xC3\x89 \xC5\x92UVRE \xCE\xA3\xCE\x9F\xCE\xA6 \xD0\x9F\xD0\xA0\xD0\x98 \xFF\xE6\x97\xA5", out);
  CHECK(out ==
        "hello \xC3\xA9t\xC3\xA9 \xC5\x93uvre \xCF\x83\xCE\xBF\xCF\x86 \xD0\xBF\xD1\x80\xD0\xB8 \xFF\xE6\x97\xA5");
  out.clear();
  utf8_lowercase("\xC3\x97\xC5\xB8", out);  // multiplication sign stays, Y-diaeresis -> U+00FF
  CHECK(out == "\xC3\x97\xC3\xBF");
}
