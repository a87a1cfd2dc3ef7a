#include "text/vocab.h"

#include "core/error.h"
#include "text/escape.h"
#include "text/pair_map.h"
#include "text/string_table.h"

namespace attn {

const char* const fixed_special_tokens[fixed_specials] = {"<pad>", "<unk>", "<bos>", "<eos>"};

const char* kind_name(tokenizer_kind kind) {
  switch (kind) {
    case tokenizer_kind::char_level:
      return "char";
    case tokenizer_kind::word:
      return "word";
    case tokenizer_kind::bpe:
      return "bpe";
  }
  return "?";
}

bool parse_kind(const std::string& name, tokenizer_kind& kind) {
  for (auto k : {tokenizer_kind::char_level, tokenizer_kind::word, tokenizer_kind::bpe})
    if (name == kind_name(k)) {
      kind = k;
      return true;
    }
  return false;
}

vocab make_special_vocab(tokenizer_kind kind, const std::vector<std::string>& user_specials) {
  vocab v;
  v.kind = kind;
  for (const char* s : fixed_special_tokens) v.tokens.emplace_back(s);
  for (const auto& s : user_specials) v.tokens.push_back(s);
  v.num_specials = static_cast<int32_t>(v.tokens.size());
  v.counts.assign(v.tokens.size(), 0);
  return v;
}

void check_vocab(const vocab& v) {
  const auto n = static_cast<int64_t>(v.tokens.size());
  if (v.counts.size() != v.tokens.size()) throw attn::error("vocabulary has a count for each token missing");
  if (v.num_specials < fixed_specials || v.num_specials > n)
    throw attn::error("vocabulary must start with the special tokens <pad> <unk> <bos> <eos>");
  for (int i = 0; i < fixed_specials; ++i)
    if (v.tokens[i] != fixed_special_tokens[i])
      throw attn::error("token " + std::to_string(i) + " must be " + fixed_special_tokens[i] + ", not '" +
                        escape_token(v.tokens[i]) + "'");
  string_table seen;
  for (int64_t id = 0; id < n; ++id) {
    const std::string& t = v.tokens[id];
    if (t.empty()) throw attn::error("token " + std::to_string(id) + " is empty");
    bool added;
    const int32_t first = seen.insert(t, &added);
    if (!added)
      throw attn::error("token " + std::to_string(id) + " '" + escape_token(t) + "' repeats token " +
                        std::to_string(first));
  }
  if (v.kind != tokenizer_kind::bpe) {
    if (!v.merges.empty()) throw attn::error(std::string(kind_name(v.kind)) + " vocabulary cannot have merges");
    return;
  }
  // Byte-level BPE must be able to spell any byte, or it could not promise encoding without <unk>.
  for (int b = 0; b < 256; ++b) {
    const int32_t id = seen.find(std::string(1, static_cast<char>(b)));
    if (id < v.num_specials) {
      static const char hex[] = "0123456789ABCDEF";
      throw attn::error(std::string("bpe vocabulary has no token for byte \\x") + hex[b >> 4] + hex[b & 15]);
    }
  }
  pair_map<int64_t> rank_plus_one;
  for (std::size_t r = 0; r < v.merges.size(); ++r) {
    const auto [a, b] = v.merges[r];
    const std::string where = "merge " + std::to_string(r);
    if (a < v.num_specials || a >= n || b < v.num_specials || b >= n)
      throw attn::error(where + " refers to a token id outside the ordinary tokens");
    if (seen.find(v.tokens[a] + v.tokens[b]) < v.num_specials)
      throw attn::error(where + " produces '" + escape_token(v.tokens[a] + v.tokens[b]) +
                        "', which is not an ordinary token");
    int64_t& earlier = rank_plus_one[pair_key(a, b)];
    if (earlier) throw attn::error(where + " repeats merge " + std::to_string(earlier - 1));
    earlier = static_cast<int64_t>(r) + 1;
  }
}

}  // namespace attn
