#pragma once
// Byte-level BPE (GPT-2 style, without its byte-to-unicode display map: tokens are raw bytes
// and only their printed form is escaped). Each pre-tokenized word (bpe mode) starts as its
// bytes and repeatedly merges the adjacent pair with the lowest merge rank, all occurrences
// left to right, until no pair has a rank. Every byte has a token, so there is never <unk>.
//
// Speed: words repeat, so encoded words go into a cache (word -> ids, in two arenas, no
// allocation per lookup); pair ranks live in a flat hash map.
#include "text/pair_map.h"
#include "text/tokenizer.h"

namespace attn {

class bpe_tokenizer : public tokenizer {
 public:
  explicit bpe_tokenizer(vocab v);

  // Appends the ids of one pre-tokenized word, without the cache (longer than max_bpe_word
  // bytes, it is encoded in slices of that size).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

 protected:
  void encode_plain(std::string_view text, std::vector<int32_t>& out) override;

 private:
  struct merge {
    int32_t rank = 0;
    int32_t result = 0;
  };
  pair_map<merge> merges_;
  int32_t byte_ids_[256];

  // The cache; cleared whole when full, which keeps memory bounded and the frequent words
  // (which come back at once) cached.
  static constexpr std::size_t cache_words = 1 << 18;
  string_table cache_;
  std::vector<uint64_t> cache_spans_;  // word id -> (offset << 8 | length) into cache_ids_
  std::vector<int32_t> cache_ids_;
};

}  // namespace attn
