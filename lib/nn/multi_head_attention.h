#pragma once
// Multi-head attention, self or cross, with four scorings:
//   scaled_dot  score = q·k / sqrt(d_head)                     (Vaswani et al.)
//   dot         score = q·k                                    (Luong dot)
//   general     score = q·(k·W_g) = qᵀ W_g' k                  (Luong general: an extra learned
//               projection of the keys, then dot; applied per layer to all heads' keys at once)
//   additive    score = vᵀ tanh(q + k), q = x·W_q + b, k = m·W_k  (Bahdanau; single head)
// Heads are split inside ops::attention by pointer arithmetic: q [B*Tq, H*dh], column block h is head h.
//
// Parameters (d = d_model, dm = d_memory):
//   self:   <prefix>.qkv.weight [d, 3d], <prefix>.qkv.bias [1, 3d]     (fused: one GEMM, then split_cols)
//   cross:  <prefix>.q.weight [d, d], <prefix>.q.bias [1, d], <prefix>.kv.weight [dm, 2d], <prefix>.kv.bias [1, 2d]
//   general:  <prefix>.general.weight [d, d]        additive:  <prefix>.v [1, d]
//   always: <prefix>.out.weight [d, d], <prefix>.out.bias [1, d]
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"
#include "nn/kv_cache.h"
#include "nn/linear.h"

namespace attn::nn {

enum class attention_scoring { scaled_dot, dot, general, additive };

attention_scoring parse_scoring(const std::string& name);  // "scaled_dot" | "dot" | "general" | "additive"
const char* scoring_name(attention_scoring s);

struct attention_config {
  std::size_t d_model = 0;
  std::size_t heads = 1;           // must divide d_model; must be 1 for additive
  attention_scoring scoring = attention_scoring::scaled_dot;
  bool cross = false;              // false: self-attention (fused QKV); true: Q from x, fused KV from memory
  bool causal = false;             // self-attention: position t sees keys <= t
  bool rope = false;               // self-attention: rotate q and k by position (rotary encoding)
  std::size_t d_memory = 0;        // cross-attention: width of the memory rows (0 = d_model)
};

class multi_head_attention {
 public:
  multi_head_attention() = default;
  multi_head_attention(parameter_store& store, const std::string& prefix, const attention_config& cfg, rng& gen);

  // Self-attention. x [B*T, d] -> [B*T, d]. lengths: valid positions per batch item (empty = all).
  // With a cache, x holds only the new steps (positions cache.len() .. cache.len()+T-1), their K/V
  // are appended, and lengths (if given) count valid keys over cached + new positions.
  // gen: the masks of LoRA adapters' dropout while training (nn::linear::forward).
  // packed (no cache): x and the result hold only the valid rows, [n, d] as packed by `packed`
  // (whose lengths must be `lengths`); the projections skip the padding, the attention op sees
  // q/k/v unpacked (padding rows 0).
  var forward_self(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths = {},
                   kv_cache* cache = nullptr, rng* gen = nullptr, const row_packing* packed = nullptr);

  // Cross-attention. x [B*Tq, d], memory [B*Tk, dm] -> [B*Tq, d]; mem_lengths: valid memory rows per item.
  // With a cache, memory's K/V are computed when the cache is empty and reused afterwards (memory
  // may then be an invalid var). packed / mem_packed (no cache): x and the result, or memory, hold
  // only their valid rows, as in forward_self.
  var forward_cross(var x, std::size_t batch, std::size_t q_len, var memory, std::size_t k_len,
                    const std::vector<std::int32_t>& mem_lengths = {}, kv_cache* cache = nullptr, rng* gen = nullptr,
                    const row_packing* packed = nullptr, const row_packing* mem_packed = nullptr);

  // Attention dumps: when on, each forward keeps its weights [B*H*Tq, Tk] (row (b*H + h)*Tq + t).
  void keep_weights(bool on) { keep_ = on; }
  const attention_weights& last_weights() const { return weights_; }

  const attention_config& config() const { return cfg_; }

 private:
  // q [B*Tq, d], k [B*Tk, d], v [B*Tk, d] -> output projection of the attended values [B*Tq, d]
  // ([n, d]: the valid query rows, with `packed`)
  var attend(var q, var k, var v, const attention_shape& s, rng* gen, const row_packing* packed,
             kv_cache* cache = nullptr);

  attention_config cfg_;
  linear qkv_, q_, kv_, out_;
  parameter* general_ = nullptr;  // [d, d]
  parameter* score_v_ = nullptr;  // [1, d]
  bool keep_ = false;
  attention_weights weights_;
};

}  // namespace attn::nn
