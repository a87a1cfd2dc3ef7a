#include "train/clip.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels.h"
#include "core/threads.h"

namespace attn {

namespace {

// The trainable gradients cut into blocks of 1,024 floats (the blocks of kernels::sum_squares):
// parameter k owns blocks [first[k], first[k+1]). Param is parameter or const parameter.
template <class Param>
struct gradient_blocks {
  static constexpr std::size_t size = 1024;
  std::vector<Param*> params;
  std::vector<std::size_t> first{0};

  template <class Store>
  explicit gradient_blocks(Store& store) {
    for (Param* p : store.all())
      if (p->trainable && p->grad.size() != 0) {
        params.push_back(p);
        first.push_back(first.back() + (p->grad.size() + size - 1) / size);
      }
  }
  std::size_t count() const { return first.back(); }
  // fn(g, m) for every block in [b, e): its m floats at g.
  template <class F>
  void each(std::size_t b, std::size_t e, F fn) const {
    std::size_t k = static_cast<std::size_t>(std::upper_bound(first.begin(), first.end(), b) - first.begin()) - 1;
    for (std::size_t i = b; i < e; ++i) {
      while (i >= first[k + 1]) ++k;
      const std::size_t offset = (i - first[k]) * size;
      fn(params[k]->grad.data() + offset, std::min(size, params[k]->grad.size() - offset));
    }
  }
};

constexpr std::size_t block_grain = 64;  // blocks per thread's share, at least (64K floats)

// Σ g² over the trainable gradients: each block's float dot product on any thread, then the
// blocks summed in order in double, parameter by parameter — the value kernels::sum_squares
// gives one parameter at a time, at any thread count.
template <class Param>
double global_norm(const gradient_blocks<Param>& blocks) {
  std::vector<double> partial(blocks.count());
  parallel_for(blocks.count(), block_grain, [&](std::size_t b, std::size_t e) {
    std::size_t i = b;
    blocks.each(b, e,
                [&](const float* g, std::size_t m) { partial[i++] = static_cast<double>(kernels::dot(m, g, g)); });
  });
  double sum = 0.0;
  for (std::size_t k = 0; k < blocks.params.size(); ++k) {
    double total = 0.0;
    for (std::size_t i = blocks.first[k]; i < blocks.first[k + 1]; ++i) total += partial[i];
    sum += total;
  }
  return std::sqrt(sum);
}

}  // namespace

float grad_norm(const parameter_store& params) {
  return static_cast<float>(global_norm(gradient_blocks<const parameter>(params)));
}

float clip_grad_norm(parameter_store& params, float max_norm) {
  const gradient_blocks<parameter> blocks(params);
  const double norm = global_norm(blocks);
  if (!(max_norm > 0.0f) || !std::isfinite(norm) || norm <= max_norm) return static_cast<float>(norm);
  const float scale = static_cast<float>(max_norm / norm);
  parallel_for(blocks.count(), block_grain, [&](std::size_t b, std::size_t e) {
    blocks.each(b, e, [&](float* g, std::size_t m) {
      for (std::size_t j = 0; j < m; ++j) g[j] *= scale;
    });
  });
  return static_cast<float>(norm);
}

}  // namespace attn
