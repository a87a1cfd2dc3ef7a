#include "text/bpe_tokenizer.h"

#include <limits>

#include "text/pretokenize.h"

namespace attn {

bpe_tokenizer::bpe_tokenizer(vocab v) : tokenizer(std::move(v)) {
  for (int b = 0; b < 256; ++b) byte_ids_[b] = ids_.find(std::string(1, static_cast<char>(b)));
  for (std::size_t r = 0; r < vocab_.merges.size(); ++r) {
    const auto [a, b] = vocab_.merges[r];
    merges_[pair_key(a, b)] = {static_cast<int32_t>(r), ids_.find(vocab_.tokens[a] + vocab_.tokens[b])};
  }
}

void bpe_tokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  // The splitter never yields longer words; a direct caller's long word is encoded in slices.
  while (word.size() > max_bpe_word) {
    encode_word(word.substr(0, max_bpe_word), out);
    word.remove_prefix(max_bpe_word);
  }
  int32_t sym[max_bpe_word];
  std::size_t n = 0;
  for (char c : word) sym[n++] = byte_ids_[static_cast<unsigned char>(c)];
  while (n > 1) {
    int32_t best = std::numeric_limits<int32_t>::max(), a = 0, b = 0, result = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const merge* m = merges_.find(pair_key(sym[i], sym[i + 1]));
      if (m && m->rank < best) best = m->rank, a = sym[i], b = sym[i + 1], result = m->result;
    }
    if (best == std::numeric_limits<int32_t>::max()) break;
    std::size_t j = 0;
    for (std::size_t i = 0; i < n;) {
      if (i + 1 < n && sym[i] == a && sym[i + 1] == b) {
        sym[j++] = result;
        i += 2;
      } else {
        sym[j++] = sym[i++];
      }
    }
    n = j;
  }
  out.insert(out.end(), sym, sym + n);
}

void bpe_tokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) {
  word_splitter words(text, split_mode::bpe);
  std::string_view w;
  while (words.next(w)) {
    if (w.size() == 1) {
      out.push_back(byte_ids_[static_cast<unsigned char>(w[0])]);
      continue;
    }
    const uint64_t h = hash_bytes(w);
    int32_t id = cache_.find(w, h);
    if (id < 0) {
      if (cache_.size() >= cache_words) {
        cache_.clear();
        cache_spans_.clear();
        cache_ids_.clear();
      }
      const std::size_t start = cache_ids_.size();
      encode_word(w, cache_ids_);
      id = cache_.insert(w, h);
      cache_spans_.push_back(static_cast<uint64_t>(start) << 8 | (cache_ids_.size() - start));
    }
    const uint64_t span = cache_spans_[id];
    const int32_t* first = cache_ids_.data() + (span >> 8);
    out.insert(out.end(), first, first + (span & 0xFF));
  }
}

}  // namespace attn
