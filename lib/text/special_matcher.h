#pragma once
// Finds user special tokens (`--special`) in text, so that they are never split: training and
// encoding both cut the text at them first. At one position the longest special wins.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

class special_matcher {
 public:
  special_matcher() = default;
  // specials[i] gets id first_id + i.
  special_matcher(std::vector<std::string> specials, int32_t first_id);
  bool empty() const { return specials_.empty(); }

  // Calls text_fn(segment) for the stretches between specials and special_fn(id, text) for
  // each special, in order; segments are never empty.
  template <class TextFn, class SpecialFn>
  void split(std::string_view text, TextFn&& text_fn, SpecialFn&& special_fn) const {
    if (specials_.empty()) {
      if (!text.empty()) text_fn(text);
      return;
    }
    std::size_t pos = 0;
    while (pos < text.size()) {
      int32_t which;
      const std::size_t at = find(text, pos, which);
      if (at > pos) text_fn(text.substr(pos, at - pos));
      if (at == text.size()) break;
      special_fn(first_id_ + which, text.substr(at, specials_[which].size()));
      pos = at + specials_[which].size();
    }
  }

 private:
  // Earliest special at or after pos (text.size() if none).
  std::size_t find(std::string_view text, std::size_t pos, int32_t& which) const;
  std::vector<std::string> specials_;
  int32_t first_id_ = 0;
};

}  // namespace attn
