#pragma once
// Transformer encoder block: self-attention then feed-forward, each wrapped by LayerNorm (pre or
// post) and combined with its input (residual or concat; see block_config.h). With causal = true
// it is also the block of a decoder-only language model (and then takes a kv_cache for decoding).
//
// Parameters: <prefix>.attn.* (multi_head_attention, self), <prefix>.ln1.*, <prefix>.ff.* (feed_forward),
// <prefix>.ln2.*, and with combine = concat: <prefix>.combine.weight [2d, d], <prefix>.combine.bias [1, d].
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nn/block_config.h"
#include "nn/dropout.h"
#include "nn/kv_cache.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"

namespace attn::nn {

class encoder_layer {
 public:
  encoder_layer() = default;
  encoder_layer(parameter_store& store, const std::string& prefix, const block_config& cfg, rng& gen);

  // x [B*T, d] -> [B*T, d]; lengths: valid positions per item (empty = all). gen: dropout masks.
  // With a cache (causal decoding), x holds only the new steps; see multi_head_attention::forward_self.
  // packed (no cache): x and the result hold only the valid rows [n, d] (core/ops.h row_packing).
  var forward(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths, rng& gen,
              kv_cache* cache = nullptr, const row_packing* packed = nullptr);

  multi_head_attention& attention() { return attn_; }
  const block_config& config() const { return cfg_; }

 private:
  block_config cfg_;
  multi_head_attention attn_;
  layer_norm ln1_, ln2_;
  feed_forward ff_;
  linear combine_;
  dropout drop_;
};

// Shared by encoder_layer and decoder_layer: x [N, d], a [N, d] (sublayer output) -> [N, d]
var combine_sublayer(var x, var a, combine_mode mode, const linear& combine, const dropout& drop, rng& gen);

}  // namespace attn::nn
