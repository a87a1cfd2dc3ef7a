// lib/eval/text.h: Python's notion of whitespace (rstrip, split, removal) and Unicode lowercasing.
#include <doctest/doctest.h>


#include "eval/text.h"

using namespace attn;

TEST_CASE("Python whitespace: rstrip, split and removal include Unicode spaces") {
  CHECK(rstrip_space("a b \t\r") == "a b");
  CHECK(rstrip_space("a\xC2\xA0") == "a");          // U+00A0 no-break space
  CHECK(rstrip_space("a\xE3\x80\x80") == "a");      // U+3000 ideographic space
  CHECK(rstrip_space("a\xC3\xA9") == "a\xC3\xA9");  // é is not a space
  CHECK(rstrip_space("   ") == "");
  const auto w = split_space("  x\xE2\x80\x83y  z\x1F");  // U+2003 em space, U+001F unit separator
  REQUIRE(w.size() == 3);
  CHECK(w[0] == "x");
  CHECK(w[1] == "y");
  CHECK(w[2] == "z");
  CHECK(remove_space(" a b\tc\xC2\xA0"
                     "d ") == "abcd");
  CHECK(lowercase("The \xC3\x89T\xC3\x89") == "the \xC3\xA9t\xC3\xA9");  // ÉTÉ -> été
}
