#pragma once
// Parameter initializers. All draw from the run's attn::rng, in row-major element order, so a
// seed reproduces a model exactly.
#include "core/rng.h"
#include "core/tensor.h"

namespace attn {

// U(-a, a) with a = gain·sqrt(6 / (fan_in + fan_out)); for a [rows, cols] weight used as
// x·W, fan_in = rows and fan_out = cols.
void init_xavier_uniform(matrix& m, rng& gen, float gain = 1.0f);
// N(0, std²).
void init_normal(matrix& m, rng& gen, float std);
// U(lo, hi).
void init_uniform(matrix& m, rng& gen, float lo, float hi);
void init_zeros(matrix& m);
void init_ones(matrix& m);

}  // namespace attn
