#include "train/gradient_sync.h"

#include <algorithm>
#include <chrono>

namespace attn {

gradient_sync::gradient_sync(parameter_store& params, process_group& group, std::size_t bucket_bytes)
    : all_(params.all()), group_(group) {
  const std::size_t bucket_floats = std::max<std::size_t>(1, bucket_bytes / sizeof(float));
  std::size_t filled = 0;
  for (auto it = all_.rbegin(); it != all_.rend(); ++it) {
    parameter* p = *it;
    if (!p->trainable) continue;
    if (buckets_.empty() || (filled > 0 && filled + p->value.size() > bucket_floats)) {
      buckets_.emplace_back();
      filled = 0;
    }
    buckets_.back().params.push_back(p);
    filled += p->value.size();
  }
  for (bucket& b : buckets_) {
    std::size_t n = 0;
    for (const parameter* p : b.params) n += p->value.size();
    b.buffer.resize(group_.size() > 1 ? n : 0);
  }
}

void gradient_sync::sum_and_scale(float scale) {
  const auto start = std::chrono::steady_clock::now();
  if (group_.size() == 1) {
    if (scale != 1.0f)
      for (const bucket& b : buckets_)
        for (parameter* p : b.params) {
          float* g = p->grad.data();
          for (std::size_t i = 0, n = p->grad.size(); i < n; ++i) g[i] *= scale;
        }
    return;
  }
  for (bucket& b : buckets_) {  // pack (a parameter without a gradient yet sends zeros), sum, unpack scaled
    float* out = b.buffer.data();
    for (const parameter* p : b.params) {
      if (p->grad.size() == p->value.size())
        std::copy(p->grad.data(), p->grad.data() + p->grad.size(), out);
      else
        std::fill(out, out + p->value.size(), 0.0f);
      out += p->value.size();
    }
    group_.sum(b.buffer.data(), b.buffer.size());
    const float* in = b.buffer.data();
    for (parameter* p : b.params) {
      if (p->grad.size() != p->value.size()) p->grad = matrix(p->value.shape(), 0.0f);
      float* g = p->grad.data();
      for (std::size_t i = 0, n = p->grad.size(); i < n; ++i) g[i] = scale * in[i];
      in += p->value.size();
    }
  }
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void gradient_sync::broadcast_values(int root) {
  if (group_.size() == 1) return;
  for (parameter* p : all_) group_.broadcast(p->value.data(), p->value.size(), root);
}

}  // namespace attn
