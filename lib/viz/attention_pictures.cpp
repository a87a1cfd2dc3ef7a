#include "viz/attention_pictures.h"

namespace attn::viz {

void picture_collector::add(const head_map& h) {
  if (sentences_.empty() || sentences_.back().sentence != h.sentence) {
    sentences_.emplace_back();
    sentences_.back().sentence = h.sentence;
  }
  picture_map p;
  p.module = h.module;
  p.kind = h.kind;
  p.layer = h.layer;
  p.head = h.head;
  p.heads = h.heads;
  p.query_tokens = *h.query_tokens;
  p.key_tokens = *h.key_tokens;
  p.weights = h.weights;
  sentences_.back().maps.push_back(std::move(p));
}

}  // namespace attn::viz
