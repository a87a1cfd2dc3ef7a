#include <doctest/doctest.h>

#include <random>
#include <sstream>

#include "core/error.h"
#include "text/token_stream.h"
#include "text_helpers.h"

using namespace attn;

namespace {

std::string run_encode(tokenizer& t, const std::string& text, token_format f) {
  std::istringstream in(text);
  std::ostringstream out;
  encode_stream(t, in, out, f, "in", "out");
  return out.str();
}

std::string run_decode(tokenizer& t, const std::string& text, token_format f) {
  std::istringstream in(text);
  std::ostringstream out;
  decode_stream(t, in, out, f, "in", "out");
  return out.str();
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

}  // namespace

TEST_CASE("streams round-trip byte for byte, with and without a final newline") {
  const auto lines = test::edge_lines();
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::bpe, 500, lines));
  const std::string text = join(lines);
  for (const std::string& input : {text, text.substr(0, text.size() - 1), text + "\n", std::string(), std::string("\n"),
                                   std::string("no newline at all"), std::string("\r\n\r\n")}) {
    for (auto f : {token_format::ids, token_format::pieces}) {
      const std::string enc = run_encode(*tok, input, f);
      // One output line per input line; the final newline is mirrored.
      CHECK(std::count(enc.begin(), enc.end(), '\n') == std::count(input.begin(), input.end(), '\n'));
      CHECK((!enc.empty() && enc.back() == '\n') == (!input.empty() && input.back() == '\n'));
      CHECK(run_decode(*tok, enc, f) == input);
    }
  }
}

TEST_CASE("random byte streams round-trip through bpe ids") {
  std::mt19937_64 rng(99);
  std::vector<std::string> train;
  for (int i = 0; i < 100; ++i) train.push_back(test::random_bytes(rng, 100));
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::bpe, 700, train));
  for (int i = 0; i < 50; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 2000);
    for (int j = 0; j < n; ++j) s.push_back(static_cast<char>(rng() % 256));  // '\n' included
    CHECK(run_decode(*tok, run_encode(*tok, s, token_format::ids), token_format::ids) == s);
  }
}

TEST_CASE("ids and pieces formats") {
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::word, 100, {"hi there", "hi  there"}));
  const std::string ids = run_encode(*tok, "hi there\n\nhi\tthere", token_format::ids);
  const std::string hi = std::to_string(tok->find("hi")), there = std::to_string(tok->find(" there"));
  CHECK(ids == hi + " " + there + "\n\n" + hi + " 1 1");  // "\t" and "there" are unknown
  CHECK(run_encode(*tok, "hi  there", token_format::pieces) == "hi \xE2\x96\x81 \xE2\x96\x81there");
  // Decoding tolerates repeated spaces between ids and ignores <pad> <bos> <eos>.
  CHECK(run_decode(*tok, "2  " + hi + "   " + there + " 3 0\n", token_format::ids) == "hi there\n");
  CHECK(run_decode(*tok, "<bos> hi \xE2\x96\x81there <eos>", token_format::pieces) == "hi there");
}

TEST_CASE("bad ids and pieces name the line") {
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::char_level, 20, {"abc"}));
  CHECK_THROWS_WITH_AS(run_decode(*tok, "4 5\n4 x\n", token_format::ids),
                       "'in' line 2: 'x' is not a token id (decode pieces with --pieces)", attn::error);
  CHECK_THROWS_WITH_AS(run_decode(*tok, "4 5\n\n4 70\n", token_format::ids),
                       "'in' line 3: token id 70 is outside the vocabulary (0..6)", attn::error);
  CHECK_THROWS_WITH_AS(run_decode(*tok, "4 -1\n", token_format::ids),
                       "'in' line 1: token id -1 is outside the vocabulary (0..6)", attn::error);
  CHECK_THROWS_WITH_AS(run_decode(*tok, "4 99999999999999999999\n", token_format::ids),
                       "'in' line 1: '99999999999999999999' is not a token id (decode pieces with --pieces)",
                       attn::error);
  CHECK_THROWS_WITH_AS(run_decode(*tok, "a \\z\n", token_format::pieces),
                       doctest::Contains("'in' line 1: bad piece '\\z'"), attn::error);
}

TEST_CASE("a failing output stream is reported") {
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::char_level, 20, {"abc"}));
  std::istringstream in("abc\n");
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  CHECK_THROWS_WITH_AS(encode_stream(*tok, in, out, token_format::ids, "in", "out.txt"), "error writing 'out.txt'",
                       attn::error);
}
