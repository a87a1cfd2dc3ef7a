#pragma once
// Configuration shared by the Transformer encoder_layer and decoder_layer blocks.
#include <cstddef>
#include <string>

#include "nn/feed_forward.h"
#include "nn/multi_head_attention.h"

namespace attn::nn {

// pre:  x = combine(x, sublayer(LN(x)))   — needs a final LayerNorm after the last block (model's job)
// post: x = LN(combine(x, sublayer(x)))   — the original Transformer
enum class norm_position { pre, post };

// residual: combine(x, a) = x + dropout(a)
// concat:   combine(x, a) = [dropout(a) ; x]·W_c + b_c   (W_c [2d, d]): the attention output is concatenated
//           with the sublayer's (position-encoded) input and projected back to d. Applies to the attention
//           sublayers; the feed-forward sublayer is always residual.
enum class combine_mode { residual, concat };

norm_position parse_norm_position(const std::string& name);  // "pre" | "post"
combine_mode parse_combine(const std::string& name);         // "residual" | "concat"

struct block_config {
  std::size_t d_model = 256;
  std::size_t heads = 4;
  std::size_t d_ff = 1024;
  activation act = activation::gelu;
  float dropout = 0.1f;                   // residual dropout and feed-forward hidden dropout
  norm_position norm = norm_position::pre;
  combine_mode combine = combine_mode::residual;
  attention_scoring scoring = attention_scoring::scaled_dot;
  bool rope = false;                      // rotary positions in the self-attention
  bool causal = false;                    // encoder_layer: causal self-attention (decoder-only LMs)
  std::size_t d_memory = 0;               // decoder_layer: width of the encoder output (0 = d_model)
};

}  // namespace attn::nn
