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
};

}  // namespace attn::nn
