#include "nn/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace attn::nn {

kv_cache::kv_cache() {
  k_.name = "kv_cache.k";
  v_.name = "kv_cache.v";
  k_.trainable = v_.trainable = false;
  release();
}

void kv_cache::clear() {
  batch_ = len_ = 0;
  item_of_.clear();
}

void kv_cache::release() {
  clear();
  cap_ = n_items_ = 0;
  k_.value = matrix::from_shape({0, 0});
  v_.value = matrix::from_shape({0, 0});
}

const float* kv_cache::k_row(std::size_t b, std::size_t t) const {
  if (b >= batch_ || t >= len_) throw error("kv_cache: position outside the cache");
  return k_.value.data() + (static_cast<std::size_t>(item_of_[b]) * cap_ + t) * cols(k_.value);
}

const float* kv_cache::v_row(std::size_t b, std::size_t t) const {
  if (b >= batch_ || t >= len_) throw error("kv_cache: position outside the cache");
  return v_.value.data() + (static_cast<std::size_t>(item_of_[b]) * cap_ + t) * cols(v_.value);
}

void kv_cache::describe_keys(attention_shape& s) const {
  s.k_len = len_;
  s.k_item_rows = cap_;
  s.k_items = item_of_;
}

namespace {

// m [n_items*cap, d] -> [n_items*new_cap, d], the first len rows of every item kept.
matrix restride(const matrix& m, std::size_t n_items, std::size_t cap, std::size_t len, std::size_t new_cap) {
  const std::size_t d = cols(m);
  matrix out = matrix::from_shape({n_items * new_cap, d});
  for (std::size_t i = 0; i < n_items; ++i)
    if (len) std::memcpy(out.data() + i * new_cap * d, m.data() + i * cap * d, len * d * sizeof(float));
  return out;
}

// m [n*cap, d] -> [n_new*cap, d], the old items kept (a prefix of the rows).
matrix more_items(const matrix& m, std::size_t n_new, std::size_t cap) {
  matrix out = matrix::from_shape({n_new * cap, cols(m)});
  if (m.size()) std::memcpy(out.data(), m.data(), m.size() * sizeof(float));
  return out;
}

}  // namespace

void kv_cache::grow_rows(std::size_t cap) {
  k_.value = restride(k_.value, n_items_, cap_, len_, cap);
  v_.value = restride(v_.value, n_items_, cap_, len_, cap);
  cap_ = cap;
}

void kv_cache::grow_items(std::size_t n_items) {
  k_.value = more_items(k_.value, n_items, cap_);
  v_.value = more_items(v_.value, n_items, cap_);
  n_items_ = n_items;
}

void kv_cache::unshare() {
  owner_.assign(n_items_, -1);
  std::size_t shared = 0;
  for (std::size_t b = 0; b < batch_; ++b) {
    std::int32_t& o = owner_[static_cast<std::size_t>(item_of_[b])];
    if (o < 0)
      o = static_cast<std::int32_t>(b);
    else
      ++shared;
  }
  if (shared == 0) return;
  const std::size_t used = batch_ - shared;
  if (n_items_ - used < shared) {  // not enough free items: grow geometrically
    grow_items(std::max(2 * n_items_, batch_));
    owner_.resize(n_items_, -1);
  }
  const std::size_t dk = cols(k_.value), dv = cols(v_.value);
  std::size_t free_item = 0;
  for (std::size_t b = 0; b < batch_; ++b) {
    const std::size_t from = static_cast<std::size_t>(item_of_[b]);
    if (owner_[from] == static_cast<std::int32_t>(b)) continue;
    while (owner_[free_item] >= 0) ++free_item;
    owner_[free_item] = static_cast<std::int32_t>(b);
    std::memcpy(k_.value.data() + free_item * cap_ * dk, k_.value.data() + from * cap_ * dk, len_ * dk * sizeof(float));
    std::memcpy(v_.value.data() + free_item * cap_ * dv, v_.value.data() + from * cap_ * dv, len_ * dv * sizeof(float));
    item_of_[b] = static_cast<std::int32_t>(free_item);
  }
}

// k_new [B*time, dk], v_new [B*time, dv]
void kv_cache::append(const matrix& k_new, const matrix& v_new, std::size_t batch, std::size_t time) {
  if (k_new.shape()[0] != batch * time || v_new.shape()[0] != batch * time)
    throw error("kv_cache: new rows do not match batch x time");
  const std::size_t dk = cols(k_new), dv = cols(v_new);
  if (len_ == 0) {  // empty: batch item b in storage item b, the storage of earlier use kept if large enough
    if (dk != cols(k_.value) || dv != cols(v_.value)) n_items_ = cap_ = 0;
    const std::size_t n_items = std::max(n_items_, batch), cap = std::max(cap_, time);
    if (n_items != n_items_ || cap != cap_) {  // nothing to keep: fresh storage, exactly `time` rows first
      n_items_ = n_items;
      cap_ = cap;
      k_.value = matrix::from_shape({n_items * cap, dk});
      v_.value = matrix::from_shape({n_items * cap, dv});
    }
    batch_ = batch;
    item_of_.resize(batch);
    for (std::size_t b = 0; b < batch; ++b) item_of_[b] = static_cast<std::int32_t>(b);
  } else {
    if (batch != batch_ || dk != cols(k_.value) || dv != cols(v_.value))
      throw error("kv_cache: appended rows do not match the cached batch or widths (reorder or clear first)");
    unshare();
    if (len_ + time > cap_) grow_rows(std::max({len_ + time, 2 * cap_, std::size_t{8}}));
  }
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t row = static_cast<std::size_t>(item_of_[b]) * cap_ + len_;
    std::memcpy(k_.value.data() + row * dk, k_new.data() + b * time * dk, time * dk * sizeof(float));
    std::memcpy(v_.value.data() + row * dv, v_new.data() + b * time * dv, time * dv * sizeof(float));
  }
  len_ += time;
}

void kv_cache::reorder(const std::vector<std::int32_t>& order) {
  if (len_ == 0) return;
  for (const std::int32_t i : order)
    if (i < 0 || static_cast<std::size_t>(i) >= batch_) throw error("kv_cache: reorder index out of range");
  owner_.resize(order.size());  // scratch: the new item map
  for (std::size_t i = 0; i < order.size(); ++i) owner_[i] = item_of_[static_cast<std::size_t>(order[i])];
  item_of_.swap(owner_);
  batch_ = order.size();
}

}  // namespace attn::nn
