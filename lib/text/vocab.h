#pragma once
// A vocabulary: the tokenizer kind, the token strings (raw bytes) with their corpus counts,
// and for byte-level BPE the merges in rank order. Ids are positions in `tokens`:
//   0 <pad>, 1 <unk>, 2 <bos>, 3 <eos> (text/special_tokens.h), then user special tokens, then
//   ordinary tokens (for bpe: the 256 single bytes in byte order, then one token per new merge
//   result).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "text/special_tokens.h"

namespace attn {

enum class tokenizer_kind { char_level, word, bpe };

extern const char* const fixed_special_tokens[fixed_specials];  // "<pad>", "<unk>", "<bos>", "<eos>"

const char* kind_name(tokenizer_kind kind);  // "char", "word", "bpe"
bool parse_kind(const std::string& name, tokenizer_kind& kind);

struct vocab {
  tokenizer_kind kind = tokenizer_kind::char_level;
  bool lowercase = false;                 // input is lowercased before tokenizing (utf8_lowercase)
  int32_t num_specials = fixed_specials;  // ids [0, num_specials) are special tokens
  std::vector<std::string> tokens;        // id -> bytes; distinct, non-empty
  std::vector<uint64_t> counts;           // id -> occurrences in the training corpus (0 for specials)
  // bpe only, in rank order: (left id, right id); the result is the token spelled left+right.
  std::vector<std::pair<int32_t, int32_t>> merges;

  std::size_t size() const { return tokens.size(); }
  bool is_special(int32_t id) const { return id >= 0 && id < num_specials; }
};

// A vocabulary with only the four fixed special tokens plus `user_specials`.
vocab make_special_vocab(tokenizer_kind kind, const std::vector<std::string>& user_specials);

// Throws attn::error with the first problem found (what a loaded file or a built vocabulary
// must satisfy before a tokenizer may trust it: see docs/tokenization.md).
void check_vocab(const vocab& v);

}  // namespace attn
