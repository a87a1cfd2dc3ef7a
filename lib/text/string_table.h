#pragma once
// Interns byte strings: each distinct string gets a dense id (0, 1, 2...) in insertion order.
// Open addressing over one character arena, so lookups take a string_view and never allocate;
// the tokenizers use it for token -> id, the BPE encoder's word cache and corpus word counts.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

uint64_t hash_bytes(std::string_view s);

class string_table {
 public:
  int32_t find(std::string_view s) const { return find(s, hash_bytes(s)); }
  int32_t find(std::string_view s, uint64_t hash) const;
  // Returns the id of s, adding it if new; `added` tells which.
  int32_t insert(std::string_view s, bool* added = nullptr) { return insert(s, hash_bytes(s), added); }
  int32_t insert(std::string_view s, uint64_t hash, bool* added = nullptr);
  std::string_view at(int32_t id) const {
    return std::string_view(chars_.data() + entries_[id].offset, entries_[id].length);
  }
  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return chars_.size(); }
  void clear();

 private:
  struct entry {
    uint64_t offset;
    uint32_t length;
    uint32_t hash;  // low bits, to skip most string compares and to rehash without rereading
  };
  void grow();
  std::string chars_;
  std::vector<entry> entries_;
  std::vector<int32_t> slots_;  // id + 1, 0 = empty; size is a power of two
};

}  // namespace attn
