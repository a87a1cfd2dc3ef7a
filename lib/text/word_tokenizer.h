#pragma once
// One token per pre-tokenized word (text/pretokenize.h, word mode): words carry their leading
// space, so decoding restores spacing exactly. An unknown " word" falls back to the token " "
// followed by "word" (or <unk>), and an unknown whitespace run to one token per character, so
// an unknown word costs its own text but never the spaces around it.
#include "text/tokenizer.h"

namespace attn {

class word_tokenizer : public tokenizer {
 public:
  explicit word_tokenizer(vocab v);

 protected:
  void encode_plain(std::string_view text, std::vector<int32_t>& out) override;

 private:
  int32_t lookup(std::string_view token) const;  // ordinary token id or unk_id
  int32_t space_id_;
};

}  // namespace attn
