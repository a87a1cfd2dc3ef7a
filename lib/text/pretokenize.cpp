#include "text/pretokenize.h"

#include <cstdint>

#include "text/char_class.h"
#include "text/utf8.h"

namespace attn {

namespace {

struct unit {
  int len;
  char_class cls;
};

inline unit unit_at(std::string_view t, std::size_t i) {
  const auto b = static_cast<unsigned char>(t[i]);
  if (b < 0x80) return {1, classify(b)};
  uint32_t cp;
  const int len = utf8_decode(t.data() + i, t.data() + t.size(), cp);
  return {len, classify(cp)};
}

// Classes that continue a run started by `first`.
inline bool same_run(char_class first, char_class c, split_mode mode) {
  if (mode == split_mode::word) {
    const bool a = first == char_class::letter || first == char_class::digit;
    return a && (c == char_class::letter || c == char_class::digit);
  }
  const auto fold = [](char_class x) { return x == char_class::ideograph ? char_class::letter : x; };
  return fold(first) == fold(c);
}

}  // namespace

bool word_splitter::next(std::string_view& word) {
  const std::size_t n = text_.size();
  if (pos_ >= n) return false;
  const std::size_t start = pos_;
  unit u = unit_at(text_, pos_);
  if (u.cls == char_class::space) {
    std::size_t j = pos_, last = pos_;
    bool cut = false;  // a whitespace run is cut at max_len_ too (the BPE cache relies on it)
    while (j < n) {
      const unit v = unit_at(text_, j);
      if (v.cls != char_class::space) break;
      if (j + v.len - start > max_len_) {
        cut = true;
        break;
      }
      last = j;
      j += v.len;
    }
    // A run followed by a word gives its final ' ' to that word; everything else stays a run.
    if (cut || j == n || text_[last] != ' ') {
      pos_ = j;
      word = text_.substr(start, j - start);
      return true;
    }
    if (last > start) {
      pos_ = last;
      word = text_.substr(start, last - start);
      return true;
    }
    pos_ = j;  // a lone ' ': the word starts here and includes it
    u = unit_at(text_, pos_);
  }
  const char_class first = u.cls;
  pos_ += u.len;
  const bool single = mode_ == split_mode::word && (first == char_class::punct || first == char_class::ideograph);
  if (!single) {
    while (pos_ < n) {
      const unit v = unit_at(text_, pos_);
      if (!same_run(first, v.cls, mode_) || pos_ + v.len - start > max_len_) break;
      pos_ += v.len;
    }
  }
  word = text_.substr(start, pos_ - start);
  return true;
}

}  // namespace attn
