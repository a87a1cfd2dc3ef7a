#include "text/string_table.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace attn {

uint64_t hash_bytes(std::string_view s) {
  // 8 bytes per step with a multiply-xorshift mix (wyhash-like); good enough for hash tables.
  constexpr uint64_t m = 0x9E3779B97F4A7C15ull;
  uint64_t h = s.size() * m;
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * m;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * m;
  h ^= h >> 32;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  return h;
}

int32_t string_table::find(std::string_view s, uint64_t hash) const {
  if (slots_.empty()) return -1;
  const std::size_t mask = slots_.size() - 1;
  const auto h32 = static_cast<uint32_t>(hash);
  for (std::size_t i = (hash >> 32) & mask;; i = (i + 1) & mask) {
    const int32_t slot = slots_[i];
    if (slot == 0) return -1;
    const entry& e = entries_[slot - 1];
    if (e.hash == h32 && e.length == s.size() && std::memcmp(chars_.data() + e.offset, s.data(), s.size()) == 0)
      return slot - 1;
  }
}

int32_t string_table::insert(std::string_view s, uint64_t hash, bool* added) {
  const int32_t found = find(s, hash);
  if (added) *added = found < 0;
  if (found >= 0) return found;
  if (entries_.size() >= static_cast<std::size_t>(std::numeric_limits<int32_t>::max() - 1) ||
      s.size() > std::numeric_limits<uint32_t>::max())
    throw attn::error("too many distinct strings for one table");
  if ((entries_.size() + 1) * 2 > slots_.size()) grow();
  const auto id = static_cast<int32_t>(entries_.size());
  entries_.push_back({chars_.size(), static_cast<uint32_t>(s.size()), static_cast<uint32_t>(hash)});
  chars_.append(s.data(), s.size());
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = (hash >> 32) & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = id + 1;
  return id;
}

void string_table::grow() {
  std::vector<int32_t> slots(slots_.empty() ? 64 : slots_.size() * 2, 0);
  const std::size_t mask = slots.size() - 1;
  for (std::size_t id = 0; id < entries_.size(); ++id) {
    const uint64_t hash = hash_bytes(at(static_cast<int32_t>(id)));
    std::size_t i = (hash >> 32) & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = static_cast<int32_t>(id) + 1;
  }
  slots_.swap(slots);
}

void string_table::clear() {
  chars_.clear();
  entries_.clear();
  std::fill(slots_.begin(), slots_.end(), 0);
}

}  // namespace attn
