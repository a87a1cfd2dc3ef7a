#pragma once
// One token per Unicode code point (an invalid UTF-8 byte counts as one "character" of its own,
// so it can be in the vocabulary too); anything not in the vocabulary becomes <unk>.
#include "text/tokenizer.h"

namespace attn {

class char_tokenizer : public tokenizer {
 public:
  explicit char_tokenizer(vocab v);

 protected:
  void encode_plain(std::string_view text, std::vector<int32_t>& out) override;

 private:
  std::vector<int32_t> direct_;  // code point -> id for the first direct_.size() code points
};

}  // namespace attn
