// The three tokenizers through the common interface: round trips, <unk>, specials, lowercase.
#include <doctest/doctest.h>

#include <random>

#include "core/error.h"
#include "text/bpe_tokenizer.h"
#include "text/tokenizer.h"
#include "text_helpers.h"

using namespace attn;

namespace {

std::vector<int32_t> encode(tokenizer& t, std::string_view s) {
  std::vector<int32_t> ids;
  t.encode(s, ids);
  return ids;
}

std::string decode(const tokenizer& t, const std::vector<int32_t>& ids) {
  std::string out;
  t.decode(ids, out);
  return out;
}

std::vector<std::string> pieces(tokenizer& t, std::string_view s) {
  std::vector<std::string> out;
  for (int32_t id : encode(t, s)) out.push_back(t.piece(id));
  return out;
}

bool has_unk(const std::vector<int32_t>& ids) {
  for (int32_t id : ids)
    if (id == unk_id) return true;
  return false;
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("every kind round-trips its training lines exactly, edge cases included") {
  const auto lines = test::edge_lines();
  for (auto kind : {tokenizer_kind::char_level, tokenizer_kind::word, tokenizer_kind::bpe}) {
    CAPTURE(kind_name(kind));
    auto tok = make_tokenizer(test::build_vocab(kind, 10000, lines));
    for (const auto& l : lines) {
      CAPTURE(l);
      const auto ids = encode(*tok, l);
      CHECK_FALSE(has_unk(ids));
      CHECK(decode(*tok, ids) == l);
    }
  }
}

TEST_CASE("bpe encodes any byte string without <unk> and decodes it back exactly") {
  std::mt19937_64 rng(2024);
  std::vector<std::string> train;
  for (int i = 0; i < 300; ++i) train.push_back(test::random_bytes(rng, 80));
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::bpe, 1000, train));
  for (int i = 0; i < 3000; ++i) {
    std::string s = test::random_bytes(rng, 400);
    if (i % 10 == 0)  // and fully arbitrary bytes
      for (auto& c : s) c = static_cast<char>(rng() % 256);
    for (auto& c : s)  // tokenizers see lines, which hold no '\n'

      if (c == '\n') c = ' ';
    const auto ids = encode(*tok, s);
    CHECK_FALSE(has_unk(ids));
    CHECK(decode(*tok, ids) == s);
  }
  // A vocabulary trained on nothing still spells everything, byte by byte.
  auto bytes_only = make_tokenizer(test::build_vocab(tokenizer_kind::bpe, 260, {}));
  const std::string s = "any \xFF\x00 text \xF0\x9F\x98\x80";
  CHECK(encode(*bytes_only, s).size() == s.size());
  CHECK(decode(*bytes_only, encode(*bytes_only, s)) == s);
}

TEST_CASE("bpe merges frequent words into single tokens with their leading space") {
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::bpe, 300, {"the cat and the dog and the bird"}));
  CHECK(pieces(*tok, "the cat") == strings{"the",
                                           "\xE2\x96\x81"
                                           "cat"});
  CHECK(pieces(*tok, " the  the") == strings{"\xE2\x96\x81the", "\xE2\x96\x81", "\xE2\x96\x81the"});
}

TEST_CASE("char and word: unknown tokens become <unk>, known text still round-trips") {
  auto chars = make_tokenizer(test::build_vocab(tokenizer_kind::char_level, 100, {"abc de"}));
  const auto ids = encode(*chars, "abz d");
  CHECK(ids.size() == 5);
  CHECK(ids[2] == unk_id);
  CHECK(decode(*chars, ids) == "ab<unk> d");

  auto words = make_tokenizer(test::build_vocab(tokenizer_kind::word, 100, {"the cat sat", "a dog"}));
  CHECK(decode(*words, encode(*words, "the cat sat")) == "the cat sat");
  // " bat" is unknown and so is " " alone (only " cat", " sat", " dog" were seen): one <unk>.
  CHECK(pieces(*words, "the bat") == strings{"the", "<unk>"});
  auto spaced = make_tokenizer(test::build_vocab(tokenizer_kind::word, 100, {"the  cat", "sat"}));
  // Now " " is a token (from the double space) and "sat" is known without a space.
  CHECK(pieces(*spaced, "the sat") == strings{"the", "\xE2\x96\x81", "sat"});
  CHECK(decode(*spaced, encode(*spaced, "the sat")) == "the sat");
  CHECK(pieces(*spaced, "the bat") == strings{"the", "\xE2\x96\x81", "<unk>"});
  CHECK(decode(*spaced, encode(*spaced, "the bat")) == "the <unk>");
}

TEST_CASE("word tokens keep spacing: tabs, runs and trailing spaces") {
  const strings lines = {"a  b\tc ", "x \t y"};
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::word, 100, lines));
  CHECK(pieces(*tok, "a  b\tc ") == strings{"a", "\xE2\x96\x81",
                                            "\xE2\x96\x81"
                                            "b",
                                            "\\t", "c", "\xE2\x96\x81"});
  for (const auto& l : lines) CHECK(decode(*tok, encode(*tok, l)) == l);
}

TEST_CASE("special tokens are never split and decode to their text; pad/bos/eos decode to nothing") {
  for (auto kind : {tokenizer_kind::char_level, tokenizer_kind::word, tokenizer_kind::bpe}) {
    CAPTURE(kind_name(kind));
    auto tok = make_tokenizer(test::build_vocab(kind, 500, {"hello <sep> world", "[MASK]x"}, {"<sep>", "[MASK]"}));
    const auto ids = encode(*tok, "hi<sep>[MASK]<sep>");
    REQUIRE(ids.size() >= 3);
    CHECK(ids[ids.size() - 1] == 4);
    CHECK(ids[ids.size() - 2] == 5);
    CHECK(ids[ids.size() - 3] == 4);
    CHECK(decode(*tok, {bos_id, ids[0], pad_id, eos_id}) == decode(*tok, {ids[0]}));
    CHECK(decode(*tok, {4, 5}) == "<sep>[MASK]");
    CHECK(tok->vocabulary().counts[4] == 1);  // "<sep>" occurred once in training
    // The fixed specials are not matched in text: "<unk>" typed by a user is ordinary text.
    if (kind == tokenizer_kind::bpe) CHECK(decode(*tok, encode(*tok, "<unk>")) == "<unk>");
  }
}

TEST_CASE("lowercasing vocabularies lowercase the input too") {
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::word, 100, {"Hello WORLD"}, {}, true));
  CHECK(tok->vocabulary().lowercase);
  CHECK(pieces(*tok, "HELLO World") == strings{"hello", "\xE2\x96\x81world"});
}

TEST_CASE("decode rejects ids outside the vocabulary") {
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::char_level, 10, {"ab"}));
  std::string out;
  CHECK_THROWS_AS(tok->decode({6}, out), attn::error);
  CHECK_THROWS_AS(tok->decode({-1}, out), attn::error);
  CHECK_NOTHROW(tok->decode({5}, out));
}

TEST_CASE("the bpe cache gives the same ids as encoding without it") {
  std::mt19937_64 rng(5);
  std::vector<std::string> train;
  for (int i = 0; i < 200; ++i) train.push_back(test::random_bytes(rng, 100));
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::bpe, 800, train));
  for (int round = 0; round < 2; ++round)  // the second round is served from the cache
    for (const auto& l : train) {
      auto fresh = make_tokenizer(tok->vocabulary());
      CHECK(encode(*tok, l) == encode(*fresh, l));
    }
}

TEST_CASE("bpe round-trips whitespace runs of any length") {
  // Found by tests/fuzz (tokenize): a run of more than 255 whitespace bytes lost bytes.
  auto tok = make_tokenizer(test::build_vocab(tokenizer_kind::bpe, 300, {"a  b\f\fc"}));
  for (const std::string& s : {std::string(300, '\f'), "a" + std::string(1000, ' ') + "b", std::string(256, '\t')}) {
    CHECK(decode(*tok, encode(*tok, s)) == s);
    CHECK(decode(*tok, encode(*tok, s)) == s);  // again, from the cache
  }
}

TEST_CASE("encode_word takes words longer than the splitter ever yields") {
  bpe_tokenizer tok(test::build_vocab(tokenizer_kind::bpe, 300, {"abababab"}));
  const std::string w(1000, 'a');
  std::vector<int32_t> ids;
  tok.encode_word(w, ids);
  CHECK(decode(tok, ids) == w);
}
