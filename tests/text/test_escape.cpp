#include <doctest/doctest.h>

#include <random>

#include "text/escape.h"
#include "text_helpers.h"

using namespace attn;

TEST_CASE("escaped tokens use the documented forms") {
  CHECK(escape_token(" the") == "\xE2\x96\x81the");
  CHECK(escape_token("a\tb\nc\rd") == "a\\tb\\nc\\rd");
  CHECK(escape_token("back\\slash") == "back\\\\slash");
  CHECK(escape_token(std::string("\0", 1)) == "\\x00");
  CHECK(escape_token("\xFF") == "\\xFF");
  CHECK(escape_token("\xE2\x96\x81") == "\\xE2\\x96\\x81");  // a literal U+2581 is not a space
  CHECK(escape_token("\xC2\xA0") == "\\xC2\\xA0");           // no-break space is made visible
  CHECK(escape_token("\xC3\xA9t\xC3\xA9") == "\xC3\xA9t\xC3\xA9");
  CHECK(escape_token("<unk>") == "<unk>");
}

TEST_CASE("escape and unescape round-trip random bytes and never emit separators") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; ++i) {
    const std::string s = test::random_bytes(rng, 40);
    const std::string e = escape_token(s);
    CHECK(e.find(' ') == std::string::npos);
    CHECK(e.find('\t') == std::string::npos);
    CHECK(e.find('\n') == std::string::npos);
    std::string back;
    REQUIRE(unescape_token(e, back, nullptr));
    CHECK(back == s);
  }
}

TEST_CASE("malformed escapes are rejected with a reason") {
  std::string out, why;
  CHECK_FALSE(unescape_token("ab\\", out, &why));
  CHECK(why.find("backslash") != std::string::npos);
  CHECK_FALSE(unescape_token("\\q", out, &why));
  CHECK(why.find("\\q") != std::string::npos);
  CHECK_FALSE(unescape_token("\\x4", out, &why));
  CHECK_FALSE(unescape_token("\\xG1", out, &why));
  CHECK_FALSE(unescape_token("a b", out, &why));
  out.clear();
  CHECK(unescape_token("\\x41\\x62", out, &why));
  CHECK(out == "Ab");
}
