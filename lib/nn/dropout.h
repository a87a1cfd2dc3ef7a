#pragma once
// Inverted dropout with probability p: no parameters. Identity when p == 0 or when the tape is
// not recording (evaluation, decoding), so the same forward code serves training and inference.
#include "core/ops.h"
#include "core/rng.h"

namespace attn::nn {

struct dropout {
  float p = 0.0f;

  // x [N, d] -> [N, d]
  var forward(var x, rng& gen) const { return p > 0.0f ? attn::dropout(x, p, gen) : x; }
  // x + forward(a): a residual connection, without keeping the mask or the dropped a (the
  // backward pass draws the mask again); the same values, gradients and draws from gen.
  var add_to(var x, var a, rng& gen) const {
    if (p == 0.0f || !x.t->recording()) return attn::add(x, a);
    return attn::add_dropout(x, a, p, gen.next_u64());
  }
};

}  // namespace attn::nn
