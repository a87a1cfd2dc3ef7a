#include "train/clip.h"

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

namespace attn {

namespace {

// Σ x² over n floats: float batches (two accumulators) flushed into a double every 4096 elements.
double sum_squares(const float* x, std::size_t n) {
  using batch = xsimd::batch<float>;
  constexpr std::size_t W = batch::size;
  double total = 0.0;
  for (std::size_t start = 0; start < n; start += 4096) {
    const std::size_t end = std::min(n, start + 4096);
    batch a(0.0f), b(0.0f);
    std::size_t i = start;
    for (; i + 2 * W <= end; i += 2 * W) {
      batch u = batch::load_unaligned(x + i), v = batch::load_unaligned(x + i + W);
      a = xsimd::fma(u, u, a);
      b = xsimd::fma(v, v, b);
    }
    for (; i < end; ++i) total += static_cast<double>(x[i]) * x[i];
    total += static_cast<double>(xsimd::hadd(a + b));
  }
  return total;
}

double global_norm(const parameter_store& params) {
  double sum = 0.0;
  for (const parameter* p : params.all())
    if (p->trainable && p->grad.size() != 0) sum += sum_squares(p->grad.data(), p->grad.size());
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
