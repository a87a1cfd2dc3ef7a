#include "nn/kv_cache.h"

#include <cstring>

#include "core/error.h"

namespace attn::nn {

kv_cache::kv_cache() {
  k_.name = "kv_cache.k";
  v_.name = "kv_cache.v";
  k_.trainable = v_.trainable = false;
  clear();
}

void kv_cache::clear() {
  batch_ = len_ = 0;
  k_.value = matrix::from_shape({0, 0});
  v_.value = matrix::from_shape({0, 0});
}

namespace {

// Interleaves per batch item: old [B*len, d] rows then new [B*time, d] rows -> [B*(len+time), d].
matrix append_rows(const matrix& old, std::size_t len, const matrix& fresh, std::size_t batch, std::size_t time) {
  const std::size_t d = fresh.shape()[1];
  matrix out = matrix::from_shape({batch * (len + time), d});
  for (std::size_t b = 0; b < batch; ++b) {
    float* dst = out.data() + b * (len + time) * d;
    if (len) std::memcpy(dst, old.data() + b * len * d, len * d * sizeof(float));
    std::memcpy(dst + len * d, fresh.data() + b * time * d, time * d * sizeof(float));
  }
  return out;
}

// Picks whole batch items: [B*len, d] -> [order.size()*len, d].
matrix pick_items(const matrix& m, std::size_t batch, std::size_t len, const std::vector<std::int32_t>& order) {
  const std::size_t d = m.shape()[1];
  matrix out = matrix::from_shape({order.size() * len, d});
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] < 0 || static_cast<std::size_t>(order[i]) >= batch) throw error("kv_cache: reorder index out of range");
    std::memcpy(out.data() + i * len * d, m.data() + static_cast<std::size_t>(order[i]) * len * d,
                len * d * sizeof(float));
  }
  return out;
}

}  // namespace

// k_new [B*time, dk], v_new [B*time, dv]
void kv_cache::append(const matrix& k_new, const matrix& v_new, std::size_t batch, std::size_t time) {
  if (k_new.shape()[0] != batch * time || v_new.shape()[0] != batch * time)
    throw error("kv_cache: new rows do not match batch x time");
  if (len_ > 0 && (batch != batch_ || k_new.shape()[1] != k_.value.shape()[1] ||
                   v_new.shape()[1] != v_.value.shape()[1]))
    throw error("kv_cache: appended rows do not match the cached batch or widths (reorder or clear first)");
  k_.value = append_rows(k_.value, len_, k_new, batch, time);
  v_.value = append_rows(v_.value, len_, v_new, batch, time);
  batch_ = batch;
  len_ += time;
}

void kv_cache::reorder(const std::vector<std::int32_t>& order) {
  if (len_ == 0) return;
  k_.value = pick_items(k_.value, batch_, len_, order);
  v_.value = pick_items(v_.value, batch_, len_, order);
  batch_ = order.size();
}

}  // namespace attn::nn
