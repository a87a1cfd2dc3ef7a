#pragma once
// Key/value cache of one attention layer for incremental decoding.
//
// Self-attention: each decoding step appends its new K/V rows for every batch item, so step t
// attends to positions 0..t without recomputing earlier projections. Cross-attention: K/V of the
// encoder output are computed on the first step and reused for the rest of the sentence.
// Rows are batch-major like every activation: row b*len + t. K is stored after rope and after the
// `general` projection, i.e. exactly what the attention op consumes.
//
// The cache is for inference: the tape sees cached K/V as constants (no gradient flows into
// earlier steps). Stored as non-trainable parameters so that tape::param aliases them without a copy.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/parameter.h"
#include "core/tape.h"

namespace attn::nn {

class kv_cache {
 public:
  kv_cache();

  bool empty() const { return len_ == 0; }
  std::size_t batch() const { return batch_; }
  std::size_t len() const { return len_; }  // cached positions per batch item
  const matrix& k() const { return k_.value; }  // [B*len, dk]
  const matrix& v() const { return v_.value; }  // [B*len, dv]

  // Appends `time` new positions per batch item: k_new [B*time, dk], v_new [B*time, dv].
  void append(const matrix& k_new, const matrix& v_new, std::size_t batch, std::size_t time);
  // Keeps batch items order[0], order[1], ... in that order (beam back-pointers; may shrink or
  // grow the batch, repeats allowed).
  void reorder(const std::vector<std::int32_t>& order);
  void clear();

  // Leaves on t aliasing the cached matrices (no copy, no gradient).
  var k_var(tape& t) { return t.param(k_); }
  var v_var(tape& t) { return t.param(v_); }

 private:
  parameter k_, v_;
  std::size_t batch_ = 0, len_ = 0;
};

// The caches of one Transformer decoder layer.
struct decoder_cache {
  kv_cache self, cross;
};

}  // namespace attn::nn
