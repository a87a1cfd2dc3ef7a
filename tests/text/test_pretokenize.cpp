#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "text/pretokenize.h"
#include "text_helpers.h"

using namespace attn;

namespace {
std::vector<std::string> split(std::string_view text, split_mode mode) {
  std::vector<std::string> out;
  word_splitter s(text, mode);
  std::string_view w;
  while (s.next(w)) out.emplace_back(w);
  return out;
}
using words = std::vector<std::string>;
}  // namespace

TEST_CASE("word mode: a single space joins the next word, other whitespace stays apart") {
  CHECK(split("Hi  there,\tyou", split_mode::word) == words{"Hi", " ", " there", ",", "\t", "you"});
  CHECK(split(" lead", split_mode::word) == words{" lead"});
  CHECK(split("trail ", split_mode::word) == words{"trail", " "});
  CHECK(split("a \t b", split_mode::word) == words{"a", " \t", " b"});
  CHECK(split("don't stop!!", split_mode::word) == words{"don", "'", "t", " stop", "!", "!"});
  CHECK(split("abc123 x", split_mode::word) == words{"abc123", " x"});
  CHECK(split("\xE6\x97\xA5\xE6\x9C\xAC", split_mode::word) == words{"\xE6\x97\xA5", "\xE6\x9C\xAC"});
  CHECK(split("", split_mode::word).empty());
}

TEST_CASE("bpe mode: GPT-2 style runs of letters, digits and symbols") {
  CHECK(split("Hi  there,\tyou", split_mode::bpe) == words{"Hi", " ", " there", ",", "\t", "you"});
  CHECK(split("abc123 !!?", split_mode::bpe) == words{"abc", "123", " !!?"});
  CHECK(split("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", split_mode::bpe) ==
        words{"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"});
  CHECK(split("x\r", split_mode::bpe) == words{"x", "\r"});
}

TEST_CASE("bpe words are cut at max_bpe_word bytes on code point boundaries") {
  std::string long_word;
  for (int i = 0; i < 100; ++i) long_word += "\xC3\xA9";  // 200 bytes of 'é'
  const auto w = split(long_word, split_mode::bpe);
  REQUIRE(w.size() == 2);
  CHECK(w[0].size() == max_bpe_word);
  CHECK(w[0] + w[1] == long_word);
}

TEST_CASE("bpe mode cuts whitespace runs at max_bpe_word bytes too") {
  // Found by tests/fuzz (tokenize): a run of 300 form feeds was one word, too long for the
  // encoder cache, and lost bytes in decode(encode(x)).
  for (const std::string& run : {std::string(300, '\f'), std::string(300, ' ') + "x", std::string(129, '\t')}) {
    const auto w = split(run, split_mode::bpe);
    std::string joined;
    for (const auto& piece : w) {
      CHECK(piece.size() <= max_bpe_word);
      joined += piece;
    }
    CHECK(joined == run);
  }
  CHECK(split(std::string(300, ' ') + "x", split_mode::bpe).back() == " x");  // the last ' ' still joins the word
}

TEST_CASE("pieces concatenate back to the input for any bytes, in both modes") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    const std::string s = test::random_bytes(rng, 300);
    for (auto mode : {split_mode::word, split_mode::bpe}) {
      std::string joined;
      word_splitter sp(s, mode);
      std::string_view w;
      bool ok = true;
      while (sp.next(w)) {
        ok = ok && !w.empty() && (mode == split_mode::word || w.size() <= max_bpe_word);
        joined += w;
      }
      CHECK(ok);
      CHECK(joined == s);
    }
  }
}
