#include "train/clip.h"

#include <algorithm>
#include <cmath>

#include "core/kernels.h"

namespace attn {

namespace {

double global_norm(const parameter_store& params) {
  double sum = 0.0;
  for (const parameter* p : params.all())
    if (p->trainable && p->grad.size() != 0) sum += kernels::sum_squares(p->grad.size(), p->grad.data());
  return std::sqrt(sum);
}

}  // namespace

float grad_norm(const parameter_store& params) { return static_cast<float>(global_norm(params)); }

float clip_grad_norm(parameter_store& params, float max_norm) {
  const double norm = global_norm(params);
  if (!(max_norm > 0.0f) || !std::isfinite(norm) || norm <= max_norm) return static_cast<float>(norm);
  const float scale = static_cast<float>(max_norm / norm);
  for (parameter* p : params.all()) {
    if (!p->trainable || p->grad.size() == 0) continue;
    float* g = p->grad.data();
    for (std::size_t i = 0, n = p->grad.size(); i < n; ++i) g[i] *= scale;
  }
  return static_cast<float>(norm);
}

}  // namespace attn
