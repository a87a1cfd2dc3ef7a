#pragma once
// Transformer decoder block: causal self-attention, cross-attention over the encoder output, then
// feed-forward; each wrapped by LayerNorm (pre or post) and combined with its input (residual or
// concat; see block_config.h).
//
// Parameters: <prefix>.self_attn.*, <prefix>.ln1.*, <prefix>.cross_attn.*, <prefix>.ln2.*, <prefix>.ff.*,
// <prefix>.ln3.*, and with combine = concat: <prefix>.self_combine.* and <prefix>.cross_combine.* ([2d, d]).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nn/block_config.h"
#include "nn/dropout.h"
#include "nn/encoder_layer.h"
#include "nn/kv_cache.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"

namespace attn::nn {

class decoder_layer {
 public:
  decoder_layer() = default;
  decoder_layer(parameter_store& store, const std::string& prefix, const block_config& cfg, rng& gen);

  // x [B*T, d] (target side), memory [B*S, dm] (encoder output) -> [B*T, d].
  // lengths: valid target positions (empty = all); mem_lengths: valid source positions.
  // With a cache (decoding), x holds only the new steps; memory K/V are computed once per sentence.
  // packed / mem_packed (no cache): x and the result, or memory, hold only their valid rows
  // (core/ops.h row_packing).
  var forward(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths, var memory,
              std::size_t mem_time, const std::vector<std::int32_t>& mem_lengths, rng& gen,
              decoder_cache* cache = nullptr, const row_packing* packed = nullptr,
              const row_packing* mem_packed = nullptr);

  multi_head_attention& self_attention() { return self_attn_; }
  multi_head_attention& cross_attention() { return cross_attn_; }
  const block_config& config() const { return cfg_; }

 private:
  block_config cfg_;
  multi_head_attention self_attn_, cross_attn_;
  layer_norm ln1_, ln2_, ln3_;
  feed_forward ff_;
  linear self_combine_, cross_combine_;
  dropout drop_;
};

}  // namespace attn::nn
