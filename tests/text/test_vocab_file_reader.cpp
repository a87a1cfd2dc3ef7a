// read_vocab on files an editor or a typo broke: the message says what happened (CRLF line
// endings, a byte order mark) instead of a field it cannot parse, and header numbers stay in range.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "core/error.h"
#include "text/vocab_file.h"

using namespace attn;

namespace {

const std::string good =
    "attn-vocab 1 char tokens=6 specials=4 merges=0 lowercase=0\n"
    "0\t<pad>\t0\n1\t<unk>\t0\n2\t<bos>\t0\n3\t<eos>\t0\n4\ta\t10\n5\t\xE2\x96\x81\t7\n";

std::string error_of(const std::string& text) {
  std::istringstream in(text);
  try {
    read_vocab(in, "v.txt");
  } catch (const attn::error& e) {
    return e.what();
  }
  return "";
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  std::string out;
  for (std::size_t p = 0;;) {
    const std::size_t q = s.find(from, p);
    out += s.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (q == std::string::npos) return out;
    out += to;
    p = q + from.size();
  }
}

}  // namespace

TEST_CASE("vocab reader: CRLF line endings and a BOM are named") {
  REQUIRE(error_of(good) == "");
  CHECK(error_of(replaced(good, "\n", "\r\n")) ==
        "'v.txt' line 1: has Windows (CRLF) line endings; convert them to LF (e.g. dos2unix)");
  // Only a later line converted: still named, with its line.
  CHECK(error_of(replaced(good, "4\ta\t10\n", "4\ta\t10\r\n")) ==
        "'v.txt' line 6: has Windows (CRLF) line endings; convert them to LF (e.g. dos2unix)");
  CHECK(error_of("\xEF\xBB\xBF" + good) ==
        "'v.txt' line 1: starts with a UTF-8 byte order mark (BOM); save the file without one");
}

TEST_CASE("vocab reader: lowercase is 0 or 1, nothing else") {
  CHECK(error_of(replaced(good, "lowercase=0", "lowercase=1")) == "");
  for (const char* bad : {"lowercase=2", "lowercase=9", "lowercase=10", "lowercase=-1"})
    CHECK(error_of(replaced(good, "lowercase=0", bad)) ==
          "'v.txt' line 1: header field 'lowercase' needs a number up to 1");
}
