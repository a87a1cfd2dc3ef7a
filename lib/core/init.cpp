#include "core/init.h"

#include <cmath>

namespace attn {

void init_xavier_uniform(matrix& m, rng& gen, float gain) {
  const double fan = static_cast<double>(rows(m) + cols(m));
  const float a = gain * static_cast<float>(std::sqrt(6.0 / (fan > 0 ? fan : 1.0)));
  init_uniform(m, gen, -a, a);
}

void init_normal(matrix& m, rng& gen, float std) {
  float* p = m.data();
  for (std::size_t i = 0; i < m.size(); ++i) p[i] = gen.normal(0.0f, std);
}

void init_uniform(matrix& m, rng& gen, float lo, float hi) {
  float* p = m.data();
  for (std::size_t i = 0; i < m.size(); ++i) p[i] = gen.uniform(lo, hi);
}

void init_zeros(matrix& m) { m.fill(0.0f); }
void init_ones(matrix& m) { m.fill(1.0f); }

}  // namespace attn
