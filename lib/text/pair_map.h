#pragma once
// A flat hash map from a pair of token ids to V, for BPE: merge ranks when encoding, pair
// counts when training. Open addressing with linear probing; entries are never erased (a pair
// whose count drops to zero simply keeps its slot), which keeps probing simple and fast.
#include <cstdint>
#include <vector>

namespace attn {

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
inline int32_t pair_left(uint64_t key) { return static_cast<int32_t>(key >> 32); }
inline int32_t pair_right(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }

template <class V>
class pair_map {
 public:
  // Returns the value for key, or nullptr.
  const V* find(uint64_t key) const {
    if (keys_.empty()) return nullptr;
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == empty) return nullptr;
    }
  }
  V* find(uint64_t key) { return const_cast<V*>(static_cast<const pair_map*>(this)->find(key)); }

  // Returns the value for key, value-initialised and added if absent.
  V& operator[](uint64_t key) {
    if ((size_ + 1) * 2 > keys_.size()) grow();
    std::size_t i = slot(key);
    for (; keys_[i] != empty; i = (i + 1) & mask_)
      if (keys_[i] == key) return values_[i];
    keys_[i] = key;
    values_[i] = V();
    ++size_;
    return values_[i];
  }

  std::size_t size() const { return size_; }

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] != empty) f(keys_[i], values_[i]);
  }

 private:
  static constexpr uint64_t empty = ~uint64_t(0);  // never a key: ids are non-negative
  std::size_t slot(uint64_t key) const {
    key *= 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(key >> 32) & mask_;
  }
  void grow() {
    std::vector<uint64_t> keys(keys_.empty() ? 1024 : keys_.size() * 2, empty);
    std::vector<V> values(keys.size());
    const std::size_t old_size = keys_.size();
    keys_.swap(keys);
    values_.swap(values);
    mask_ = keys_.size() - 1;
    for (std::size_t j = 0; j < old_size; ++j) {
      if (keys[j] == empty) continue;
      std::size_t i = slot(keys[j]);
      while (keys_[i] != empty) i = (i + 1) & mask_;
      keys_[i] = keys[j];
      values_[i] = std::move(values[j]);
    }
  }
  std::vector<uint64_t> keys_;
  std::vector<V> values_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace attn
