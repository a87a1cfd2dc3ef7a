#pragma once
// Tiled ("flash") dot-product attention: the same op as attention() (core/ops.h) without the
// [B*H*Tq, Tk] weights. Per (batch item, head), the queries go in blocks of `q_rows` and the keys
// in tiles of `k_cols`; an online softmax (running row maximum and sum, rescaling the partial
// output) never holds more than one [q_rows, k_cols] tile of scores per thread. For the backward
// pass it keeps only the output (the tape's node) and each query row's log-sum-exp (B*H*Tq
// floats), and recomputes the weights tile by tile (FlashAttention-2):
//   P = exp(α·Q Kᵀ - lse),  dV += Pᵀ dO,  dS = P ⊙ (dO Vᵀ - rowsum(dO ⊙ O)),
//   dQ += α·dS K,  dK += α·dSᵀ Q.
// Activation memory is therefore linear in the context length. Tiles beyond a causal query
// block's last visible key, and keys past a batch item's length, are skipped.
//
// attention() takes this path by itself when no weights are asked for (`keep` is null) and
// flash_attention_pays(); call flash_attention() directly to force it (tests, benchmarks).
#include <cstddef>

#include "core/ops.h"

namespace attn {

struct flash_tiles {
  std::size_t q_rows = 64;   // queries per block
  std::size_t k_cols = 128;  // keys per tile
};

// q [B*Tq, H*dh], k [n*R, H*dh], v [n*R, H*dv] -> [B*Tq, H*dv]: attention() without weights,
// equal to it within float rounding (outputs and gradients), same masks, K/V layouts and errors.
// tiles must be non-zero.
var flash_attention(var q, var k, var v, const attention_shape& s, scoring sc, const flash_tiles& tiles = {});

// Whether attention() without `keep` takes the tiled path for this shape: from 128 keys on
// (below, the untiled path is faster and its weights are small).
bool flash_attention_pays(const attention_shape& s);

namespace detail {
// flash_attention() reporting errors under the name `op` (attention() passes "attention").
var flash_attention(const char* op, var q, var k, var v, const attention_shape& s, scoring sc,
                    const flash_tiles& tiles);
}  // namespace detail

}  // namespace attn
