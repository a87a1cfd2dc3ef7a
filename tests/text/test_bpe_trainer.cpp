#include <doctest/doctest.h>

#include <map>
#include <random>

#include "text/bpe_tokenizer.h"
#include "text/bpe_trainer.h"
#include "text/pretokenize.h"
#include "text_helpers.h"

using namespace attn;

namespace {

struct corpus {
  string_table words;
  std::vector<uint64_t> freqs;
  void add(const std::string& w, uint64_t f) {
    bool added;
    const int32_t id = words.insert(w, &added);
    if (added) freqs.push_back(0);
    freqs[id] += f;
  }
};

std::vector<std::string> merge_strings(const bpe_model& m) {
  std::vector<std::string> out;
  for (auto [a, b] : m.merges) out.push_back(m.tokens[a] + " " + m.tokens[b]);
  return out;
}

// Sennrich et al.'s example (without end-of-word marks), worked by hand:
//   pairs: e s 9, s t 9, w e 8, l o 7, o w 7, n e 6, e w 6, w i 3, i d 3, d e 3, e r 2
//   e s (9, ties s t: smaller left id 'e'), es t (9), l o (7, ties o w), lo w (7),
//   e w (6: ties n e and w es -> 'e' is smallest), n ew, new est, d est (3: d < i < w),
//   i dest, w idest, e r (2, ties low e: 'e' < "low"), low er
corpus sennrich() {
  corpus c;
  c.add("low", 5);
  c.add("lower", 2);
  c.add("newest", 6);
  c.add("widest", 3);
  return c;
}

}  // namespace

TEST_CASE("merges on a tiny hand-checked corpus, ties broken by smaller ids") {
  const corpus c = sennrich();
  bpe_options o;
  o.num_tokens = 1000;
  const bpe_model m = train_bpe(c.words, c.freqs, o);
  CHECK(merge_strings(m) == std::vector<std::string>{"e s", "es t", "l o", "lo w", "e w", "n ew", "new est", "d est",
                                                     "i dest", "w idest", "e r", "low er"});
  REQUIRE(m.tokens.size() == 256 + 12);
  CHECK(m.tokens[256] == "es");
  CHECK(m.tokens[267] == "lower");
  // Every word ends as one token, so each whole word's count is its frequency.
  CHECK(m.counts[259] == 5);  // "low"
  CHECK(m.counts[262] == 6);  // "newest"
  CHECK(m.counts['e'] == 0);
}

TEST_CASE("training stops at the token budget and at min_freq") {
  const corpus c = sennrich();
  bpe_options o;
  o.num_tokens = 258;
  CHECK(merge_strings(train_bpe(c.words, c.freqs, o)) == std::vector<std::string>{"e s", "es t"});
  o.num_tokens = 1000;
  o.min_freq = 7;
  CHECK(merge_strings(train_bpe(c.words, c.freqs, o)) == std::vector<std::string>{"e s", "es t", "l o", "lo w"});
}

TEST_CASE("overlapping pairs are counted exactly") {
  corpus c;
  c.add("aaaa", 1);  // a a 3 times, but only two merges fit: aa aa
  c.add("abab", 1);
  bpe_options o;
  o.num_tokens = 1000;
  const bpe_model m = train_bpe(c.words, c.freqs, o);
  // a a (3) first; then "aa aa" (1) and in abab: a b (2) -> "ab ab", then ab ab (1), then aa aa (1).
  CHECK(merge_strings(m) == std::vector<std::string>{"a a", "a b", "aa aa", "ab ab"});
}

TEST_CASE("counts beyond 32 bits are kept exactly") {
  corpus c;
  c.add("xy", 5000000000ull);
  c.add("zw", 4999999999ull);
  bpe_options o;
  o.num_tokens = 257;
  const bpe_model m = train_bpe(c.words, c.freqs, o);
  REQUIRE(m.merges.size() == 1);
  CHECK(m.tokens[256] == "xy");
  CHECK(m.counts[256] == 5000000000ull);
  CHECK(m.counts['z'] == 4999999999ull);
}

TEST_CASE("forbidden results (special tokens) are never created") {
  corpus c;
  c.add("SEP", 10);
  c.add("SE", 1);
  bpe_options o;
  o.num_tokens = 1000;
  o.forbidden = {"SEP"};
  const bpe_model m = train_bpe(c.words, c.freqs, o);
  CHECK(merge_strings(m) == std::vector<std::string>{"S E"});
}

TEST_CASE("training is deterministic and the encoder reproduces the trainer's segmentation") {
  std::mt19937_64 rng(123);
  std::vector<std::string> lines;
  for (int i = 0; i < 400; ++i) lines.push_back(test::random_bytes(rng, 60));
  const vocab v1 = test::build_vocab(tokenizer_kind::bpe, 600, lines);
  const vocab v2 = test::build_vocab(tokenizer_kind::bpe, 600, lines);
  CHECK(v1.tokens == v2.tokens);
  CHECK(v1.merges == v2.merges);
  CHECK(v1.tokens.size() == 600);

  // Re-encode the corpus: the token counts must be exactly those the trainer recorded.
  bpe_tokenizer tok(v1);
  std::vector<uint64_t> counts(v1.size(), 0);
  std::vector<int32_t> ids;
  for (const auto& l : lines) {
    ids.clear();
    tok.encode(l, ids);
    for (int32_t id : ids) ++counts[id];
  }
  CHECK(counts == v1.counts);
}
