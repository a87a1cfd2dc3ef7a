#include "text/tokenizer.h"

#include "core/error.h"
#include "text/bpe_tokenizer.h"
#include "text/char_tokenizer.h"
#include "text/escape.h"
#include "text/utf8.h"
#include "text/word_tokenizer.h"

namespace attn {

tokenizer::tokenizer(vocab v) : vocab_(std::move(v)) {
  check_vocab(vocab_);
  pieces_.reserve(vocab_.tokens.size());
  for (const auto& t : vocab_.tokens) {
    ids_.insert(t);
    pieces_.push_back(escape_token(t));
  }
  std::vector<std::string> user(vocab_.tokens.begin() + fixed_specials, vocab_.tokens.begin() + vocab_.num_specials);
  specials_ = special_matcher(std::move(user), fixed_specials);
}

void tokenizer::encode(std::string_view text, std::vector<int32_t>& out) {
  specials_.split(
      text,
      [&](std::string_view plain) {
        if (!vocab_.lowercase) return encode_plain(plain, out);
        lowered_.clear();
        utf8_lowercase(plain, lowered_);
        encode_plain(lowered_, out);
      },
      [&](int32_t id, std::string_view) { out.push_back(id); });
}

void tokenizer::decode(const int32_t* ids, std::size_t n, std::string& out) const {
  const auto size = static_cast<int64_t>(vocab_.tokens.size());
  for (std::size_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= size)
      throw attn::error("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                        std::to_string(size - 1) + ")");
    if (id == pad_id || id == bos_id || id == eos_id) continue;
    out += vocab_.tokens[id];
  }
}

std::unique_ptr<tokenizer> make_tokenizer(vocab v) {
  switch (v.kind) {
    case tokenizer_kind::char_level:
      return std::make_unique<char_tokenizer>(std::move(v));
    case tokenizer_kind::word:
      return std::make_unique<word_tokenizer>(std::move(v));
    case tokenizer_kind::bpe:
      return std::make_unique<bpe_tokenizer>(std::move(v));
  }
  throw attn::error("unknown tokenizer kind");
}

}  // namespace attn
