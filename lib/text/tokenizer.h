#pragma once
// The tokenizer interface: one line of text <-> token ids, for the three kinds of vocabulary.
//
// Encoding: user special tokens are cut out first (never split), the rest is lowercased if the
// vocabulary says so, then each kind encodes the stretches between specials. Decoding is the
// same for every kind: concatenate token bytes, drop <pad> <bos> <eos>, write <unk> as "<unk>".
// So decode(encode(x)) == x byte for byte for bpe always, and for char/word whenever encode
// produced no <unk> (and the vocabulary is not lowercasing).
//
// A tokenizer keeps scratch buffers and a cache, so encode is not const: use one per thread.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/special_matcher.h"
#include "text/string_table.h"
#include "text/vocab.h"

namespace attn {

class tokenizer {
 public:
  explicit tokenizer(vocab v);  // checks v (check_vocab)
  virtual ~tokenizer() = default;
  tokenizer(const tokenizer&) = delete;
  tokenizer& operator=(const tokenizer&) = delete;

  // Appends the ids of `text` (one line, without its '\n') to out.
  void encode(std::string_view text, std::vector<int32_t>& out);
  // Appends the bytes of ids to out. Throws attn::error for an id outside the vocabulary.
  void decode(const int32_t* ids, std::size_t n, std::string& out) const;
  void decode(const std::vector<int32_t>& ids, std::string& out) const { decode(ids.data(), ids.size(), out); }

  const vocab& vocabulary() const { return vocab_; }
  std::size_t size() const { return vocab_.tokens.size(); }
  // The escaped form of a token (text/escape.h), as printed by `attn tokenize --pieces`.
  const std::string& piece(int32_t id) const { return pieces_[id]; }
  // Id of a token given by its bytes, or -1.
  int32_t find(std::string_view token) const { return ids_.find(token); }

 protected:
  // Encodes text that holds no special token and is already lowercased if needed.
  virtual void encode_plain(std::string_view text, std::vector<int32_t>& out) = 0;

  vocab vocab_;
  string_table ids_;  // token bytes -> id (ids are inserted in order, so table id == token id)

 private:
  std::vector<std::string> pieces_;
  special_matcher specials_;
  std::string lowered_;
};

// The tokenizer for v.kind.
std::unique_ptr<tokenizer> make_tokenizer(vocab v);

}  // namespace attn
