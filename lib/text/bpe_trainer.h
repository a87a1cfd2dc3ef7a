#pragma once
// Learns byte-level BPE merges from word counts (words as cut by word_splitter, bpe mode).
//
// Algorithm: every unique word is a sequence of symbol ids (initially its bytes) weighted by its
// count. Pair counts (64-bit) are kept for all adjacent pairs, with the list of words that hold
// each pair. A max-heap orders pairs by count with lazy invalidation: an entry whose count is
// stale is re-pushed with the current count when it surfaces. Merging a pair rewrites only the
// words on its list and adjusts the counts of the neighbouring pairs, so each merge costs time
// in proportion to the words it touches, and memory stays proportional to the unique words.
//
// Tie-break (deterministic, independent of hash order): among pairs with the same count the
// one with the smaller left id wins, then the smaller right id. Ids are the 256 bytes in byte
// order, then merge results in the order they were created.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "text/string_table.h"

namespace attn {

struct bpe_options {
  std::size_t num_tokens = 8000;       // ordinary tokens to reach, counting the 256 bytes
  uint64_t min_freq = 1;               // stop when the most frequent pair occurs fewer times
  std::vector<std::string> forbidden;  // merge results never to create (special tokens)
  std::function<void(std::size_t tokens, std::size_t target)> progress;  // called now and then
};

struct bpe_model {
  std::vector<std::string> tokens;                  // 256 single bytes, then merge results
  std::vector<uint64_t> counts;                     // occurrences of each token in the segmented corpus
  std::vector<std::pair<int32_t, int32_t>> merges;  // rank order, ids into tokens
};

// words[i] occurs freqs[i] times. A merge whose result spells an existing token reuses its id,
// so there can be more merges than new tokens.
bpe_model train_bpe(const string_table& words, const std::vector<uint64_t>& freqs, const bpe_options& opts);

}  // namespace attn
