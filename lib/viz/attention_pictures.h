#pragma once
// The attention maps of a dump kept for drawing: decode's head_map copies, grouped by sentence.
// Pictures need every map of a sentence before anything is laid out (unlike the CSV, which
// streams), so this is meant for what a person looks at: a few sentences.
#include <cstddef>
#include <string>
#include <vector>

#include "decode/attend.h"

namespace attn::viz {

struct picture_map {
  std::string module, kind;  // "decoder.layers.1.cross_attn", "cross"
  std::size_t layer = 0;
  long head = 0;  // -1: the mean over heads
  std::size_t heads = 1;
  std::vector<std::string> query_tokens, key_tokens;  // Tq, Tk
  std::vector<float> weights;                         // [Tq, Tk]
  float at(std::size_t q, std::size_t k) const { return weights[q * key_tokens.size() + k]; }
  std::string head_name() const { return head < 0 ? "mean" : std::to_string(head); }
  std::string title() const {
    return module + " (" + kind + ") layer " + std::to_string(layer) + " head " + head_name();
  }
};

struct sentence_pictures {
  std::size_t sentence = 0;  // 0-based input line
  std::vector<picture_map> maps;
};

// Collects head_maps (attend_maps' sink) in the order they come.
class picture_collector {
 public:
  void add(const head_map& h);
  head_map_sink sink() {
    return [this](const head_map& h) { add(h); };
  }
  const std::vector<sentence_pictures>& sentences() const { return sentences_; }

 private:
  std::vector<sentence_pictures> sentences_;
};

}  // namespace attn::viz
