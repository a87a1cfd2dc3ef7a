#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "test_helpers.h"
#include "text/vocab_file.h"
#include "text_helpers.h"

using namespace attn;

namespace {

std::string to_text(const vocab& v) {
  std::ostringstream out;
  write_vocab(v, out);
  return out.str();
}

vocab from_text(const std::string& text) {
  std::istringstream in(text);
  return read_vocab(in, "v.txt");
}

// The error message for reading text, or "" if it loads.
std::string error_of(const std::string& text) {
  try {
    from_text(text);
  } catch (const attn::error& e) {
    return e.what();
  }
  return "";
}

const std::string good_char =
    "attn-vocab 1 char tokens=6 specials=4 merges=0 lowercase=0\n"
    "0\t<pad>\t0\n1\t<unk>\t0\n2\t<bos>\t0\n3\t<eos>\t0\n4\ta\t10\n5\t\xE2\x96\x81\t7\n";

}  // namespace

TEST_CASE("every kind of vocabulary survives write and read unchanged") {
  const auto lines = test::edge_lines();
  for (auto kind : {tokenizer_kind::char_level, tokenizer_kind::word, tokenizer_kind::bpe}) {
    const vocab v = test::build_vocab(kind, 400, lines, {"<sep>", "tab\there"}, kind == tokenizer_kind::word);
    const vocab w = from_text(to_text(v));
    CHECK(w.kind == v.kind);
    CHECK(w.lowercase == v.lowercase);
    CHECK(w.num_specials == 6);
    CHECK(w.tokens == v.tokens);
    CHECK(w.counts == v.counts);
    CHECK(w.merges == v.merges);
    CHECK(to_text(w) == to_text(v));
  }
}

TEST_CASE("the file is line-oriented text with a header") {
  const vocab v = from_text(good_char);
  CHECK(v.tokens[5] == " ");
  CHECK(v.counts[4] == 10);
  const std::string text = to_text(test::build_vocab(tokenizer_kind::bpe, 262, {"aa aa aa"}));
  CHECK(text.rfind("attn-vocab 1 bpe tokens=262 specials=4 merges=2 lowercase=0\n", 0) == 0);
  CHECK(text.find("\n14\t\\n\t0\n") != std::string::npos);                    // byte '\n' is token 4 + 10
  CHECK(text.find("\n0\ta\ta\n1\t\xE2\x96\x81\taa\n") != std::string::npos);  // merges: a a, then ▁ aa
}

TEST_CASE("save and load through a file") {
  const vocab v = test::build_vocab(tokenizer_kind::word, 50, test::edge_lines());
  attn::testing::temp_dir d;
  {
    std::ofstream out(d.path("v.vocab"), std::ios::binary);
    write_vocab(v, out);
  }
  const vocab w = load_vocab(d.path("v.vocab"));
  CHECK(w.tokens == v.tokens);
  CHECK_THROWS_WITH_AS(load_vocab("no/such/file.vocab"),
                       doctest::Contains("cannot open vocabulary 'no/such/file.vocab'"), attn::error);
}

TEST_CASE("corrupt files are rejected with the line of the error") {
  const auto replace = [](std::string s, const std::string& from, const std::string& to) {
    const auto p = s.find(from);
    REQUIRE(p != std::string::npos);
    return s.replace(p, from.size(), to);
  };
  CHECK(error_of(good_char) == "");
  CHECK(error_of("") == "'v.txt' is empty, not a vocabulary");
  CHECK(error_of("hello\n") ==
        "'v.txt' line 1: not an attn vocabulary (the first line should start with 'attn-vocab')");
  CHECK(error_of(replace(good_char, "attn-vocab 1", "attn-vocab 2")).find("version 2 is not supported") !=
        std::string::npos);
  CHECK(error_of(replace(good_char, " char ", " chars ")).find("line 1: header must name the tokenizer kind") !=
        std::string::npos);
  CHECK(error_of(replace(good_char, "tokens=6", "tokens=6x")) ==
        "'v.txt' line 1: header field 'tokens' needs a number up to 268435456");
  CHECK(error_of(replace(good_char, "tokens=6", "tokens=99999999999999999999999"))
            .find("line 1: header field 'tokens'") != std::string::npos);
  CHECK(error_of(replace(good_char, " lowercase=0", "")) == "'v.txt' line 1: header lacks the field 'lowercase='");
  CHECK(error_of(replace(good_char, " lowercase=0", " lowercase=0 colour=red")) ==
        "'v.txt' line 1: unknown header field 'colour=red'");
  CHECK(error_of(replace(good_char, "merges=0", "merges=3")) == "'v.txt' line 1: only a bpe vocabulary has merges");
  CHECK(error_of(replace(good_char, "4\ta\t10", "5\ta\t10")) == "'v.txt' line 6: expected token id 4, found '5'");
  CHECK(error_of(replace(good_char, "4\ta\t10", "4\ta\t-10")) == "'v.txt' line 6: bad count '-10'");
  CHECK(error_of(replace(good_char, "4\ta\t10", "4\ta\t18446744073709551616")) ==
        "'v.txt' line 6: bad count '18446744073709551616'");
  CHECK(error_of(replace(good_char, "4\ta\t10", "4\ta")) ==
        "'v.txt' line 6: expected 3 tab-separated fields (id, token, count), found 2");
  CHECK(error_of(replace(good_char, "4\ta\t10", "4\t\\q\t10")).find("line 6: token '\\q': bad escape") !=
        std::string::npos);
  CHECK(error_of(replace(good_char, "4\ta\t10", "4\t\t10")) == "'v.txt' line 6: empty token");
  CHECK(error_of(replace(good_char, "4\ta\t10", "4\t\xE2\x96\x81\t10")) ==
        "'v.txt' line 7: token '\xE2\x96\x81' already has id 4");
  CHECK(error_of(replace(good_char, "1\t<unk>", "1\t<unknown>")) == "'v.txt': token 1 must be <unk>, not '<unknown>'");
  CHECK(error_of(good_char.substr(0, good_char.rfind("5\t"))) ==
        "'v.txt' ends after 5 of the 6 tokens its header announces");
  CHECK(error_of(good_char + "6\tb\t1\n").find("line 8: unexpected line") != std::string::npos);
  // Comment lines are allowed anywhere and count for line numbers.
  CHECK(error_of(replace(good_char, "4\ta\t10", "# a comment\n4\ta\t10")) == "");
  CHECK(error_of(replace(good_char, "4\ta\t10", "# a comment\n4\ta\tx")) == "'v.txt' line 7: bad count 'x'");
}

TEST_CASE("corrupt bpe files: missing bytes, bad merges") {
  const std::string good = to_text(test::build_vocab(tokenizer_kind::bpe, 262, {"aa aa aa"}));
  CHECK(error_of(good) == "");
  const auto replace = [](std::string s, const std::string& from, const std::string& to) {
    const auto p = s.find(from);
    REQUIRE(p != std::string::npos);
    return s.replace(p, from.size(), to);
  };
  CHECK(error_of(replace(good, "\n102\tb\t", "\n102\tbb\t")) == "'v.txt': bpe vocabulary has no token for byte \\x62");
  CHECK(error_of(replace(good, "\n0\ta\ta\n", "\n0\ta\tq\n")) ==
        "'v.txt': merge 0 produces 'aq', which is not an ordinary token");
  CHECK(error_of(replace(good, "\n0\ta\ta\n", "\n0\ta\t<zz>\n")) ==
        "'v.txt' line 266: merge of '<zz>', which is not a token");
  CHECK(error_of(replace(good, "\n1\t\xE2\x96\x81\taa\n", "\n1\ta\ta\n")) == "'v.txt': merge 1 repeats merge 0");
  CHECK(error_of(replace(good, "\n0\ta\ta\n", "\n0\t<pad>\ta\n")) ==
        "'v.txt': merge 0 refers to a token id outside the ordinary tokens");
  CHECK(error_of(replace(good, "\n0\ta\ta\n", "\n7\ta\ta\n")) == "'v.txt' line 266: expected merge rank 0, found '7'");
}
