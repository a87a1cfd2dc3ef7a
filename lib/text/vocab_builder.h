#pragma once
// Builds a vocabulary from text: feed lines (or fields) with add(), then build().
//   char: the most frequent code points;  word: the most frequent pre-tokenized words;
//   bpe:  the 256 bytes plus merges learned by train_bpe from the pre-tokenized word counts.
// char/word keep tokens seen at least min_freq times, most frequent first (ties: bytewise order);
// bpe stops merging when the best pair occurs fewer than min_freq times.
// --size counts every token, specials included.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "text/special_matcher.h"
#include "text/string_table.h"
#include "text/vocab.h"

namespace attn {

struct vocab_options {
  tokenizer_kind kind = tokenizer_kind::bpe;
  std::size_t size = 8000;
  uint64_t min_freq = 1;
  bool lowercase = false;
  std::vector<std::string> specials;  // user special tokens, ids 4, 5, ...
};

// The first problem with opts (size too small for the specials and bytes, duplicate or empty
// specials...), or "" if none. The CLI reports it as a usage error.
std::string vocab_options_problem(const vocab_options& opts);

class vocab_builder {
 public:
  explicit vocab_builder(vocab_options opts);  // throws attn::error if opts has a problem
  void add(std::string_view text);             // one line or field, without '\n'
  // progress(done, total) is called now and then while merging (bpe only).
  vocab build(const std::function<void(std::size_t, std::size_t)>& progress = {}) const;
  std::size_t distinct() const { return units_.size(); }  // distinct characters/words so far

 private:
  void count(std::string_view plain);
  vocab_options opts_;
  special_matcher specials_;
  std::vector<uint64_t> special_counts_;
  string_table units_;  // characters or words
  std::vector<uint64_t> counts_;
  std::string lowered_;
};

}  // namespace attn
