#pragma once
// Bahdanau (additive) attention for RNN encoder-decoders:
//   e_ij = vᵀ tanh(W₁x_j + W₂y_i + b),  a_ij = softmax_j(e_ij),  context_i = Σ_j a_ij x_j
// x = encoder outputs (keys and values), y = decoder state (query). W₁x does not depend on the
// decoder, so precompute_keys() computes it once per source batch; attend() then costs one small
// GEMM (W₂y) plus the scores per decoder step.
//
// Parameters: <prefix>.keys.weight [dk, a] (W₁), <prefix>.query.weight [dq, a] (W₂),
// <prefix>.query.bias [1, a] (b), <prefix>.v [1, a].
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"
#include "nn/linear.h"

namespace attn::nn {

class additive_attention {
 public:
  additive_attention() = default;
  additive_attention(parameter_store& store, const std::string& prefix, std::size_t d_query, std::size_t d_key,
                     std::size_t d_attn, rng& gen);

  // What precompute_keys() keeps for one source batch.
  struct keys {
    var projected;                       // W₁x [B*Tk, a]
    var values;                          // x   [B*Tk, dk]
    std::size_t batch = 0, k_len = 0;
    std::vector<std::int32_t> lengths;   // valid source positions per item (empty = all)
  };

  // memory [B*Tk, dk] -> keys (W₁x computed once)
  // gen (here and in attend): the masks of LoRA adapters' dropout while training.
  keys precompute_keys(var memory, std::size_t batch, std::size_t k_len, const std::vector<std::int32_t>& lengths = {},
                       rng* gen = nullptr) const;

  // query [B*Tq, dq] (Tq = 1 for one decoder step) -> context [B*Tq, dk].
  // keep (optional) receives the weights [B*Tq, Tk].
  var attend(const keys& k, var query, attention_weights* keep = nullptr, rng* gen = nullptr) const;

 private:
  linear keys_, query_;
  parameter* v_ = nullptr;
};

}  // namespace attn::nn
