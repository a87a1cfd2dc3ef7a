#include "core/name_pattern.h"

namespace attn {

namespace {

// Glob match of the whole of `text` against `p`, where '*' matches any run of characters.
// Iterative with one backtrack point: linear in practice, no recursion on hostile patterns.
bool glob(const std::string& p, const std::string& text) {
  std::size_t i = 0, j = 0, star = std::string::npos, mark = 0;
  while (j < text.size()) {
    if (i < p.size() && p[i] == '*') {
      star = i++;
      mark = j;
    } else if (i < p.size() && p[i] == text[j]) {
      ++i;
      ++j;
    } else if (star != std::string::npos) {
      i = star + 1;
      j = ++mark;
    } else {
      return false;
    }
  }
  while (i < p.size() && p[i] == '*') ++i;
  return i == p.size();
}

}  // namespace

bool name_pattern_matches(const std::string& pattern, const std::string& name) {
  if (pattern.empty()) return false;
  if (glob(pattern, name)) return true;
  for (std::size_t k = 0; k < name.size(); ++k) {
    if (name[k] != '.') continue;
    if (glob(pattern, name.substr(0, k)) || glob(pattern, name.substr(0, k + 1))) return true;
  }
  return false;
}

}  // namespace attn
