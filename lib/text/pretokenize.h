#pragma once
// Pre-tokenization: cuts a line into words that concatenate back to the line byte for byte.
// A single ' ' before a word is kept at the front of that word (GPT-2 style), so spacing needs
// no separate tokens in the common case; other whitespace stays in runs of its own:
//   "Hi  there,\tyou"  ->  "Hi" " " " there" "," "\t" "you"           (word mode)
// Word mode keeps letters and digits together and makes each punctuation mark and each CJK
// ideograph a word of its own. BPE mode follows GPT-2: runs of letters, of digits, of other
// symbols, and cuts words at max_bpe_word bytes so that merges (and the encoder's cache) never
// see unbounded words.
#include <cstddef>
#include <string_view>

namespace attn {

enum class split_mode { word, bpe };

constexpr std::size_t max_bpe_word = 128;

class word_splitter {
 public:
  word_splitter(std::string_view text, split_mode mode)
      : text_(text), mode_(mode), max_len_(mode == split_mode::bpe ? max_bpe_word : text.size()) {}
  // Sets word to the next piece (never empty); false at the end of the text.
  bool next(std::string_view& word);

 private:
  std::string_view text_;
  split_mode mode_;
  std::size_t max_len_;
  std::size_t pos_ = 0;
};

}  // namespace attn
